// Element formats E4M3 / E5M2 / E2M1 and the block formats MXFP4, MXFP8, NVFP4 and NF4.
#include "floatquant.h"

#include "intquant.h"
#include "range.h"

#include <algorithm>
#include <cmath>

namespace qs::quant {

uint8_t encodeMiniFloat(float x, const MiniFloat& f, Overflow overflow)
{
    const int width = f.expBits + f.mantBits;
    const auto sign = uint8_t(std::signbit(x) ? 1u << width : 0u);
    const uint8_t allOnes = uint8_t((1u << width) - 1u);
    const float q = std::fabs(roundToMiniFloat(x, f, overflow));
    if (std::isnan(q)) return f.hasNaN ? uint8_t(sign | allOnes) : 0; // E4M3 S.1111.111
    if (std::isinf(q)) return uint8_t(sign | (((1u << f.expBits) - 1u) << f.mantBits));
    if (q == 0.0f) return sign;
    const int emin = 1 - f.bias;
    const int e = std::ilogb(q);
    if (e < emin) {
        // Subnormal: q is a multiple of 2^(emin - mantBits).
        const auto mant = uint8_t(std::ldexp(q, f.mantBits - emin));
        return uint8_t(sign | mant);
    }
    const auto mant = uint8_t(std::ldexp(q, f.mantBits - e) - float(1u << f.mantBits));
    return uint8_t(sign | (uint32_t(e + f.bias) << f.mantBits) | mant);
}

float decodeMiniFloat(uint8_t bits, const MiniFloat& f)
{
    const int width = f.expBits + f.mantBits;
    const bool negative = ((bits >> width) & 1u) != 0;
    const uint32_t expField = (bits >> f.mantBits) & ((1u << f.expBits) - 1u);
    const uint32_t mant = bits & ((1u << f.mantBits) - 1u);
    const uint32_t expMax = (1u << f.expBits) - 1u;
    float v;
    if (f.hasInf && expField == expMax) {
        v = mant == 0 ? std::numeric_limits<float>::infinity()
                      : std::numeric_limits<float>::quiet_NaN();
    } else if (!f.hasInf && f.hasNaN && expField == expMax && mant == (1u << f.mantBits) - 1u) {
        v = std::numeric_limits<float>::quiet_NaN(); // E4M3FN: only S.1111.111 is NaN
    } else if (expField == 0) {
        v = std::ldexp(float(mant), 1 - f.bias - f.mantBits);
    } else {
        v = std::ldexp(float(mant + (1u << f.mantBits)), int(expField) - f.bias - f.mantBits);
    }
    return negative ? -v : v;
}

const std::array<float, 16>& nf4Levels()
{
    // bitsandbytes functional.py, the NF4 data table (QLoRA, appendix E).
    static const std::array<float, 16> levels{
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
        0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
        0.7229568362236023f, 1.0f};
    return levels;
}

namespace {

/// Midpoints between neighbouring NF4 levels: the decision boundaries of nearest-level search.
const std::array<float, 15>& nf4Midpoints()
{
    static const std::array<float, 15> mids = [] {
        std::array<float, 15> m{};
        const auto& l = nf4Levels();
        for (size_t k = 0; k < m.size(); ++k) m[k] = (l[k] + l[k + 1]) * 0.5f;
        return m;
    }();
    return mids;
}

float finiteAbsMax(const float* x, int64_t n)
{
    float amax = 0.0f;
#pragma omp simd reduction(max : amax)
    for (int64_t i = 0; i < n; ++i) {
        const float a = isFiniteBits(x[i]) ? std::fabs(x[i]) : 0.0f;
        amax = std::max(amax, a);
    }
    return amax;
}

/// Element pass of a block: x' = round(x / s) * s in `f`, non-finite inputs kept; a scale that
/// is not positive gives zeros.
void blockElements(const float* x, float* out, int64_t n, float s, const MiniFloat& f)
{
    if (!(s > 0.0f)) {
        for (int64_t i = 0; i < n; ++i) out[i] = isFiniteBits(x[i]) ? 0.0f : x[i];
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        const float d = roundToMiniFloat(x[i] / s, f, Overflow::Saturate) * s;
        out[i] = isFiniteBits(x[i]) ? d : x[i];
    }
}

Quantized emptyLike(const Matrix& w, int64_t groupsPerRow, Quantized* reuse)
{
    Quantized q = startResult(w, reuse);
    q.groupsPerRow = groupsPerRow;
    q.clip.resize(size_t(w.rows * groupsPerRow));
    return q;
}

void finish(Quantized& q, const Scheme& scheme, const Matrix& w)
{
    q.bytes = storageBytes(scheme, w.rows, w.cols);
    const double weights = double(w.rows) * double(w.cols);
    q.bitsPerWeight = weights > 0 ? double(q.bytes) * 8.0 / weights : 0.0;
}

int64_t rowChunk(int64_t cols) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1)); }

