// FineHistogram::rebin: an N-bin histogram derived from the 65,536 top-16-bit counters.
#include "stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace qs::core {

namespace {

float patternValue(uint32_t bits) { return std::bit_cast<float>(bits); }

/// Forward and inverse of the symmetric log transform sign(x) * log10(1 + |x| / c).
double symlog(double x, double c) { return std::copysign(std::log10(1.0 + std::abs(x) / c), x); }
double symexp(double t, double c) { return std::copysign(c * (std::pow(10.0, std::abs(t)) - 1.0), t); }

} // namespace

Histogram FineHistogram::rebin(int bins, HistogramScale scale, double lo, double hi,
                               double linthresh) const
{
    Histogram h;
    h.scale = scale;
    bins = std::max(bins, 1);
    if (!(hi > lo)) { // one bin holding everything (a constant tensor, or lo == hi)
        bins = 1;
        hi = lo;
    }
    if (scale == HistogramScale::SymLog && !(linthresh > 0))
        linthresh = std::max(std::max(std::abs(lo), std::abs(hi)) * 1e-3, 1e-30);
    h.linthresh = scale == HistogramScale::SymLog ? linthresh : 0;
    const bool log = scale == HistogramScale::SymLog;
    const double tlo = log ? symlog(lo, linthresh) : lo;
    const double thi = log ? symlog(hi, linthresh) : hi;
    h.edges.resize(size_t(bins) + 1);
    for (int i = 0; i <= bins; ++i) {
        const double t = tlo + (thi - tlo) * i / bins;
        h.edges[size_t(i)] = log ? symexp(t, linthresh) : t;
    }
    h.edges.front() = lo;
    h.edges.back() = hi;
    h.counts.assign(size_t(bins), 0);
    if (counts.size() != 65536)
        return h;
    for (uint32_t k = 0; k < 65536; ++k) {
        if (counts[k] == 0)
            continue;
        // The fine bin spans the values whose top 16 bits are k; its extremes are k<<16 and
        // (k<<16)|0xffff (magnitudes grow with the low bits for either sign).
        const double a = patternValue(k << 16), b = patternValue((k << 16) | 0xffffu);
        const double fineLo = std::min(a, b), fineHi = std::max(a, b);
        if (fineHi < lo || fineLo > hi)
            continue; // entirely outside the requested range
        // Its representative is k<<16 itself (the member of smallest magnitude): exactly the
        // value for data that has at most 8 significant bits (BF16, FP8, 8-bit integers).
        const double rep = std::clamp(double(patternValue(k << 16)), lo, hi);
        const double t = log ? symlog(rep, linthresh) : rep;
        int idx = thi > tlo ? int(std::floor((t - tlo) / (thi - tlo) * bins)) : 0;
        idx = std::clamp(idx, 0, bins - 1);
        h.counts[size_t(idx)] += counts[k];
    }
    return h;
}

} // namespace qs::core
