// computeStats: one streaming, multi-threaded pass over a tensor's bytes.
//
// Each chunk is converted to f32 (F32 is read in place), then walked twice while it is in
// cache: a scalar pass for the counts, min/max and the fine histogram, and a vectorised pass
// for the power sums of (x - K) around a shift K. The chunk's central moments follow from the
// power sums and are merged with Pébay's pairwise formulas, so the result does not depend on
// how chunks fell to threads (up to rounding).
#include "stats.h"

#include "checked.h"
#include "faultguard.h"
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace qs::core {

namespace {

constexpr uint64_t kChunkElems = 1u << 16; // 256 KiB of f32: stays in L2 for the second pass

/// Count, mean and central moment sums M2..M4 of a set of finite values.
struct Moments {
    double n = 0, mean = 0, m2 = 0, m3 = 0, m4 = 0;

    /// Pébay (2008), "Formulas for robust, one-pass parallel computation of covariances and
    /// arbitrary-order statistical moments", eqs. 3.1 for p = 2, 3, 4.
    void merge(const Moments& b)
    {
        if (b.n == 0)
            return;
        if (n == 0) {
            *this = b;
            return;
        }
        const double na = n, nb = b.n, nn = na + nb, d = b.mean - mean;
        const double d2 = d * d, d3 = d2 * d, d4 = d2 * d2;
        const double nm4 = m4 + b.m4 + d4 * na * nb * (na * na - na * nb + nb * nb) / (nn * nn * nn) +
                           6 * d2 * (na * na * b.m2 + nb * nb * m2) / (nn * nn) +
                           4 * d * (na * b.m3 - nb * m3) / nn;
        const double nm3 = m3 + b.m3 + d3 * na * nb * (na - nb) / (nn * nn) + 3 * d * (na * b.m2 - nb * m2) / nn;
        m2 = m2 + b.m2 + d2 * na * nb / nn;
        m3 = nm3;
        m4 = nm4;
        mean += d * nb / nn;
        n = nn;
    }
};

/// Everything one thread accumulates; allocated before the pass (no allocation inside a
/// fault guard).
struct ThreadState {
    Moments moments;
    uint64_t nan = 0, inf = 0, zeros = 0;
    float min = std::numeric_limits<float>::infinity();
    float max = -std::numeric_limits<float>::infinity();
    std::vector<uint64_t> fine = std::vector<uint64_t>(65536, 0);
    std::vector<float> outAbs, inAbs, buffer;
};

struct PowerSums {
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
};

/// Sums of powers of (x - k) over finite x. Vectorised; cloned for AVX2 and AVX-512 so the
/// baseline x86-64 build still runs at full width where the CPU allows.
__attribute__((target_clones("avx512f", "avx2", "default")))
PowerSums powerSums(const float* x, uint64_t n, float k)
{
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
#pragma omp simd reduction(+ : s1, s2, s3, s4)
    for (uint64_t i = 0; i < n; ++i) {
        const bool finite = std::abs(x[i]) <= FLT_MAX; // false for NaN and Inf
        const double d = finite ? double(x[i]) - double(k) : 0.0;
        const double d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    return {s1, s2, s3, s4};
}

/// Counts, min/max and the fine histogram. Returns the number of finite values.
uint64_t scanChunk(const float* x, uint64_t n, ThreadState& s)
{
    uint64_t finite = 0;
    float mn = s.min, mx = s.max;
    uint64_t* fine = s.fine.data();
    for (uint64_t i = 0; i < n; ++i) {
        const uint32_t u = std::bit_cast<uint32_t>(x[i]);
        if ((u & 0x7f800000u) == 0x7f800000u) { // exponent all ones: Inf or NaN
            (u & 0x007fffffu) ? ++s.nan : ++s.inf;
            continue;
        }
        ++finite;
        ++fine[u >> 16];
        s.zeros += (u & 0x7fffffffu) == 0;
        mn = std::min(mn, x[i]);
        mx = std::max(mx, x[i]);
    }
    s.min = mn, s.max = mx;
    return finite;
}

/// Updates acc[idx] with max |x| for the axis of stride `stride` and size `dim`, over
/// elements [first, first + n) of the flattened tensor. Non-finite values are ignored.
void channelAbsmax(const float* x, uint64_t first, uint64_t n, uint64_t stride, uint64_t dim, float* acc)
{
    uint64_t p = 0;
    while (p < n) {
        const uint64_t g = first + p;
        const uint64_t idx = (g / stride) % dim;
        if (stride == 1) { // consecutive elements walk consecutive channels
            const uint64_t run = std::min(dim - idx, n - p);
            float* a = acc + idx;
            const float* v = x + p;
#pragma omp simd
            for (uint64_t j = 0; j < run; ++j) {
                const float m = std::abs(v[j]);
                a[j] = (m <= FLT_MAX && m > a[j]) ? m : a[j];
            }
            p += run;
        } else { // a run of `stride` elements shares one channel
            const uint64_t run = std::min(stride - g % stride, n - p);
            float best = acc[idx];
            for (uint64_t j = 0; j < run; ++j) {
                const float m = std::abs(x[p + j]);
                best = (m <= FLT_MAX && m > best) ? m : best;
            }
            acc[idx] = best;
            p += run;
        }
    }
}

struct Layout {
    uint64_t outStride = 0, outDim = 0, inStride = 0, inDim = 0;
};

Layout axisLayout(const TensorInfo& t)
{
    Layout l;
    const auto rank = int(t.shape.size());
    auto strideOf = [&](int axis) {
        uint64_t s = 1;
        for (int a = axis + 1; a < rank; ++a)
            s *= uint64_t(t.shape[size_t(a)]);
        return s;
    };
    if (t.outAxis >= 0 && t.outAxis < rank)
        l.outStride = strideOf(t.outAxis), l.outDim = uint64_t(t.shape[size_t(t.outAxis)]);
    if (t.inAxis >= 0 && t.inAxis < rank)
        l.inStride = strideOf(t.inAxis), l.inDim = uint64_t(t.shape[size_t(t.inAxis)]);
    return l;
}

/// Processes one chunk of converted values into the thread's state.
void accumulate(const float* x, uint64_t first, uint64_t n, const Layout& layout, ThreadState& s)
{
    const uint64_t finite = scanChunk(x, n, s);
    if (finite > 0) {
        // Shift by the midrange so far: close to the data, so the power sums cancel little.
        const float k = 0.5f * s.min + 0.5f * s.max;
        const PowerSums p = powerSums(x, n, k);
        const double c = double(finite), mu = p.s1 / c;
        Moments m;
        m.n = c;
        m.mean = double(k) + mu;
        m.m2 = std::max(0.0, p.s2 - p.s1 * mu);
        m.m3 = p.s3 - 3 * mu * p.s2 + 2 * c * mu * mu * mu;
        m.m4 = std::max(0.0, p.s4 - 4 * mu * p.s3 + 6 * mu * mu * p.s2 - 3 * c * mu * mu * mu * mu);
        s.moments.merge(m);
    }
    if (layout.outDim)
        channelAbsmax(x, first, n, layout.outStride, layout.outDim, s.outAbs.data());
    if (layout.inDim)
        channelAbsmax(x, first, n, layout.inStride, layout.inDim, s.inAbs.data());
}

TensorStats mergeStates(std::vector<ThreadState>& states, uint64_t count)
{
    TensorStats r;
    r.count = count;
    Moments m;
    float mn = std::numeric_limits<float>::infinity(), mx = -mn;
    r.fine.counts.assign(65536, 0);
    r.outChannelAbsmax.assign(states[0].outAbs.size(), 0.0f);
    r.inChannelAbsmax.assign(states[0].inAbs.size(), 0.0f);
    for (auto& s : states) {
        m.merge(s.moments);
        r.nan += s.nan, r.inf += s.inf, r.zeros += s.zeros;
        mn = std::min(mn, s.min), mx = std::max(mx, s.max);
        for (size_t k = 0; k < 65536; ++k)
            r.fine.counts[k] += s.fine[k];
        for (size_t i = 0; i < s.outAbs.size(); ++i)
            r.outChannelAbsmax[i] = std::max(r.outChannelAbsmax[i], s.outAbs[i]);
        for (size_t i = 0; i < s.inAbs.size(); ++i)
            r.inChannelAbsmax[i] = std::max(r.inChannelAbsmax[i], s.inAbs[i]);
    }
    if (m.n > 0) {
        r.min = mn, r.max = mx;
        r.absmax = std::max(std::abs(double(mn)), std::abs(double(mx)));
        r.mean = m.mean;
        const double var = m.m2 / m.n;
        r.std = std::sqrt(var);
        r.kurtosis = var > 0 ? (m.m4 / m.n) / (var * var) - 3.0 : std::numeric_limits<double>::quiet_NaN();
    } else {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        r.min = r.max = r.mean = r.std = r.kurtosis = nan;
        r.absmax = 0;
    }
    return r;
}

} // namespace

Result<TensorStats> computeStats(const TensorInfo& t, const StatsOptions& options, Progress* progress)
{
    if (!t.readable())
        return Error{ErrorCode::Unsupported, t.name + ": dtype " + t.typeName + " is not supported for statistics"};
    const uint64_t n = t.elementCount();
    const auto& info = dtypeInfo(t.dtype);
    const auto need = byteSizeFor(t.dtype, n);
    auto bytes = t.storage->bytes();
    if (!bytes)
        return bytes.error();
    if (!need || *need != t.bytes || !rangeInside(t.offset, t.bytes, bytes->size()))
        return Error{ErrorCode::Format, t.storage->origin() + ": tensor '" + t.name +
                                            "' has a byte range that does not match its dtype and shape"};
    const std::byte* base = bytes->data() + t.offset;
    const uint64_t chunks = (n + kChunkElems - 1) / kChunkElems;
    const unsigned threads = unsigned(std::clamp<uint64_t>(options.threads ? options.threads : defaultThreadCount(), 1, std::max<uint64_t>(chunks, 1)));
    const Layout layout = axisLayout(t);
    std::vector<ThreadState> states(threads);
    for (auto& s : states) {
        s.outAbs.assign(layout.outDim, 0.0f);
        s.inAbs.assign(layout.inDim, 0.0f);
        if (t.dtype != DType::F32)
            s.buffer.resize(kChunkElems);
    }
    std::atomic<bool> failed{false};
    std::atomic<uint64_t> done{0};
    Error failure;
    std::atomic_flag failureSet;
    auto work = [&](uint64_t c, unsigned thread) {
        ThreadState& s = states[thread];
        const uint64_t first = c * kChunkElems, count = std::min(kChunkElems, n - first);
        const std::byte* src = base + first / info.blockElems * info.blockBytes;
        auto body = [&] {
            const float* x = reinterpret_cast<const float*>(src); // F32: read in place
            if (t.dtype != DType::F32) {
                convertToF32(t.dtype, src, count, s.buffer.data());
                x = s.buffer.data();
            }
            accumulate(x, first, count, layout, s);
        };
        Status st = t.storage->isMapped() ? guarded(t.storage->origin(), body) : (body(), Status{});
        if (!st) {
            if (!failureSet.test_and_set())
                failure = st.error();
            failed = true;
            return;
        }
        const uint64_t d = done.fetch_add(1) + 1;
        if (progress && progress->report)
            progress->report(d, chunks);
    };
    parallelChunks(chunks, threads, work, [&] { return failed.load() || (progress && progress->cancelled()); });
    if (failed)
        return failure;
    if (progress && progress->cancelled())
        return Error{ErrorCode::Cancelled, t.name + ": statistics cancelled"};
    TensorStats r = mergeStates(states, n);
    const bool any = r.count > r.nan + r.inf;
    r.histogram = r.fine.rebin(options.bins, options.scale, any ? r.min : 0, any ? r.max : 0);
    if (progress && progress->report && chunks == 0)
        progress->report(1, 1);
    return r;
}

} // namespace qs::core
