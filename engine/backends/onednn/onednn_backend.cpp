#include "onednn_backend.h"

#include "onednn_gemm.h"
#include "onednn_linear.h"

#include <algorithm>
#include <cmath>
#include <exception>

namespace qs::backends::onednn {

namespace {

/// The last line of defence at the boundary: onednn_linear.cpp already turns dnnl::error into
/// values; anything else thrown (bad_alloc) must not leave the backend either.
template <class F>
auto guarded(const char* what, F&& f) -> decltype(f())
{
    try {
        return f();
    } catch (const std::exception& e) {
        return core::Error{core::ErrorCode::Io, std::string("oneDNN ") + what + ": " + e.what()};
    }
}

} // namespace

OnednnBackend::OnednnBackend()
{
    m_caps.ops = {Op::Quantize, Op::Linear, Op::Gemm};
    m_caps.linear = {LinearPrecision::F32, LinearPrecision::BF16, LinearPrecision::Int8};
    if (f16MatmulSupport()) m_caps.linear.push_back(LinearPrecision::F16); // AVX512-FP16 CPUs
    m_caps.schemes = "int8 symmetric, per channel or per tensor, nearest-even rounding";
    m_caps.how = {"oneDNN reorder f32 -> s8 (codes) with the reference's scales",
                  "oneDNN matmul (" + cpuIsaName() + ")", "oneDNN dnnl_sgemm"};
}

core::Status OnednnBackend::supportsScheme(const quant::Scheme& s) const
{
    const bool int8 = s.family == quant::Family::Int && s.bits == 8 && !s.asymmetric &&
                      s.rounding == quant::Rounding::NearestEven &&
                      (s.granularity == quant::Granularity::Channel ||
                       s.granularity == quant::Granularity::Tensor);
    if (int8) return core::Status::success();
    return notSupported("quantize " + s.spec() + " (oneDNN 2.6 quantizes " + m_caps.schemes +
                        ", by a reorder)");
}

core::Result<quant::Quantized> OnednnBackend::quantize(const quant::Matrix& w,
                                                       const quant::Scheme& scheme,
                                                       const quant::RangeOptions& range,
                                                       core::Progress* progress,
                                                       quant::Quantized* reuse) const
{
    if (auto st = supportsScheme(scheme); !st) return st.error();
    // The clip and scale are one definition (quant's); oneDNN computes the codes from them.
    auto q = quant::quantizeRtn(w, scheme, range, progress, reuse);
    if (!q || w.data.empty()) return q;
    const auto& scale = std::get<quant::ScaledParams>(q->params).scale;
    std::vector<float> rowScales(size_t(w.rows));
    for (int64_t r = 0; r < w.rows; ++r)
        rowScales[size_t(r)] = scale.size() == 1 ? scale[0] : scale[size_t(r)];
    auto codes = guarded("reorder", [&] { return reorderQuantizeInt8(w, rowScales); });
    if (!codes) return codes.error();
    if (q->codes.size() != codes->size())
        return core::Error{core::ErrorCode::InvalidArgument,
                           "oneDNN quantize: the reference result holds no int8 codes"};
    // Non-finite weights keep the codec's code (the zero point); the reorder's code for them is
    // unspecified.
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t c = 0; c < w.cols; ++c) {
            const size_t i = size_t(r * w.cols + c);
            if (!std::isfinite(w.data[i])) continue;
            // The reorder saturates to [-128, 127]; symmetric int8 codes are [-127, 127], so a
            // weight clipped below -clip (percentile or MSE clips) must land on -127, not -128.
            const int8_t code = std::max<int8_t>((*codes)[i], -127);
            q->codes[i] = uint8_t(code);
            q->dequant.data[i] = rowScales[size_t(r)] * float(code);
        }
    }
    return q;
}

core::Result<quant::Matrix> OnednnBackend::linear(const quant::Matrix& x,
                                                  const LinearWeights& weights,
                                                  const LinearOptions& options) const
{
    if (!m_caps.has(options.precision)) {
        const auto f16 = f16MatmulSupport();
        const std::string why = options.precision == LinearPrecision::F16 && !f16
                                    ? "oneDNN 2.6 has no f16 matmul for this CPU: " + f16.error().message
                                    : "oneDNN 2.6 has no weight decompression";
        return notSupported("linear " + std::string(precisionName(options.precision)) + " (" + why + ")");
    }
    if (auto st = checkLinear(x, weights, options); !st) return st.error();
    return guarded("linear", [&]() -> core::Result<quant::Matrix> {
        auto layer = options.precision == LinearPrecision::Int8
                         ? Linear::createInt8(weights.int8, x.rows, options.range)
                         : Linear::create(*weights.f32, x.rows, options.precision);
        if (!layer) return layer.error();
        const int64_t out = linearOutFeatures(weights, options.precision);
        quant::Matrix y{x.rows, out, std::vector<float>(size_t(x.rows) * size_t(out))};
        if (auto st = (*layer)->run(x.data, y.data); !st) return st.error();
        return y;
    });
}

const core::Gemm& OnednnBackend::gemm() const { return onednnGemm(); }

} // namespace qs::backends::onednn
