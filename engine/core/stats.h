#pragma once
/// Tensor statistics in one streaming, multi-threaded pass over the tensor's bytes.
///
/// Definitions (all over finite values; NaN and Inf are counted, then excluded):
///   mean = sum(x)/n, std = sqrt(sum((x-mean)^2)/n) (population, numpy's default ddof=0),
///   kurtosis = m4/m2^2 - 3 (Fisher's excess kurtosis, population moments; 0 for a Gaussian,
///   scipy.stats.kurtosis's default), absmax = max |x|. count is every element, NaN and Inf
///   included; zeros counts +0 and -0.
/// Moments are merged per chunk with Pébay's pairwise formulas in double, so they stay
/// accurate when the mean is large against the spread.
///
/// The histogram is collected in the same pass as a fine histogram keyed by the top 16 bits of
/// each value's binary32 pattern (sign, exponent, 7 mantissa bits); any requested N-bin
/// histogram (linear or symmetric log, any range) is derived from it afterwards without
/// rereading the data. A fine bin is assigned whole to the output bin that holds its member of
/// smallest magnitude (the pattern with the low 16 bits zero), so output bin edges are resolved
/// to 1 part in 128 of the value, and exactly for data with at most 8 significant bits (BF16,
/// FP8, 8-bit integers).
#include "progress.h"
#include "result.h"
#include "tensor.h"

#include <array>
#include <cstdint>
#include <vector>

namespace qs::core {

enum class HistogramScale { Linear, SymLog };

struct Histogram {
    HistogramScale scale = HistogramScale::Linear;
    std::vector<double> edges;   ///< bins + 1 edges, increasing
    std::vector<uint64_t> counts; ///< finite values per bin
    double linthresh = 0;        ///< SymLog: |x| below this is the linear centre
};

/// 65,536 counters, one per top-16-bit pattern of a finite value's binary32 encoding.
struct FineHistogram {
    std::vector<uint64_t> counts; ///< size 65536 when filled, empty otherwise

    /// Derives an N-bin histogram over [lo, hi] (linear) or a symmetric log histogram over
    /// [lo, hi] with |x| < linthresh linear. lo == hi gives one bin holding every value.
    Histogram rebin(int bins, HistogramScale scale, double lo, double hi, double linthresh = 0) const;
};

struct TensorStats {
    uint64_t count = 0, nan = 0, inf = 0, zeros = 0;
    double min = 0, max = 0, mean = 0, std = 0, absmax = 0, kurtosis = 0;
    std::vector<float> outChannelAbsmax; ///< per index along outAxis (empty if outAxis < 0, the tensor has no elements, or the axis is longer than 2^24)
    std::vector<float> inChannelAbsmax;  ///< per index along inAxis (empty if inAxis < 0, the tensor has no elements, or the axis is longer than 2^24)
    FineHistogram fine;
    Histogram histogram;                 ///< per StatsOptions, over [min, max] by default
};

struct StatsOptions {
    int bins = 128;
    HistogramScale scale = HistogramScale::Linear;
    unsigned threads = 0;                ///< 0 = defaultThreadCount()
};

/// One pass over the tensor. Fails on an unsupported dtype, a storage error, a file that shrank
/// while mapped (Truncated), or cancellation (Cancelled).
Result<TensorStats> computeStats(const TensorInfo& tensor, const StatsOptions& options = {},
                                 Progress* progress = nullptr);

} // namespace qs::core
