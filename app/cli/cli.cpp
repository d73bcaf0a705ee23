#include "cli.h"

#include <ostream>

namespace qs::cli {

namespace {

constexpr const char* kUsage =
    "usage: quantscope-cli COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  inspect FILE [--tensor NAME] [--stats] [--bins N] [--json]\n"
    "      list the tensors of a model (.safetensors, model.safetensors.index.json, .onnx,\n"
    "      .gguf, .npy, .npz); --stats adds statistics computed in one pass over the data,\n"
    "      --bins N adds an N-bin histogram, --json prints one JSON object.\n"
    "\n"
    "exit status: 0 on success, 2 on bad input or usage (\"error: FILE: problem\" on stderr)\n";

} // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        (args.empty() ? err : out) << kUsage;
        return args.empty() ? 2 : 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "inspect") return inspectCommand(rest, out, err);
    err << "error: unknown command '" << args[0] << "'\n" << kUsage;
    return 2;
}

} // namespace qs::cli