/// One row of a block format whose block scale `scaleOf(amax)` is computed per block.
template <class ScaleFn>
void blockRow(const Matrix& w, Quantized& q, int64_t r, int64_t block, const MiniFloat& f,
              ScaleFn&& scaleOf)
{
    const int64_t gpr = q.groupsPerRow;
    for (int64_t g = 0; g < gpr; ++g) {
        const int64_t c0 = g * block;
        const int64_t n = std::min(block, w.cols - c0);
        const float s = scaleOf(finiteAbsMax(w.row(r) + c0, n));
        q.clip[size_t(r * gpr + g)] = f.maxFinite * std::max(s, 0.0f);
        blockElements(w.row(r) + c0, q.dequant.row(r) + c0, n, s, f);
    }
}

} // namespace

int nf4Index(float v)
{
    if (std::isnan(v)) return 7;
    int idx = 0;
    for (float m : nf4Midpoints()) idx += v > m ? 1 : 0;
    return idx;
}

core::Result<Quantized> quantizeMx(const Matrix& w, const Scheme& scheme, core::Progress* progress,
                                   Quantized* reuse)
{
    const bool fp4 = scheme.family == Family::MxFp4;
    const MiniFloat& f = fp4 ? kE2M1 : kE4M3;
    const int emaxElem = fp4 ? 2 : 8; // OCP MX v1.0 table 1: emax of E2M1 and E4M3
    constexpr int64_t block = 32;
    Quantized q = emptyLike(w, (w.cols + block - 1) / block, reuse);
    auto scaleOf = [emaxElem](float amax) {
        int e = -127; // E8M0's smallest scale for a block without a nonzero value
        if (amax > 0.0f) e = std::clamp(std::ilogb(amax) - emaxElem, -127, 127);
        return std::ldexp(1.0f, e);
    };
    auto st = forChunks(w.rows, rowChunk(w.cols), progress, 0, uint64_t(w.rows), "mx quantize",
                        [&](int64_t r0, int64_t r1, unsigned) {
        for (int64_t r = r0; r < r1; ++r) blockRow(w, q, r, block, f, scaleOf);
    });
    if (!st) return st.error();
    finish(q, scheme, w);
    return q;
}

core::Result<Quantized> quantizeNvFp4(const Matrix& w, const Scheme& scheme,
                                      core::Progress* progress, Quantized* reuse)
{
    constexpr int64_t block = 16;
    Quantized q = emptyLike(w, (w.cols + block - 1) / block, reuse);
    const float tensorAmax = finiteAbsMax(w.data.data(), int64_t(w.data.size()));
    float ts = tensorAmax / (6.0f * 448.0f);
    if (!(ts > 0.0f)) ts = 1.0f;
    auto scaleOf = [ts](float amax) {
        const float s = roundToMiniFloat(amax / 6.0f / ts, kE4M3, Overflow::Saturate);
        return s * ts;
    };
    auto st = forChunks(w.rows, rowChunk(w.cols), progress, 0, uint64_t(w.rows),
                        "nvfp4 quantize", [&](int64_t r0, int64_t r1, unsigned) {
        for (int64_t r = r0; r < r1; ++r) blockRow(w, q, r, block, kE2M1, scaleOf);
    });
    if (!st) return st.error();
    q.scales.push_back(ts); // the per-tensor F32 scale
    finish(q, scheme, w);
    return q;
}

