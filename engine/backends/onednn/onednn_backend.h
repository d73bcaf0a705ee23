#pragma once
/// The oneDNN 2.6 backend: what oneDNN 2.6 has on the CPU and nothing else.
///   quantize  int8 symmetric, per channel or per tensor, nearest-even rounding: the scales
///             come from the shared range definition (quant::quantizeRtn's clip), the codes from
///             a oneDNN reorder f32 -> s8 (identical to the reference's; tested).
///   linear    f32, bf16 and int8 (s8/u8 x s8, per-channel scales) matmul, weights prepacked.
///   gemm      dnnl_sgemm.
/// Everything else (other schemes, statistics, error metrics, weight-only linear) answers
/// "not supported by onednn: ...". oneDNN exceptions are caught here and become errors.
#include "backends/backend.h"

namespace qs::backends::onednn {

class OnednnBackend final : public Backend {
public:
    OnednnBackend();
    std::string_view name() const override { return "onednn"; }
    const Capabilities& capabilities() const override { return m_caps; }
    core::Status supportsScheme(const quant::Scheme& scheme) const override;
    core::Result<quant::Quantized> quantize(const quant::Matrix& w, const quant::Scheme& scheme,
                                            const quant::RangeOptions& range = {},
                                            core::Progress* progress = nullptr,
                                            quant::Quantized* reuse = nullptr) const override;
    using Backend::linear; // linear(x, prepared): the base runs the prepared weights through linear() below
    core::Result<quant::Matrix> linear(const quant::Matrix& x, const LinearWeights& weights,
                                       const LinearOptions& options = {}) const override;
    const core::Gemm& gemm() const override;

private:
    Capabilities m_caps;
};

} // namespace qs::backends::onednn
