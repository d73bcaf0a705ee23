#pragma once
/// The subcommands of quantscope-cli, each registered on a CLI11 parser. Internal to qs_cli:
/// only the .cpp files of app/cli include CLI11.
#include <CLI/CLI.hpp>

#include "backends/backend.h"

#include <iosfwd>
#include <memory>
#include <optional>

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

/// The backend named by --backend (and --device). A Vulkan backend with no device here prints
/// "note: no Vulkan device: ...; using the reference backend (CPU)" once and gives the
/// reference; an unknown name or a refused option prints the error and gives null.
std::unique_ptr<backends::Backend> openBackend(const std::string& name, std::optional<uint32_t> device,
                                               std::ostream& err);

} // namespace qs::cli
