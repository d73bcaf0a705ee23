#pragma once
/// quantscope-cli: the command-line face of the engine. Kept as a library so tests can run
/// commands in-process with their own streams.
#include <iosfwd>
#include <string>
#include <vector>

namespace qs::cli {

/// Exit codes: 0 success, 2 bad input or usage (message on `err` as "error: FILE: problem").
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

int inspectCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int quantizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace qs::cli
