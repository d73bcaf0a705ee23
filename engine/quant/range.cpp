#include "range.h"

#include "rounding.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace qs::quant {

core::Status validateRange(const RangeOptions& options)
{
    if (!(options.percentile > 0.0 && options.percentile <= 100.0)) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "range: percentile " + std::to_string(options.percentile) +
                                   " is outside (0, 100]");
    }
    if (options.mseSteps < 1 || options.mseSteps > 100) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "range: mseSteps " + std::to_string(options.mseSteps) +
                                   " is outside [1, 100]");
    }
    return core::Status::success();
}

ClipRange minMaxRange(std::span<const float> values, bool symmetric)
{
    if (values.empty()) return {};
    float lo = values[0];
    float hi = values[0];
    float amax = 0.0f;
#pragma omp simd reduction(min : lo) reduction(max : hi, amax)
    for (size_t i = 0; i < values.size(); ++i) {
        lo = std::min(lo, values[i]);
        hi = std::max(hi, values[i]);
        amax = std::max(amax, std::fabs(values[i]));
    }
    if (symmetric) return {-amax, amax};
    return {lo, hi};
}

float quantile(std::span<float> values, double q)
{
    if (values.empty()) return 0.0f;
    const double pos = std::clamp(q, 0.0, 1.0) * double(values.size() - 1);
    const size_t k = size_t(pos);
    const double frac = pos - double(k);
    std::nth_element(values.begin(), values.begin() + ptrdiff_t(k), values.end());
    const double below = values[k];
    if (frac == 0.0 || k + 1 >= values.size()) return float(below);
    // After nth_element everything past k is >= values[k]; the next order statistic is the
    // smallest of them.
    const double above = *std::min_element(values.begin() + ptrdiff_t(k) + 1, values.end());
    return float(below + (above - below) * frac);
}

ClipRange percentileRange(std::span<float> values, double percentile, bool symmetric)
{
    if (values.empty()) return {};
    const double p = percentile / 100.0;
    if (symmetric) {
        for (float& v : values) v = std::fabs(v);
        const float t = quantile(values, p);
        return {-t, t};
    }
    const float lo = quantile(values, 1.0 - p);
    const float hi = quantile(values, p);
    return {lo, hi};
}

double klDivergenceAt(std::span<const uint64_t> hist, int kept, int levels)
{
    const auto n = size_t(kept);
    std::vector<double> p(hist.begin(), hist.begin() + ptrdiff_t(n));
    double outliers = 0;
    for (size_t j = n; j < hist.size(); ++j) outliers += double(hist[j]);
    p[n - 1] += outliers;

    std::vector<double> q(n, 0.0);
    const size_t merged = n / size_t(levels);
    for (int k = 0; k < levels; ++k) {
        const size_t start = size_t(k) * merged;
        const size_t stop = k == levels - 1 ? n : start + merged;
        double sum = 0;
        size_t nonzero = 0;
        for (size_t j = start; j < stop; ++j) {
            sum += double(hist[j]);
            nonzero += p[j] != 0.0 ? 1 : 0;
        }
        if (nonzero == 0) continue;
        for (size_t j = start; j < stop; ++j) q[j] = p[j] != 0.0 ? sum / double(nonzero) : 0.0;
    }
    double pSum = 0, qSum = 0;
    for (size_t j = 0; j < n; ++j) {
        pSum += p[j];
        qSum += q[j];
    }
    if (pSum == 0.0) return 0.0;
    if (qSum == 0.0) return std::numeric_limits<double>::infinity();
    double kl = 0;
    for (size_t j = 0; j < n; ++j) {
        if (p[j] == 0.0) continue;
        if (q[j] == 0.0) return std::numeric_limits<double>::infinity();
        const double pj = p[j] / pSum;
        kl += pj * std::log(pj / (q[j] / qSum));
    }
    return kl;
}

core::Result<KlCalibration> klCalibrate(std::span<const float> samples, int bins, int levels)
{
    if (levels < 1 || bins < levels || bins > (1 << 20)) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "KL calibration: need 1 <= levels (" + std::to_string(levels) +
                                   ") <= bins (" + std::to_string(bins) + ") <= 1048576");
    }
    KlCalibration out;
    for (float v : samples) {
        if (isFiniteBits(v)) out.amax = std::max(out.amax, std::fabs(v));
    }
    if (out.amax == 0.0f) return out;

    std::vector<uint64_t> hist(size_t(bins), 0);
    const double width = double(out.amax) / bins;
    for (float v : samples) {
        if (!isFiniteBits(v)) continue;
        const auto idx = int64_t(double(std::fabs(v)) / width);
        ++hist[size_t(std::min<int64_t>(idx, bins - 1))];
    }
    out.divergence = std::numeric_limits<double>::infinity();
    out.bins = bins;
    for (int i = levels; i <= bins; ++i) {
        const double kl = klDivergenceAt(hist, i, levels);
        if (kl < out.divergence) {
            out.divergence = kl;
            out.bins = i;
        }
    }
    out.threshold = float(double(out.bins) * width);
    return out;
}

} // namespace qs::quant
