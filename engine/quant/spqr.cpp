#include "spqr.h"

#include "ggml_quant.h"
#include "llmint8.h"

#include "core/dtype.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qs::quant {

core::Result<MethodResult> quantizeSpqr(const Matrix& w, const Scheme& scheme,
                                        const MethodOptions& options, core::Progress* progress)
{
    if (!(options.spqrPercent >= 0.0 && options.spqrPercent <= 100.0)) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "SpQR: outlier percentage " + std::to_string(options.spqrPercent) +
                                   " is outside [0, 100]");
    }
    auto rtn = quantizeRtn(w, scheme, options.range, progress);
    if (!rtn) return rtn.error();
    MethodResult result;
    Matrix q = rtn->dequant;
    std::vector<uint64_t> order;
    order.reserve(w.data.size());
    for (uint64_t i = 0; i < w.data.size(); ++i) {
        if (std::isfinite(w.data[i]) && std::isfinite(q.data[i])) order.push_back(i);
    }
    const auto k =
        static_cast<uint64_t>(std::llround(options.spqrPercent / 100.0 * double(order.size())));
    auto error = [&](uint64_t i) { return std::fabs(double(w.data[i]) - double(q.data[i])); };
    // Largest error first; equal errors by position so the choice is deterministic.
    std::nth_element(order.begin(), order.begin() + std::min<uint64_t>(k, order.size()),
                     order.end(), [&](uint64_t a, uint64_t b) {
                         const double ea = error(a), eb = error(b);
                         return ea != eb ? ea > eb : a < b;
                     });
    result.outlierIndex.assign(order.begin(), order.begin() + ptrdiff_t(k));
    std::sort(result.outlierIndex.begin(), result.outlierIndex.end());
    for (int64_t i : result.outlierIndex) {
        const uint16_t half = f32ToF16RoundNearestEven(w.data[size_t(i)]);
        result.outlierValues.push_back(half);
        q.data[size_t(i)] = core::f16ToF32(half);
    }
    result.keptWeights = int64_t(k);
    result.quantized = std::move(*rtn);
    result.effective = std::move(q);
    result.note = "SpQR: " + std::to_string(k) + " weights (" +
                  std::to_string(options.spqrPercent) +
                  "%) with the largest error kept in fp16 as sparse outliers";
    return result;
}

} // namespace qs::quant
