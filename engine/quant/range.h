#pragma once
/// Choice of the clipping range of one scale group (min-max, percentile, MSE-optimal search)
/// and the entropy (KL divergence) calibration of activation samples used by TensorRT.
#include "codec.h"

#include "core/result.h"

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace qs::quant {

/// InvalidArgument unless percentile is in (0, 100] and mseSteps in [1, 100] (the ratio
/// 1 - k/100 must stay positive).
core::Status validateRange(const RangeOptions& options);

/// min and max of `values` (all finite); symmetric: [-max|x|, max|x|]. {0, 0} when empty.
ClipRange minMaxRange(std::span<const float> values, bool symmetric);

/// The q-quantile (q in [0, 1]) of `values` with linear interpolation between order
/// statistics, numpy.quantile's default method: position q * (n - 1). Reorders `values`.
/// 0 when empty.
float quantile(std::span<float> values, double q);

/// Percentile clip: symmetric: [-t, t] with t the `percentile` quantile of |x|; asymmetric:
/// the (100 - p) and p quantiles of x. Reorders (and, symmetric, replaces by |x|) `values`.
ClipRange percentileRange(std::span<float> values, double percentile, bool symmetric);

/// The range among full * r, r = 1 - k/100 for k in [0, steps), whose `sumSquaredError`
/// is smallest; ties keep the wider range (the first one tried).
template <class ErrorFn>
ClipRange mseRange(ClipRange full, int steps, ErrorFn&& sumSquaredError)
{
    ClipRange best = full;
    double bestErr = std::numeric_limits<double>::infinity();
    for (int k = 0; k < steps; ++k) {
        const float r = 1.0f - float(k) / 100.0f;
        const ClipRange c{full.lo * r, full.hi * r};
        const double e = sumSquaredError(c);
        if (e < bestErr) {
            bestErr = e;
            best = c;
        }
    }
    return best;
}

/// The range of one group under `options`. `values` are the group's finite values (scratch: it
/// is reordered); `sumSquaredError(ClipRange)` is the format's error for the Mse method.
template <class ErrorFn>
ClipRange chooseRange(std::span<float> values, bool symmetric, const RangeOptions& options,
                      ErrorFn&& sumSquaredError)
{
    switch (options.method) {
    case ClipMethod::MinMax: return minMaxRange(values, symmetric);
    case ClipMethod::Percentile: return percentileRange(values, options.percentile, symmetric);
    case ClipMethod::Mse:
        return mseRange(minMaxRange(values, symmetric), options.mseSteps, sumSquaredError);
    }
    return minMaxRange(values, symmetric);
}

/// Result of the entropy calibration.
struct KlCalibration {
    float threshold = 0;   ///< the |x| clip: (index of the last kept bin + 1) * bin width
    double divergence = 0; ///< KL(P || Q) at that threshold (natural log)
    float amax = 0;        ///< the largest finite |x| of the samples
    int bins = 0;          ///< kept bins at the threshold
};

/// TensorRT's entropy calibration (Migacz, "8-bit Inference with TensorRT", GTC 2017): a
/// `bins`-bin histogram of |x| over [0, amax]; for every candidate i in [levels, bins] the
/// reference P = bins [0, i) with the mass beyond added to bin i - 1, the candidate Q = the same
/// bins merged into `levels` chunks of i / levels bins (the last chunk takes the remainder),
/// each chunk's count spread evenly over its bins where P is nonzero; the candidate of smallest
/// KL(P || Q) wins (the first on ties). No smoothing: a bin with P > 0 and Q = 0 makes the
/// divergence infinite, which can only happen to a candidate that clips. Non-finite samples
/// are ignored; no nonzero sample gives threshold 0. InvalidArgument unless
/// 1 <= levels <= bins <= 2^20.
core::Result<KlCalibration> klCalibrate(std::span<const float> samples, int bins = 2048,
                                        int levels = 128);

/// KL(P || Q) of one candidate of klCalibrate over the histogram `hist` (exposed for tests).
double klDivergenceAt(std::span<const uint64_t> hist, int kept, int levels);

} // namespace qs::quant
