#pragma once
/// quantscope-cli: the command-line face of the engine. Kept as a library so tests can run
/// commands in-process with their own streams.
#include <iosfwd>
#include <string>
#include <vector>

namespace qs::cli {

/// Runs one command line (without the program name). Exit codes: 0 success, 1 a run where
/// some tensors failed (they are listed), 2 bad input or usage, with "error: ..." on `err`.
/// `--help` (on its own or after a subcommand) prints usage on `out` and returns 0.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace qs::cli