namespace {

/// QLoRA double quantization of the block absmax values, in place (see quantizeNf4). Appends
/// the second-level scale of every chunk, then the mean, to `levels`.
void doubleQuantize(std::vector<float>& absmax, std::vector<float>& levels)
{
    if (absmax.empty()) return;
    double sum = 0;
    for (float a : absmax) sum += a;
    const auto mean = float(sum / double(absmax.size()));
    constexpr size_t chunk = 256;
    for (size_t c0 = 0; c0 < absmax.size(); c0 += chunk) {
        const size_t c1 = std::min(absmax.size(), c0 + chunk);
        float m = 0.0f;
        for (size_t i = c0; i < c1; ++i) m = std::max(m, std::fabs(absmax[i] - mean));
        float s = m / 127.0f;
        if (!(s > 0.0f)) s = 1.0f;
        levels.push_back(s);
        for (size_t i = c0; i < c1; ++i) {
            const float code = std::clamp(roundHalfEven((absmax[i] - mean) / s), -127.0f, 127.0f);
            absmax[i] = code * s + mean;
        }
    }
    levels.push_back(mean);
}

/// Rows [r0, r1): every element becomes its block's absmax times the nearest NF4 level. The
/// level is found by a branch-free chain over the 15 ascending midpoints (the level of the last
/// midpoint below x / absmax, exact midpoints going down, as nf4Index), so the loop
/// vectorises; compiled for AVX-512 and AVX2 too (no arithmetic differs, only the width).
[[gnu::target_clones("avx512f", "avx2", "default")]] void nf4Rows(const Matrix& w, Quantized& q,
                                                                  int64_t r0, int64_t r1, int64_t block)
{
    float levels[16];
    float mids[15];
    std::copy(nf4Levels().begin(), nf4Levels().end(), levels);
    std::copy(nf4Midpoints().begin(), nf4Midpoints().end(), mids);
    const int64_t gpr = q.groupsPerRow;
    for (int64_t r = r0; r < r1; ++r) {
        for (int64_t g = 0; g < gpr; ++g) {
            const int64_t c0 = g * block;
            const int64_t n = std::min(block, w.cols - c0);
            const float* x = w.row(r) + c0;
            float* out = q.dequant.row(r) + c0;
            const float absmax = q.clip[size_t(r * gpr + g)];
            if (!(absmax > 0.0f)) {
                for (int64_t i = 0; i < n; ++i) out[i] = isFiniteBits(x[i]) ? 0.0f : x[i];
                continue;
            }
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] / absmax;
                float level = levels[0];
#pragma GCC unroll 15
                for (int k = 0; k < 15; ++k) level = v > mids[k] ? levels[k + 1] : level;
                out[i] = isFiniteBits(x[i]) ? level * absmax : x[i];
            }
        }
    }
}

} // namespace

core::Result<Quantized> quantizeNf4(const Matrix& w, const Scheme& scheme,
                                    core::Progress* progress, Quantized* reuse)
{
    const int64_t block = scheme.groupSize > 0 ? scheme.groupSize : 64;
    const int64_t gpr = (w.cols + block - 1) / block;
    Quantized q = emptyLike(w, gpr, reuse);
    const uint64_t total = 2 * uint64_t(w.rows);
    auto st = forChunks(w.rows, rowChunk(w.cols), progress, 0, total, "nf4 quantize",
                        [&](int64_t r0, int64_t r1, unsigned) {
        for (int64_t r = r0; r < r1; ++r) {
            for (int64_t g = 0; g < gpr; ++g) {
                const int64_t c0 = g * block;
                q.clip[size_t(r * gpr + g)] =
                    finiteAbsMax(w.row(r) + c0, std::min(block, w.cols - c0));
            }
        }
    });
    if (!st) return st.error();
    if (scheme.doubleQuant) doubleQuantize(q.clip, q.scales);
    st = forChunks(w.rows, rowChunk(w.cols), progress, uint64_t(w.rows), total, "nf4 quantize",
                   [&](int64_t r0, int64_t r1, unsigned) { nf4Rows(w, q, r0, r1, block); });
    if (!st) return st.error();
    finish(q, scheme, w);
    return q;
}

} // namespace qs::quant
