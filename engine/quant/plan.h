#pragma once
/// Whole-model quantization: a plan (a default scheme and method plus per-tensor overrides)
/// applied to every weight tensor, with a per-tensor report and totals.
///
/// Plan file (JSON):
///   {"scheme": "int4:g128", "method": "rtn", "clip": "minmax",
///    "overrides": [{"match": "*.down_proj.weight", "scheme": "int8"},
///                  {"match": "lm_head.weight", "skip": true}]}
/// `match` is a glob (* any run of characters, ? one character) over the tensor name; the last
/// matching override wins. Tensors of rank < 2 (biases, norms) are kept as they are.
#include "methods.h"
#include "metrics.h"

#include "core/tensor.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qs::quant {

struct PlanOverride {
    std::string match;
    Scheme scheme;
    bool skip = false;
};

struct Plan {
    Scheme scheme;
    Method method = Method::Rtn;
    MethodOptions options;
    std::vector<PlanOverride> overrides;

    /// The scheme for `name`, or nullopt when the plan skips it.
    std::optional<Scheme> schemeFor(const std::string& name) const;
};

core::Result<Plan> parsePlan(std::string_view json, const std::string& origin);
core::Result<Plan> loadPlan(const std::filesystem::path& path);

/// "p99.9" -> Percentile 99.9, "minmax", "mse"; InvalidArgument listing them.
core::Result<RangeOptions> parseClip(std::string_view text);

/// Matches `*` and `?` wildcards; no character classes.
bool globMatch(std::string_view pattern, std::string_view text);

struct TensorReport {
    std::string name;
    std::string scheme;     ///< spec, empty when kept as is
    std::string status;     ///< "quantized", "kept (rank 1)", "skipped by plan", or the error
    uint64_t parameters = 0;
    uint64_t bytesBefore = 0;
    uint64_t bytesAfter = 0;
    double bitsPerWeight = 0;
    ErrorMetrics metrics;
    bool quantized = false;
};

struct ModelReport {
    std::vector<TensorReport> tensors;
    uint64_t parameters = 0;          ///< every tensor
    uint64_t quantizedParameters = 0;
    uint64_t bytesBefore = 0, bytesAfter = 0;
    double averageBits = 0;           ///< bytesAfter * 8 / parameters, all tensors
    /// Sum over quantized tensors of parameters * SQNR dB, over their parameters. Tensors whose
    /// error is exactly zero (SQNR +Inf) are left out of the average and counted here:
    uint64_t exactTensors = 0;
    double weightedSqnrDb = 0;
};

/// Called with every quantized tensor's result; an error stops applyPlan with that error.
using TensorSink = std::function<core::Status(const core::TensorInfo&, const Scheme&, const MethodResult&)>;

struct ApplyOptions {
    std::string only;                    ///< non-empty: quantize only this tensor
    const Calibration* calib = nullptr;  ///< activations for `only` (GPTQ, AWQ, ...)
    TensorSink sink;                     ///< receives each result (saving a model)
    /// The result for `only`, already computed by the caller (it is used instead of running
    /// the method again; the caller guarantees it came from the same plan and weights).
    const MethodResult* precomputed = nullptr;
};

/// The scheme applyPlan quantizes `t` with: none for rank < 2, tensors the plan skips, and
/// tensors other than options.only when that is set.
std::optional<Scheme> schemeToApply(const core::TensorInfo& t, const Plan& plan, const ApplyOptions& options);

/// Quantizes every tensor under `plan` (tensor by tensor; each quantizer is itself parallel).
/// A tensor that fails (an unsupported dtype, a shape the scheme cannot take) gets its error
/// in its row and the rest go on; cancellation stops with Cancelled.
core::Result<ModelReport> applyPlan(const core::Model& model, const Plan& plan,
                                    core::Progress* progress = nullptr,
                                    const ApplyOptions& options = {});

} // namespace qs::quant
