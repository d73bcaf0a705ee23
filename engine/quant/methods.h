#pragma once
/// Quantization methods beyond round-to-nearest. Each takes the weights [out, in], a scheme,
/// and (where the method needs them) calibration activations, and returns the quantized
/// weights expressed in the original weight space, so the same metrics apply to every method.
#include "calibration.h"
#include "quantize.h"

#include "core/gemm.h"

#include <functional>
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
    /// The quantizer the RTN method runs (a backend's, which must give the codec's codes);
    /// empty = quantizeRtn.
    std::function<core::Result<Quantized>(const Matrix&, const Scheme&, const RangeOptions&, core::Progress*)> rtn;
};

/// options.gemm, or core::referenceGemm() when it is null.
inline const core::Gemm& gemmOf(const MethodOptions& options)
{
    return options.gemm ? *options.gemm : core::referenceGemm();
}

struct MethodResult {
    Method method = Method::Rtn;
    /// The quantized tensor as a file stores it: codes and parameters. AWQ / SmoothQuant: of
    /// W diag(s) (1/s folds into the previous operation); LLM.int8: of the input columns not
    /// kept [rows, cols - k]; SpQR: of every weight (the outliers replace some).
    Quantized quantized;
    /// The layer's effective weights in the original space where they differ from
    /// quantized.dequant: decode / s (AWQ, SmoothQuant), decode with the fp16 outliers put in
    /// (LLM.int8, SpQR). Empty for RTN and GPTQ.
    std::optional<Matrix> effective;
    /// AWQ / SmoothQuant: the per-input-channel scales s (stored as NAME.smooth).
    std::vector<float> channelScales;
    /// LLM.int8: the input columns kept in fp16, ascending; SpQR: the flat (row-major)
    /// positions of the fp16 outliers, ascending.
    std::vector<int64_t> outlierIndex;
    /// The fp16 bits of the outliers as stored: LLM.int8 [rows, k] row-major, SpQR [k].
    std::vector<uint16_t> outlierValues;
    int64_t keptWeights = 0;  ///< weights kept in fp16
    int64_t keptChannels = 0; ///< LLM.int8: input channels kept in fp16
    /// Bytes of every part a file stores for the tensor (stored.h), and bits per weight.
    uint64_t bytes = 0;
    double bitsPerWeight = 0;
    std::string note; ///< what the method did, with the calibration source

    /// The weights the layer computes with: effective when set, else quantized.dequant.
    const Matrix& dequant() const { return effective ? *effective : quantized.dequant; }
};

/// Runs `method`. `calib` may be null for RTN, LLM.int8 with a weight threshold and SpQR;
/// methods that need activations return InvalidArgument naming what is missing.
core::Result<MethodResult> quantizeWithMethod(const Matrix& w, const Scheme& scheme, Method method,
                                              const MethodOptions& options,
                                              const Calibration* calib,
                                              core::Progress* progress = nullptr);

} // namespace qs::quant
