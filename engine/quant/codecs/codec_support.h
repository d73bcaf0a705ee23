#pragma once
// Internal to the codecs: stored-part builders, bit packing and the row-block driver.
#include "quant/codec.h"
#include "quant/intquant.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>

namespace qs::quant::detail {

/// A stored part holding a copy of `values`.
template <class T>
StoredPart partOf(std::string suffix, core::DType dtype, std::vector<int64_t> shape, std::span<const T> values)
{
    StoredPart p{std::move(suffix), dtype, std::move(shape), {}};
    p.data.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(p.data.data(), values.data(), p.data.size());
    return p;
}

template <class T>
StoredPart partOf(std::string suffix, core::DType dtype, std::vector<int64_t> shape, const std::vector<T>& values)
{
    return partOf(std::move(suffix), dtype, std::move(shape), std::span<const T>(values));
}

/// Bytes of one row of `cols` codes of `bits` bits packed as a little-endian bit stream.
inline int64_t packedRowBytes(int64_t cols, int bits) { return (cols * bits + 7) / 8; }

/// Packs the low `bits` bits of every code, row by row, into little-endian bit streams (code c
/// of a row at bits [c*bits, c*bits + bits)); each row starts on a byte.
std::vector<uint8_t> packBits(std::span<const uint8_t> codes, int64_t rows, int64_t cols, int bits);

/// The shape of a per-group part under grid g: [1] tensor, [R,1] channel, [1,C] inchannel,
/// [R,G] groups and blocks.
std::vector<int64_t> groupShape(const GroupGrid& g);

/// `v` sorted ascending without repeats (a group's levels).
inline std::vector<float> sortedUnique(std::vector<float> v)
{
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

/// Rows per parallel chunk: about 64 Ki weights.
inline int64_t rowChunk(int64_t cols) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1)); }

/// Runs fn(r0, r1, thread) over row blocks in parallel with progress units
/// [doneBefore, doneBefore + rows) of `total`, then rowsDone(r0, r1) for each block.
core::Status forRowBlocks(int64_t rows, int64_t cols, core::Progress* progress, uint64_t doneBefore,
                          uint64_t total, const char* what, const RowsDone& rowsDone,
                          const std::function<void(int64_t, int64_t, unsigned)>& fn);

/// Threads forRowBlocks uses (for per-thread scratch).
unsigned rowThreads();

/// The smallest, largest and largest-magnitude finite values of x[0, n): +Inf, -Inf and 0 when
/// none is finite. Written with eight-lane vectors and inlined into the callers' instruction-set
/// clones: GCC leaves the equivalent `omp simd` min/max reduction scalar. Min and max do not
/// depend on the order (up to the sign of a zero extreme).
struct FiniteRange {
    float lo, hi, amax;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi" // lane vectors cross only inlined functions
[[gnu::always_inline]] inline FiniteRange finiteRange(const float* x, int64_t n)
{
    using F8 = float __attribute__((vector_size(32)));
    using I8 = int32_t __attribute__((vector_size(32)));
    constexpr float kBig = std::numeric_limits<float>::infinity();
    FiniteRange r{kBig, -kBig, 0.0f};
    int64_t i = 0;
    if (n >= 8) {
        F8 lo = F8{} + kBig, hi = F8{} - kBig, amax = F8{};
        for (; i + 8 <= n; i += 8) {
            F8 v, a;
            I8 bits;
            std::memcpy(&v, x + i, sizeof v);
            std::memcpy(&bits, x + i, sizeof bits);
            const I8 absBits = bits & 0x7fffffff;
            std::memcpy(&a, &absBits, sizeof a);
            const I8 finite = absBits < 0x7f800000;
            lo = finite & (v < lo) ? v : lo;
            hi = finite & (hi < v) ? v : hi;
            amax = finite & (amax < a) ? a : amax;
        }
        for (int j = 0; j < 8; ++j) {
            r.lo = std::min(r.lo, lo[j]);
            r.hi = std::max(r.hi, hi[j]);
            r.amax = std::max(r.amax, amax[j]);
        }
    }
    for (; i < n; ++i) {
        if (!((std::bit_cast<uint32_t>(x[i]) & 0x7fffffffu) < 0x7f800000u)) continue;
        r.lo = std::min(r.lo, x[i]);
        r.hi = std::max(r.hi, x[i]);
        r.amax = std::max(r.amax, std::fabs(x[i]));
    }
    return r;
}
#pragma GCC diagnostic pop

} // namespace qs::quant::detail
