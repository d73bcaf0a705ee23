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
    "  quantize FILE --tensor NAME [--scheme SPEC] [--method rtn|gptq|awq|smoothquant|llm.int8|spqr]\n"
    "           [--clip minmax|pNN|mse] [--calib X.npy|--imatrix FILE|--synthetic N]\n"
    "           [--backend ref|onednn] [--save OUT.gguf|OUT.safetensors] [--json]\n"
    "  quantize FILE --all [--plan PLAN.json | --scheme SPEC ...] [--save OUT] [--json]\n"
    "      quantize one tensor (default scheme int8: per-channel symmetric) or every weight\n"
    "      tensor under a plan; print bits per weight, bytes and error metrics (with\n"
    "      calibration activations also the layer's output error). SPEC examples: int8,\n"
    "      int8:tensor, int4:g128:asym, fp8_e4m3, mxfp4, nvfp4, nf4:g64:dq, q4_k.\n"
    "      --save writes the model with the quantized tensors (GGUF for q8_0..q6_k, safetensors\n"
    "      with codes + scales otherwise; the rest copied) and opens it back.\n"
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
    if (args[0] == "quantize") return quantizeCommand(rest, out, err);
    err << "error: unknown command '" << args[0] << "'\n" << kUsage;
    return 2;
}

} // namespace qs::cli
