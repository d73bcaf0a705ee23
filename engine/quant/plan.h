#pragma once
/// Whole-model quantization: a plan (a default scheme and method plus per-tensor overrides)
/// applied to every weight tensor, with a per-tensor report and totals.
///
/// Plan file (JSON):
///   {"scheme": "int4:g128", "method": "rtn", "clip": "minmax",
///    "overrides": [{"match": "*.down_proj.weight", "scheme": "int8", "method": "gptq", "clip": "mse"},
///                  {"match": "lm_head.weight", "skip": true}]}
/// `match` is a glob (* any run of characters, ? one character) over the tensor name. The last
/// matching override decides a tensor: it is skipped, or quantized with the override's scheme,
/// method and clip, each taken from the plan's defaults when the override leaves it out.
/// Tensors of rank < 2 (biases, norms) and helper constants (core::isHelperConstant: shapes,
/// indices, scalars) are kept as they are.
///
/// Parsing is strict: an unknown key, a repeated key, a value of the wrong type, an override
/// that sets nothing, or "skip": true together with scheme/method/clip is an error naming the
/// key (and the valid keys), never ignored.
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
    std::optional<Scheme> scheme;       ///< unset: the plan's default
    std::optional<Method> method;       ///< unset: the plan's default
    std::optional<RangeOptions> clip;   ///< unset: the plan's default
    bool skip = false;
};

/// How one tensor is quantized.
struct TensorChoice {
    Scheme scheme;
    Method method = Method::Rtn;
    MethodOptions options;
};

struct Plan {
    Scheme scheme;
    Method method = Method::Rtn;
    MethodOptions options;
    std::vector<PlanOverride> overrides;

    /// The scheme, method and options for `name` (the last matching override, its gaps filled
    /// from the defaults), or nullopt when the plan skips it.
    std::optional<TensorChoice> choiceFor(const std::string& name) const;
    /// choiceFor(name)'s scheme.
    std::optional<Scheme> schemeFor(const std::string& name) const;
    /// choiceFor(name)'s method; the default method for a tensor the plan skips.
    Method methodFor(const std::string& name) const;
};

/// Parses a plan file's text; `origin` (the file name) starts every error message.
core::Result<Plan> parsePlan(std::string_view json, const std::string& origin);
core::Result<Plan> loadPlan(const std::filesystem::path& path);

/// "p99.9" -> Percentile 99.9, "minmax", "mse"; InvalidArgument listing them.
core::Result<RangeOptions> parseClip(std::string_view text);

/// A clip's spelling in a plan file, the inverse of parseClip: "minmax", "mse", "p" followed by
/// the shortest decimal that reads back as the same percentile ("p99.9").
std::string clipSpec(const RangeOptions& clip);

/// True when `a` and `b` clip alike: the same method and, for it, the same parameter (the
/// percentile, the number of MSE ratios); a parameter the method does not use is ignored.
bool sameClip(const RangeOptions& a, const RangeOptions& b);

/// Equal when their plan files say the same: match, skip, and scheme, method and clip set alike.
bool operator==(const PlanOverride& a, const PlanOverride& b);
/// Equal when their plan files say the same: default scheme, method and clip (sameClip) and the
/// same overrides in the same order. The other MethodOptions (GPTQ damping, the GEMM, ...) are
/// settings of a run, not part of a plan file, and are not compared.
bool operator==(const Plan& a, const Plan& b);

/// The plan file's text for `plan` (the format above, indented, keys in the order parsePlan
/// documents): parsePlan(*planToJson(p), ...) == p. Refused (InvalidArgument, naming the
/// override) when the file cannot say what the plan holds: an empty match, an override that sets
/// nothing or skips and sets a field, or a clip parseClip would not read back the same (an MSE
/// search over other than 50 ratios, a percentile outside (0, 100]).
core::Result<std::string> planToJson(const Plan& plan);

/// Matches `*` and `?` wildcards; no character classes.
bool globMatch(std::string_view pattern, std::string_view text);

struct TensorReport {
    std::string name;
    std::string scheme;     ///< spec, empty when kept as is
    std::string method;     ///< method name, empty when kept as is
    std::string status;     ///< "quantized", "kept (rank 1)", "skipped by plan", or the error
    uint64_t parameters = 0;
    uint64_t bytesBefore = 0;
    uint64_t bytesAfter = 0;
    double bitsPerWeight = 0;
    ErrorMetrics metrics;
    bool quantized = false;
    bool failed = false;    ///< the plan chose to quantize it and that failed (status says why)
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
    uint64_t failedTensors = 0;       ///< rows with failed set
};

/// Called with every quantized tensor's result; an error stops applyPlan with that error.
using TensorSink = std::function<core::Status(const core::TensorInfo&, const Scheme&, const MethodResult&)>;

/// Calibration for one tensor (whose matrix has `inFeatures` columns); nullopt: none. An
/// error fails that tensor only.
using CalibrationSource =
    std::function<core::Result<std::optional<Calibration>>(const core::TensorInfo&, int64_t inFeatures)>;

struct ApplyOptions {
    std::string only;                    ///< non-empty: quantize only this tensor
    const Calibration* calib = nullptr;  ///< activations for `only` (GPTQ, AWQ, ...)
    /// Per-tensor calibration (imatrix entries, synthetic activations), used when calib is null.
    CalibrationSource calibFor;
    TensorSink sink;                     ///< receives each result (saving a model)
    /// The result for `only`, already computed by the caller (it is used instead of running
    /// the method again; the caller guarantees it came from the same plan and weights).
    const MethodResult* precomputed = nullptr;
};

/// The scheme applyPlan quantizes `t` with: none for non-weights (core::isWeightTensor), tensors the plan skips, and
/// tensors other than options.only when that is set.
std::optional<Scheme> schemeToApply(const core::TensorInfo& t, const Plan& plan, const ApplyOptions& options);
/// schemeToApply with the method and options that go with it.
std::optional<TensorChoice> choiceToApply(const core::TensorInfo& t, const Plan& plan, const ApplyOptions& options);

/// Quantizes every tensor under `plan` (tensor by tensor; each quantizer is itself parallel).
/// A tensor that fails (an unsupported dtype, a shape the scheme cannot take, missing
/// calibration) gets its error in its row, `failed` set and counted in failedTensors, and the
/// rest go on; cancellation stops with Cancelled.
core::Result<ModelReport> applyPlan(const core::Model& model, const Plan& plan,
                                    core::Progress* progress = nullptr,
                                    const ApplyOptions& options = {});

} // namespace qs::quant
