// computeStats: one streaming, multi-threaded pass over a tensor's bytes.
//
// The tensor is cut into chunks of kChunkElems elements that threads claim from parallelChunks;
// each chunk is walked in blocks of kBlockElems that stay in L1/L2 (F32 and BF16 are read in
// place, other types converted to f32 into the thread's buffer). Every block feeds the fine
// histogram and the per-channel absmax vectors. Then one of two paths:
//  - Exact types (BF16, FP8, 8-bit integers, BOOL): every value equals its fine bin's
//    representative, so count, min, max, the zeros/NaN/Inf counts and the moments all follow
//    exactly from the merged fine histogram; the pass touches each value only twice.
//  - Other types: a vectorised, branch-free scan of the block adds the power sums of (x - K)
//    around a shift K near the data, the counts and min/max. The block's central moments are
//    merged with Pébay's pairwise formulas, so they stay accurate when the mean is large
//    against the spread.
// The fine histogram's one scattered increment per value (about one per cycle) bounds the
// speed: the other work is vectorised and small beside it.
#include "stats.h"

#include "moments.h"

#include "checked.h"
#include "faultguard.h"
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace qs::core {

namespace {

constexpr uint64_t kChunkElems = uint64_t(1) << 20;  // unit of work, progress and cancellation
constexpr uint64_t kBlockElems = 8192;               // 32 KiB of f32: stays in cache between loops
constexpr uint64_t kMaxChannels = uint64_t(1) << 24; // longest axis given a channel vector
static_assert(kChunkElems % kBlockElems == 0 && kBlockElems % 256 == 0,
              "blocks must hold whole GGUF blocks");

constexpr uint32_t kAbsMask = 0x7fffffffu, kExpMask = 0x7f800000u;
constexpr float kInf = std::numeric_limits<float>::infinity();

/// What one block's vectorised scan finds.
struct BlockScan {
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0; ///< sums of (x - k)^p over finite x
    uint32_t nan = 0, inf = 0, zeros = 0;
    float min = kInf, max = -kInf; ///< over finite x
};

/// Everything one thread accumulates; allocated before the pass (nothing may allocate inside a
/// fault guard). Aligned so that two threads' counters never share a cache line.
struct alignas(64) ThreadState {
    Moments moments;
    uint64_t nan = 0, inf = 0, zeros = 0;
    float min = kInf, max = -kInf;
    std::vector<uint64_t> fine; ///< 65536 counters, non-finite patterns included
    std::vector<float> outAbs, inAbs, buffer;
};

uint32_t bitsOf(float x)
{
    return std::bit_cast<uint32_t>(x);
}

/// Power sums, non-finite counts and min/max of one block, with no branch per element (NaN
/// and Inf are recognised by their exponent bits and contribute x = k). Cloned for AVX2 and
/// AVX-512 because the engine is built for baseline x86-64.
[[gnu::target_clones("avx512f", "avx2", "default")]] BlockScan scanBlock(const float* x, uint32_t n,
                                                                         float k)
{
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    uint32_t nan = 0, inf = 0, zeros = 0;
    float mn = kInf, mx = -kInf;
#pragma omp simd reduction(+ : s1, s2, s3, s4, nan, inf, zeros) reduction(min : mn) \
    reduction(max : mx)
    for (uint32_t i = 0; i < n; ++i) {
        const float v = x[i];
        const uint32_t a = bitsOf(v) & kAbsMask;
        const bool finite = a < kExpMask;
        nan += a > kExpMask;
        inf += a == kExpMask;
        zeros += a == 0;
        mn = std::min(mn, finite ? v : kInf);
        mx = std::max(mx, finite ? v : -kInf);
        const double d = double(finite ? v : k) - double(k);
        const double d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    BlockScan r;
    r.s1 = s1, r.s2 = s2, r.s3 = s3, r.s4 = s4;
    r.nan = nan, r.inf = inf, r.zeros = zeros;
    r.min = mn, r.max = mx;
    return r;
}

/// Counts every value in the fine bin of its top 16 bits. Non-finite values land in the bins
/// with all exponent bits set, which finite values never use; they are split off at the end.
void addToFine(const float* x, uint64_t n, uint64_t* fine)
{
    for (uint64_t i = 0; i < n; ++i)
        ++fine[bitsOf(x[i]) >> 16];
}

/// Central moments of the finite values of a scanned block (power sums taken around k).
Moments blockMoments(const BlockScan& b, uint64_t n, float k)
{
    Moments m;
    const double c = double(n - b.nan - b.inf);
    if (c == 0) return m;
    const double mu = b.s1 / c;
    m.n = c;
    m.mean = double(k) + mu;
    m.m2 = std::max(0.0, b.s2 - b.s1 * mu);
    m.m3 = b.s3 - 3 * mu * b.s2 + 2 * c * mu * mu * mu;
    m.m4 = std::max(0.0, b.s4 - 4 * mu * b.s3 + 6 * mu * mu * b.s2 - 3 * c * mu * mu * mu * mu);
    return m;
}

/// Where the role axes are: element g of the flattened tensor is in out channel
/// (g / outStride) % outDim and in channel (g / inStride) % inDim. A dim of 0: no such axis.
struct Layout {
    uint64_t outStride = 0, outDim = 0, inStride = 0, inDim = 0;
};

/// Magnitude of element j of an f32 block; 0 for NaN and Inf, which never count as absmax.
struct F32Magnitude {
    const float* x;
    float operator()(uint64_t j) const
    {
        const float m = std::abs(x[j]);
        return bitsOf(m) < kExpMask ? m : 0.0f;
    }
};

/// The same for BF16 read straight from the tensor's bytes (any alignment).
struct Bf16Magnitude {
    const std::byte* p;
    float operator()(uint64_t j) const
    {
        uint16_t b;
        std::memcpy(&b, p + 2 * j, 2);
        const uint32_t m = uint32_t(b & 0x7fffu) << 16;
        return std::bit_cast<float>(m < kExpMask ? m : 0u);
    }
};

/// Updates acc[idx] with the largest magnitude for the axis of stride `stride` and size `dim`,
/// over elements [first, first + n) of the flattened tensor (`mag(j)` for block element j).
template <class Magnitude>
[[gnu::always_inline]] inline void channelAbsmaxOf(Magnitude mag, uint64_t first, uint64_t n,
                                                   uint64_t stride, uint64_t dim, float* acc)
{
    uint64_t p = 0;
    while (p < n) {
        const uint64_t g = first + p;
        const uint64_t idx = (g / stride) % dim;
        if (stride == 1) { // consecutive elements walk consecutive channels
            const uint64_t run = std::min(dim - idx, n - p);
            float* a = acc + idx;
#pragma omp simd
            for (uint64_t j = 0; j < run; ++j) {
                const float m = mag(p + j), cur = a[j];
                a[j] = cur > m ? cur : m; // both sides loaded: no branch per element
            }
            p += run;
        } else { // a run of up to `stride` elements shares one channel
            const uint64_t run = std::min(stride - g % stride, n - p);
            float best = acc[idx];
#pragma omp simd reduction(max : best)
            for (uint64_t j = 0; j < run; ++j)
                best = std::max(best, mag(p + j));
            acc[idx] = best;
            p += run;
        }
    }
}

/// The common 2-D layout in one pass: `cols` consecutive elements form a row; row r updates
/// rowAcc[r % rowDim] with its largest magnitude and colAcc[c] for each column c.
template <class Magnitude>
[[gnu::always_inline]] inline void rowsAndColumnsOf(Magnitude mag, uint64_t first, uint64_t n,
                                                    uint64_t cols, uint64_t rowDim, float* rowAcc,
                                                    float* colAcc)
{
    uint64_t p = 0;
    while (p < n) {
        const uint64_t g = first + p, row = (g / cols) % rowDim, col = g % cols;
        const uint64_t run = std::min(cols - col, n - p);
        float* a = colAcc + col;
        float best = rowAcc[row];
#pragma omp simd reduction(max : best)
        for (uint64_t j = 0; j < run; ++j) {
            const float m = mag(p + j), cur = a[j];
            a[j] = cur > m ? cur : m;
            best = std::max(best, m);
        }
        rowAcc[row] = best;
        p += run;
    }
}

/// Per-channel absmax of one block for both role axes: one pass when the two axes are the
/// innermost pair ([out, in] as PyTorch stores Linear, or [in, out] as ONNX MatMul), else one
/// pass per axis.
template <class Magnitude>
[[gnu::always_inline]] inline void channelsOf(Magnitude mag, uint64_t first, uint64_t n,
                                              const Layout& l, float* outAcc, float* inAcc)
{
    if (l.outDim && l.inDim && l.inStride == 1 && l.outStride == l.inDim)
        return rowsAndColumnsOf(mag, first, n, l.inDim, l.outDim, outAcc, inAcc);
    if (l.outDim && l.inDim && l.outStride == 1 && l.inStride == l.outDim)
        return rowsAndColumnsOf(mag, first, n, l.outDim, l.inDim, inAcc, outAcc);
    if (l.outDim) channelAbsmaxOf(mag, first, n, l.outStride, l.outDim, outAcc);
    if (l.inDim) channelAbsmaxOf(mag, first, n, l.inStride, l.inDim, inAcc);
}

[[gnu::target_clones("avx512f", "avx2", "default")]] void channelsF32(const float* x,
                                                                      uint64_t first, uint64_t n,
                                                                      const Layout& l,
                                                                      float* outAcc, float* inAcc)
{
    channelsOf(F32Magnitude{x}, first, n, l, outAcc, inAcc);
}

[[gnu::target_clones("avx512f", "avx2", "default")]] void channelsBf16(const std::byte* p,
                                                                       uint64_t first, uint64_t n,
                                                                       const Layout& l,
                                                                       float* outAcc, float* inAcc)
{
    channelsOf(Bf16Magnitude{p}, first, n, l, outAcc, inAcc);
}

/// Fine histogram of BF16 data: a value's bf16 pattern is its top 16 bits.
void addBf16ToFine(const std::byte* p, uint64_t n, uint64_t* fine)
{
    for (uint64_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, p + 2 * i, 2);
        ++fine[b];
    }
}

/// Strides of the role axes. Only called for a tensor with elements, so every dimension is at
/// least 1 and every product of dimensions is bounded by the (checked) element count.
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
    // An axis longer than kMaxChannels (a huge 1-D tensor) gets no vector: every thread would
    // hold one float per element, and such a plot says nothing.
    auto usable = [&](int axis) {
        return axis >= 0 && axis < rank && uint64_t(t.shape[size_t(axis)]) <= kMaxChannels;
    };
    if (usable(t.outAxis))
        l.outStride = strideOf(t.outAxis), l.outDim = uint64_t(t.shape[size_t(t.outAxis)]);
    if (usable(t.inAxis))
        l.inStride = strideOf(t.inAxis), l.inDim = uint64_t(t.shape[size_t(t.inAxis)]);
    return l;
}

/// True for types whose every value has at most 8 significant bits, so it equals the
/// representative of its fine bin and the fine histogram alone gives exact statistics.
bool exactInFineBins(DType t)
{
    switch (t) {
    case DType::BF16:
    case DType::F8_E4M3:
    case DType::F8_E5M2:
    case DType::I8:
    case DType::U8:
    case DType::BOOL:
        return true;
    default:
        return false;
    }
}

/// Walks one block of BF16 values (exact type, read in place) into the thread's state.
void processBf16Block(const std::byte* p, uint64_t first, uint64_t n, const Layout& layout,
                      ThreadState& s)
{
    channelsBf16(p, first, n, layout, s.outAbs.data(), s.inAbs.data());
    addBf16ToFine(p, n, s.fine.data()); // last: the vector loops above brought the block in
}

/// Walks one block of f32 values (read in place or converted) into the thread's state.
void processBlock(const float* x, uint64_t first, uint64_t n, const Layout& layout, bool exact,
                  ThreadState& s)
{
    if (!exact) {
        // Shift near the data (the running mean, else the block's first finite value), so the
        // power sums cancel little when the mean is large against the spread.
        float k = float(s.moments.mean);
        if (s.moments.n == 0) {
            uint64_t i = 0;
            while (i < n && (bitsOf(x[i]) & kExpMask) == kExpMask)
                ++i;
            k = i < n ? x[i] : 0.0f;
        }
        const BlockScan b = scanBlock(x, uint32_t(n), k);
        s.moments.merge(blockMoments(b, n, k));
        s.nan += b.nan, s.inf += b.inf, s.zeros += b.zeros;
        s.min = std::min(s.min, b.min), s.max = std::max(s.max, b.max);
    }
    channelsF32(x, first, n, layout, s.outAbs.data(), s.inAbs.data());
    addToFine(x, n, s.fine.data()); // last: the vector loops above brought the block in
}

bool nonFinitePattern(uint32_t top16)
{
    return (top16 & 0x7f80u) == 0x7f80u;
}
float binValue(uint32_t top16)
{
    return std::bit_cast<float>(top16 << 16);
}

/// Exact statistics from a fine histogram whose values all equal their bin's representative:
/// count, NaN/Inf/zeros, min/max, and the moments in two passes over the 65,536 bins.
void statsFromFine(const std::vector<uint64_t>& fine, TensorStats& r, Moments& m)
{
    r.inf = fine[0x7f80] + fine[0xff80];
    for (uint32_t k = 0; k < 65536; ++k)
        if (nonFinitePattern(k) && (k & 0x7f) != 0) r.nan += fine[k];
    r.zeros = fine[0x0000] + fine[0x8000];
    double n = 0, sum = 0, mn = kInf, mx = -kInf;
    for (uint32_t k = 0; k < 65536; ++k) {
        if (fine[k] == 0 || nonFinitePattern(k)) continue;
        const double v = binValue(k), c = double(fine[k]);
        n += c, sum += c * v;
        mn = std::min(mn, v), mx = std::max(mx, v);
    }
    m.n = n;
    if (n == 0) return;
    m.mean = sum / n;
    for (uint32_t k = 0; k < 65536; ++k) {
        if (fine[k] == 0 || nonFinitePattern(k)) continue;
        const double d = double(binValue(k)) - m.mean, c = double(fine[k]), d2 = d * d;
        m.m2 += c * d2, m.m3 += c * d2 * d, m.m4 += c * d2 * d2;
    }
    r.min = mn, r.max = mx;
}

/// Combines the threads' states into the result; `exact` selects the fine-histogram path.
TensorStats mergeStates(const std::vector<ThreadState>& states, uint64_t count, bool exact)
{
    TensorStats r;
    r.count = count;
    r.fine.counts.assign(65536, 0);
    r.outChannelAbsmax.assign(states[0].outAbs.size(), 0.0f);
    r.inChannelAbsmax.assign(states[0].inAbs.size(), 0.0f);
    Moments m;
    float mn = kInf, mx = -kInf;
    for (const auto& s : states) {
        for (size_t k = 0; k < 65536; ++k)
            r.fine.counts[k] += s.fine[k];
        for (size_t i = 0; i < s.outAbs.size(); ++i)
            r.outChannelAbsmax[i] = std::max(r.outChannelAbsmax[i], s.outAbs[i]);
        for (size_t i = 0; i < s.inAbs.size(); ++i)
            r.inChannelAbsmax[i] = std::max(r.inChannelAbsmax[i], s.inAbs[i]);
        m.merge(s.moments);
        r.nan += s.nan, r.inf += s.inf, r.zeros += s.zeros;
        mn = std::min(mn, s.min), mx = std::max(mx, s.max);
    }
    r.min = mn, r.max = mx;
    if (exact) // the threads only filled the fine histogram
        statsFromFine(r.fine.counts, r, m);
    for (uint32_t k = 0; k < 65536; ++k) // the fine histogram holds finite values only
        if (nonFinitePattern(k)) r.fine.counts[k] = 0;
    if (m.n > 0) {
        r.absmax = std::max(std::abs(r.min), std::abs(r.max));
        r.mean = m.mean;
        const double var = m.m2 / m.n;
        r.std = std::sqrt(var);
        r.kurtosis =
            var > 0 ? (m.m4 / m.n) / (var * var) - 3.0 : std::numeric_limits<double>::quiet_NaN();
    } else {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        r.min = r.max = r.mean = r.std = r.kurtosis = nan;
        r.absmax = 0;
    }
    return r;
}

/// Checks that the tensor can be read and that its byte count matches dtype and shape.
Status checkTensor(const TensorInfo& t, uint64_t elems)
{
    if (t.dtype == DType::Unsupported)
        return Error{ErrorCode::Unsupported,
                     t.name + ": dtype " + t.typeName + " is not supported for statistics"};
    if (!t.storage) return Error{ErrorCode::InvalidArgument, t.name + ": the tensor has no data"};
    const auto need = byteSizeFor(t.dtype, elems);
    if (!checkedProduct(t.shape) || !need || *need != t.bytes)
        return Error{ErrorCode::Format, t.storage->origin() + ": tensor '" + t.name + "' has " +
                                            std::to_string(t.bytes) +
                                            " bytes, which does not match its dtype " +
                                            std::string(dtypeName(t.dtype)) + " and shape"};
    return {};
}

/// A pointer to the tensor's first byte, after checking its range lies inside the data.
Result<const std::byte*> tensorBytes(const TensorInfo& t)
{
    auto bytes = t.storage->bytes();
    if (!bytes) return bytes.error();
    if (!rangeInside(t.offset, t.bytes, bytes->size()))
        return Error{ErrorCode::Truncated,
                     t.storage->origin() + ": tensor '" + t.name + "' bytes " + std::to_string(t.offset) + "+" +
                         std::to_string(t.bytes) + " lie past the end of the data (" +
                         std::to_string(bytes->size()) + ")"};
    return bytes->data() + t.offset;
}

/// One statistics pass: the threads' states and the chunk loop they share, fed either the
/// whole mapped tensor at once or, for streamed storage, one window of it at a time.
class StatsPass {
public:
    StatsPass(const TensorInfo& t, uint64_t n, unsigned threads, Progress* progress)
        : m_t(t), m_n(n), m_info(dtypeInfo(t.dtype)), m_exact(exactInFineBins(t.dtype)),
          m_layout(n > 0 ? axisLayout(t) : Layout{}), m_states(threads), m_progress(progress),
          m_chunks((n + kChunkElems - 1) / kChunkElems)
    {
        // A tensor without elements has no channels worth listing (and shape [0, 2^40] must
        // not make us allocate 2^40 floats): axisLayout is skipped then.
        for (auto& s : m_states) {
            s.fine.assign(65536, 0);
            s.outAbs.assign(m_layout.outDim, 0.0f);
            s.inAbs.assign(m_layout.inDim, 0.0f);
            s.buffer.resize(kBlockElems);
        }
    }

    /// Processes elements [first, first + count) whose bytes start at `base` (first and the
    /// window size are multiples of kChunkElems). Reads under the fault guard when mapped.
    Status run(const std::byte* base, uint64_t first, uint64_t count)
    {
        // F32 is read in place when aligned; BF16 always (its kernels load through memcpy).
        const bool inPlace = m_t.dtype == DType::BF16 ||
                             (m_t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(base) % 4 == 0);
        const uint64_t chunks = (count + kChunkElems - 1) / kChunkElems;
        std::atomic<bool> failed{false};
        std::atomic_flag failureSet;
        Error failure;
        auto work = [&](uint64_t c, unsigned thread) {
            ThreadState& s = m_states[thread];
            const uint64_t chunkEnd = std::min(count, (c + 1) * kChunkElems);
            auto body = [&] {
                for (uint64_t at = c * kChunkElems; at < chunkEnd; at += kBlockElems) {
                    const uint64_t len = std::min(kBlockElems, chunkEnd - at);
                    const std::byte* src = base + at / m_info.blockElems * m_info.blockBytes;
                    if (m_t.dtype == DType::BF16) {
                        processBf16Block(src, first + at, len, m_layout, s);
                        continue;
                    }
                    const float* x = reinterpret_cast<const float*>(src);
                    if (!inPlace) {
                        convertToF32(m_t.dtype, src, len, s.buffer.data());
                        x = s.buffer.data();
                    }
                    processBlock(x, first + at, len, m_layout, m_exact, s);
                }
            };
            const bool mapped = m_t.storage->isMapped() && !m_t.storage->streamed();
            const Status st = mapped ? guarded(m_t.storage->origin(), body) : (body(), Status{});
            if (!st) {
                if (!failureSet.test_and_set()) failure = st.error();
                failed = true;
                return;
            }
            const uint64_t d = m_done.fetch_add(1) + 1;
            if (m_progress && m_progress->report) m_progress->report(d, m_chunks);
        };
        parallelChunks(chunks, unsigned(m_states.size()), work,
                       [&] { return failed.load() || (m_progress && m_progress->cancelled()); });
        if (failed) return failure;
        if (m_progress && m_progress->cancelled())
            return Error{ErrorCode::Cancelled, m_t.name + ": statistics cancelled"};
        return {};
    }

    TensorStats finish(const StatsOptions& options) const
    {
        TensorStats r = mergeStates(m_states, m_n, m_exact);
        const bool any = r.count > r.nan + r.inf;
        r.histogram = r.fine.rebin(options.bins, options.scale, any ? r.min : 0, any ? r.max : 0);
        if (m_progress && m_progress->report && m_chunks == 0) m_progress->report(1, 1);
        return r;
    }

private:
    const TensorInfo& m_t;
    uint64_t m_n;
    const DTypeInfo& m_info;
    bool m_exact;
    Layout m_layout;
    std::vector<ThreadState> m_states;
    Progress* m_progress;
    uint64_t m_chunks;
    std::atomic<uint64_t> m_done{0};
};

/// Streamed storage (a deflated .npz member): read kChunkElems x threads elements at a time
/// into one buffer and run the pass over it, so memory stays bounded whatever the tensor size.
Status runStreamed(const TensorInfo& t, uint64_t n, unsigned threads, StatsPass& pass)
{
    const auto& info = dtypeInfo(t.dtype);
    auto stream = t.storage->openStream(t.offset);
    if (!stream) return stream.error();
    const uint64_t windowElems = kChunkElems * threads;
    std::vector<std::byte> window(std::min(n, windowElems) / info.blockElems * info.blockBytes);
    for (uint64_t first = 0; first < n; first += windowElems) {
        const uint64_t count = std::min(windowElems, n - first);
        const auto bytes = std::span<std::byte>(window).first(count / info.blockElems * info.blockBytes);
        auto got = (*stream)->read(bytes);
        if (!got) return got.error();
        if (*got != bytes.size())
            return Error{ErrorCode::Truncated, t.storage->origin() + ": tensor '" + t.name + "' data ends early"};
        if (auto st = pass.run(window.data(), first, count); !st) return st;
    }
    return (*stream)->finish();
}

} // namespace

Result<TensorStats> computeStats(const TensorInfo& t, const StatsOptions& options,
                                 Progress* progress)
{
    const uint64_t n = t.elementCount();
    if (auto st = checkTensor(t, n); !st) return st.error();
    const uint64_t chunks = (n + kChunkElems - 1) / kChunkElems;
    const unsigned threads =
        unsigned(std::clamp<uint64_t>(options.threads ? options.threads : defaultThreadCount(), 1,
                                      std::max<uint64_t>(chunks, 1)));
    StatsPass pass(t, n, threads, progress);
    if (t.storage->streamed()) {
        if (auto st = runStreamed(t, n, threads, pass); !st) return st.error();
    } else {
        auto base = tensorBytes(t);
        if (!base) return base.error();
        if (auto st = pass.run(*base, 0, n); !st) return st.error();
    }
    return pass.finish(options);
}

} // namespace qs::core
