#pragma once
/// The reference backend: every operation in plain C++, by the engine's own definitions
/// (quant::quantizeRtn, core::computeStats, quant/metrics.h, core::ReferenceGemm). Every other
/// backend is tested against it.
#include "backends/backend.h"

namespace qs::backends {

class ReferenceBackend final : public Backend {
public:
    ReferenceBackend();
    std::string_view name() const override { return "reference"; }
    const Capabilities& capabilities() const override { return m_caps; }
    core::Status supportsScheme(const quant::Scheme& scheme) const override;
    core::Result<quant::Quantized> quantize(const quant::Matrix& w, const quant::Scheme& scheme,
                                            const quant::RangeOptions& range = {},
                                            core::Progress* progress = nullptr,
                                            quant::Quantized* reuse = nullptr) const override;
    /// quant::quantizeAndMeasure: the fused pass.
    core::Result<quant::Measured> quantizeAndMeasure(const quant::Matrix& w, const quant::Scheme& scheme,
                                                     const quant::RangeOptions& range = {},
                                                     const quant::MeasureOptions& measure = {},
                                                     core::Progress* progress = nullptr,
                                                     quant::Measured* reuse = nullptr) const override;
    core::Result<core::TensorStats> statistics(const core::TensorInfo& tensor,
                                               const core::StatsOptions& options = {},
                                               core::Progress* progress = nullptr) const override;
    core::Result<ErrorReport> errorMetrics(const quant::Matrix& reference,
                                           const quant::Matrix& quantized,
                                           const ErrorMapOptions& options = {}) const override;
    using Backend::linear; // linear(x, prepared): the base runs the prepared weights through linear() below
    core::Result<quant::Matrix> linear(const quant::Matrix& x, const LinearWeights& weights,
                                       const LinearOptions& options = {}) const override;
    const core::Gemm& gemm() const override { return core::referenceGemm(); }

private:
    Capabilities m_caps;
};

} // namespace qs::backends
