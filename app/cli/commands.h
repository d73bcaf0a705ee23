#pragma once
/// The subcommands of quantscope-cli, each registered on a CLI11 parser. Internal to qs_cli:
/// only the .cpp files of app/cli include CLI11.
#include <CLI/CLI.hpp>

#include <iosfwd>
#include <memory>

namespace qs::cli {

/// A subcommand: its options are bound to the parser when it is added; run() then does the
/// work with what was parsed.
class Command {
public:
    virtual ~Command() = default;
    /// True when the command line chose this subcommand.
    virtual bool chosen() const = 0;
    /// Exit status: 0 success, 1 some tensors failed (listed), 2 bad input or usage.
    virtual int run(std::ostream& out, std::ostream& err) = 0;
};

std::unique_ptr<Command> addInspectCommand(CLI::App& root);
std::unique_ptr<Command> addQuantizeCommand(CLI::App& root);
std::unique_ptr<Command> addDevicesCommand(CLI::App& root);

/// Prints "error: MESSAGE" and returns 2.
int fail(std::ostream& err, const std::string& message);

} // namespace qs::cli
