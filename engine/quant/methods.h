#pragma once
/// Quantization methods beyond round-to-nearest. Each takes the weights [out, in], a scheme,
/// and (where the method needs them) calibration activations, and returns the quantized
/// weights expressed in the original weight space, so the same metrics apply to every method.
#include "calibration.h"
#include "quantize.h"

#include "core/gemm.h"

#include <optional>
#include <string>

namespace qs::quant {

enum class Method : uint8_t { Rtn, Gptq, Awq, SmoothQuant, LlmInt8, Spqr };

/// "rtn", "gptq", "awq", "smoothquant", "llm.int8", "spqr"; InvalidArgument listing them.
core::Result<Method> parseMethod(std::string_view text);
std::string_view methodName(Method m);
/// True for methods that cannot run without calibration activations (GPTQ needs the full
/// Hessian X^T X, so an imatrix's diagonal is not enough; AWQ and SmoothQuant can use an
/// imatrix's per-channel magnitudes).
bool methodNeedsActivations(Method m);

struct MethodOptions {
    RangeOptions range;
    double outlierThreshold = 6.0; ///< LLM.int8: |activation| (or |weight|) above this
    double smoothAlpha = 0.5;      ///< SmoothQuant migration strength
    double gptqDamp = 0.01;        ///< GPTQ: lambda = damp * mean(diag(H))
    int gptqBlock = 128;           ///< GPTQ lazy-batch block size
    bool gptqActOrder = false;     ///< GPTQ: quantize columns in decreasing diag(H) order
    int awqGrid = 20;              ///< AWQ: alpha in {0, 1/grid, ..., 1 - 1/grid}
    double spqrPercent = 1.0;      ///< SpQR: keep this % of weights (largest error) in 16 bit
    /// The GEMM GPTQ and AWQ run their dense algebra on (a backend's); null = the reference.
    /// Not owned; it must outlive the call.
    const core::Gemm* gemm = nullptr;
};

/// options.gemm, or core::referenceGemm() when it is null.
inline const core::Gemm& gemmOf(const MethodOptions& options)
{
    return options.gemm ? *options.gemm : core::referenceGemm();
}

struct MethodResult {
    /// dequant is in the original weight space. For AWQ and SmoothQuant, clip, scales,
    /// zeroPoints and packed describe the stored weights W diag(s) (1/s folds into the
    /// previous operation); LLM.int8 and SpQR clear packed (it no longer covers every weight).
    Quantized quantized;
    /// Weights kept in 16 bit (LLM.int8 columns x rows, SpQR outliers); included in bytes and
    /// bitsPerWeight, with an index cost for sparse SpQR entries (32-bit position each).
    int64_t keptWeights = 0;
    int64_t keptChannels = 0;   ///< LLM.int8: input channels kept in 16 bit
    std::vector<float> channelScales; ///< AWQ / SmoothQuant: the per-input-channel scales s
    /// LLM.int8: the input columns kept in fp16, ascending; SpQR: the flat (row-major)
    /// positions of the fp16 outliers, ascending. Their values are in quantized.dequant.
    std::vector<int64_t> outlierIndex;
    /// LLM.int8: the quantized other columns [rows, cols - kept]; SpQR: the RTN result the
    /// outliers overlay. What a saved file stores besides the outliers.
    std::optional<Quantized> part;
    std::string note;           ///< what the method did, with the calibration source
};

/// Runs `method`. `calib` may be null for RTN, LLM.int8 with a weight threshold and SpQR;
/// methods that need activations return InvalidArgument naming what is missing.
core::Result<MethodResult> quantizeWithMethod(const Matrix& w, const Scheme& scheme, Method method,
                                              const MethodOptions& options,
                                              const Calibration* calib,
                                              core::Progress* progress = nullptr);

} // namespace qs::quant
