#include "reference_backend.h"

#include "core/parallel.h"
#include "quant/ggml_quant.h"

#include <algorithm>

#include <string>

namespace qs::backends {

namespace {

/// y = x W^T in f32 on the reference GEMM.
core::Result<quant::Matrix> gemmLinear(const quant::Matrix& x, const quant::Matrix& w)
{
    quant::Matrix y{x.rows, w.rows, std::vector<float>(size_t(x.rows) * size_t(w.rows))};
    auto st = core::referenceGemm().sgemm(false, true, x.rows, w.rows, x.cols, 1.0f, x.data.data(),
                                          x.cols, w.data.data(), w.cols, 0.0f, y.data.data(),
                                          y.cols);
    if (!st) return st.error();
    return y;
}

/// m with every value passed through `round` (roundToBf16, quant::roundToHalf).
quant::Matrix rounded(const quant::Matrix& m, float (*round)(float))
{
    quant::Matrix out = m;
    for (float& v : out.data)
        v = round(v);
    return out;
}

/// Int8: exact integer dot products (int64, so no K overflows), scaled by sx * sw[n].
quant::Matrix int8Linear(const quant::Matrix& x, const Int8Weights& w, const ActivationRange& range)
{
    std::vector<int32_t> qx(x.data.size());
    for (size_t i = 0; i < qx.size(); ++i)
        qx[i] = quantizeActivation(x.data[i], range);
    const float sx = activationScale(range);
    quant::Matrix y{x.rows, w.rows, std::vector<float>(size_t(x.rows) * size_t(w.rows))};
    constexpr int64_t kRowsPerChunk = 64;
    const uint64_t chunks = uint64_t((w.rows + kRowsPerChunk - 1) / kRowsPerChunk);
    core::parallelChunks(chunks, 0, [&](uint64_t chunk, unsigned) {
        const int64_t n0 = int64_t(chunk) * kRowsPerChunk;
        const int64_t n1 = std::min(w.rows, n0 + kRowsPerChunk);
        for (int64_t b = 0; b < x.rows; ++b) {
            const int32_t* xr = qx.data() + b * x.cols;
            for (int64_t n = n0; n < n1; ++n) {
                const int8_t* wr = w.codes.data() + n * w.cols;
                int64_t acc = 0;
                for (int64_t k = 0; k < w.cols; ++k)
                    acc += int64_t(xr[k]) * wr[k];
                y.data[size_t(b * w.rows + n)] = float(acc) * (sx * w.scales[size_t(n)]);
            }
        }
    });
    return y;
}

} // namespace

ReferenceBackend::ReferenceBackend()
{
    m_caps.ops = {Op::Quantize, Op::Statistics, Op::ErrorMetrics, Op::Linear, Op::Gemm};
    m_caps.linear = {LinearPrecision::F32, LinearPrecision::BF16, LinearPrecision::F16,
                     LinearPrecision::Int8, LinearPrecision::WeightOnly};
    m_caps.schemes = "every scheme";
    m_caps.how = {"reference quantizers (plain C++)", "reference one-pass statistics",
                  "reference metrics and pooled error map", "reference C++ linear",
                  "reference blocked f32 GEMM"};
}

core::Status ReferenceBackend::supportsScheme(const quant::Scheme&) const
{
    return core::Status::success();
}

core::Result<quant::Quantized> ReferenceBackend::quantize(const quant::Matrix& w,
                                                          const quant::Scheme& scheme,
                                                          const quant::RangeOptions& range,
                                                          core::Progress* progress,
                                                          quant::Quantized* reuse) const
{
    return quant::quantizeRtn(w, scheme, range, progress, reuse);
}

core::Result<core::TensorStats> ReferenceBackend::statistics(const core::TensorInfo& tensor,
                                                             const core::StatsOptions& options,
                                                             core::Progress* progress) const
{
    return core::computeStats(tensor, options, progress);
}

core::Result<quant::Measured> ReferenceBackend::quantizeAndMeasure(const quant::Matrix& w, const quant::Scheme& scheme,
                                                                  const quant::RangeOptions& range,
                                                                  const quant::MeasureOptions& measure,
                                                                  core::Progress* progress, quant::Measured* reuse) const
{
    return quant::quantizeAndMeasure(w, scheme, range, measure, progress, reuse);
}

core::Result<ErrorReport> ReferenceBackend::errorMetrics(const quant::Matrix& reference,
                                                         const quant::Matrix& quantized,
                                                         const ErrorMapOptions& options) const
{
    if (reference.rows != quantized.rows || reference.cols != quantized.cols ||
        reference.data.size() != quantized.data.size())
        return core::Error{core::ErrorCode::InvalidArgument,
                           "error metrics: the matrices differ in shape"};
    if (options.gridRows <= 0 || options.gridCols <= 0)
        return core::Error{core::ErrorCode::InvalidArgument,
                           "error metrics: the map grid must be at least 1 x 1"};
    ErrorReport report;
    report.metrics = quant::compareValues(reference.values(), quantized.values());
    report.map = quant::errorMap(reference, quantized, options.gridRows, options.gridCols,
                                 options.kind, options.pooling);
    return report;
}

core::Result<quant::Matrix> ReferenceBackend::linear(const quant::Matrix& x,
                                                     const LinearWeights& weights,
                                                     const LinearOptions& options) const
{
    if (auto st = checkLinear(x, weights, options); !st) return st.error();
    switch (options.precision) {
    case LinearPrecision::F32: return gemmLinear(x, *weights.f32);
    case LinearPrecision::BF16: return gemmLinear(rounded(x, roundToBf16), rounded(*weights.f32, roundToBf16));
    case LinearPrecision::F16:
        return gemmLinear(rounded(x, quant::roundToHalf), rounded(*weights.f32, quant::roundToHalf));
    case LinearPrecision::Int8: return int8Linear(x, weights.int8, options.range);
    case LinearPrecision::WeightOnly: return gemmLinear(x, weights.quantized->dequant);
    }
    return notSupported("linear " + std::string(precisionName(options.precision)));
}

} // namespace qs::backends
