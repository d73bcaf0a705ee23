// The 256-value ggml super-blocks Q4_K, Q5_K and Q6_K. Each function follows the arithmetic of
// ggml's quantize_row_q*_K_ref and its helpers make_qkx2_quants / make_qx_quants step by step:
// the same float operations in the same order, accumulated sequentially, because the searches
// compare errors that differ in the last bits and byte identity is the goal.
#include "ggml_quant.h"
#include "ggml_quant_blocks.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/dtype.h"

namespace qs::quant::ggml {

namespace {

constexpr int kSub = 32;                       ///< Q4_K/Q5_K sub-block
constexpr int kSubBlocks = kSuperBlock / kSub; ///< 8
constexpr float kGroupMaxEps = 1e-15f;         ///< ggml's GROUP_MAX_EPS

// V8 values cross only internal (inlined) functions, so the vector-ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

/// Eight float lanes (GCC vector extension): elementwise IEEE operations, exactly the scalar
/// ones lane by lane (no contraction: the engine builds with -ffp-contract=off).
using V8 = float __attribute__((vector_size(32)));
using V8i = int32_t __attribute__((vector_size(32)));

/// nearestInt (ggml's nearest_int) on every lane.
[[gnu::always_inline]] inline V8 nearestLanes(V8 v)
{
    const V8 shifted = v + 12582912.f;
    V8i bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    return __builtin_convertvector((bits & 0x007fffff) - 0x00400000, V8);
}

/// std::clamp(nearestInt(v), 0, top) on every lane, clamped in the integer domain (one max and
/// one min per vector) and then converted: the same values as clamping the converted floats.
[[gnu::always_inline]] inline V8 nearestClampedLanes(V8 v, V8i top)
{
    const V8 shifted = v + 12582912.f;
    V8i bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    V8i l = (bits & 0x007fffff) - 0x00400000;
    const V8i zero{};
    l = l < zero ? zero : l;
    l = l > top ? top : l;
    return __builtin_convertvector(l, V8);
}

/// True when any lane of a comparison mask is set.
[[gnu::always_inline]] inline bool anyLane(V8i mask)
{
    int any = 0;
    for (int j = 0; j < 8; ++j) any |= mask[j];
    return any != 0;
}

/// std::clamp(v, lo, hi) on every lane.
[[gnu::always_inline]] inline V8 clampLanes(V8 v, V8 lo, V8 hi)
{
    return v < lo ? lo : (hi < v ? hi : v);
}

[[gnu::always_inline]] inline V8 absLanes(V8 v)
{
    V8i bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= 0x7fffffff;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

/// make_qkx2_quants with use_mad = false, for the eight 32-value sub-blocks of a super-block
/// at once: lane j is sub-block j, and every lane performs exactly ggml's sequence for its
/// sub-block (weights sqrt(mean x^2) + |x|; x ~ scale * L + min with min <= 0; the initial
/// codes at iscale = nmax / (max - min), then nstep + 1 trial inverse scales
/// (rmin + rdelta * is + nmax) / (max - min) with the current min, each trial's codes given
/// their weighted least-squares scale and min, the strictly lowest weighted squared error
/// winning). Sums run in index order per lane, as ggml accumulates them; lanes only run
/// independent sub-blocks side by side. Writes codes (in x's order), scales and -min.
[[gnu::always_inline]] inline void fitSubBlocks(const float* x, int nmax, float rmin, float rdelta,
                                                int nstep, uint8_t* codes, float* scales, float* negMins)
{
    V8 xt[kSub], wt[kSub]; // xt[i][j] = x[32 j + i]
    for (int i = 0; i < kSub; ++i)
        for (int j = 0; j < kSubBlocks; ++j) xt[i][j] = x[kSub * j + i];
    V8 sumX2{};
    for (int i = 0; i < kSub; ++i) sumX2 += xt[i] * xt[i];
    V8 avX;
    for (int j = 0; j < kSubBlocks; ++j) avX[j] = std::sqrt(sumX2[j] / kSub);
    for (int i = 0; i < kSub; ++i) wt[i] = avX + absLanes(xt[i]);

    V8 mn = xt[0], mx = xt[0], sumW = wt[0];
    V8 sumX = sumW * xt[0];
    for (int i = 1; i < kSub; ++i) {
        mn = xt[i] < mn ? xt[i] : mn;
        mx = xt[i] > mx ? xt[i] : mx;
        sumW += wt[i];
        sumX += wt[i] * xt[i];
    }
    const V8 zero{};
    mn = mn > zero ? zero : mn;
    const V8i active = mx != mn; // a constant sub-block gets codes 0, scale 0
    const V8 top = zero + static_cast<float>(nmax);
    const V8i topInt = V8i{} + nmax;

    const V8 iscale0 = top / (mx - mn);
    V8 scale = 1 / iscale0;
    V8 best[kSub];
    V8 bestError{};
    for (int i = 0; i < kSub; ++i) {
        best[i] = clampLanes(nearestLanes(iscale0 * (xt[i] - mn)), zero, top);
        const V8 diff = scale * best[i] + mn - xt[i];
        bestError += wt[i] * (diff * diff);
    }
    V8 trial[kSub];
    V8 xm[kSub]; // x - min for the current min of each lane
    for (int i = 0; i < kSub; ++i) xm[i] = xt[i] - mn;
    for (int is = 0; is <= nstep; ++is) {
        const V8 iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (mx - mn);
        V8 sumL{}, sumL2{}, sumXL{};
        for (int i = 0; i < kSub; ++i) {
            const V8 l = nearestClampedLanes(iscale * xm[i], topInt);
            trial[i] = l;
            sumL += wt[i] * l;
            sumL2 += wt[i] * l * l;
            sumXL += wt[i] * l * xt[i];
        }
        const V8 det = sumW * sumL2 - sumL * sumL;
        V8 thisScale = (sumW * sumXL - sumX * sumL) / det;
        V8 thisMin = (sumL2 * sumX - sumL * sumXL) / det;
        const V8i positive = thisMin > zero;
        thisScale = positive ? sumXL / sumL2 : thisScale;
        thisMin = positive ? zero : thisMin;
        V8 err{};
        for (int i = 0; i < kSub; ++i) {
            const V8 diff = thisScale * trial[i] + thisMin - xt[i];
            err += wt[i] * (diff * diff);
        }
        const V8i win = active & (det > zero) & (err < bestError);
        if (!anyLane(win)) continue; // most trials after the first few: nothing to update
        bestError = win ? err : bestError;
        scale = win ? thisScale : scale;
        mn = win ? thisMin : mn;
        for (int i = 0; i < kSub; ++i) {
            best[i] = win ? trial[i] : best[i];
            xm[i] = xt[i] - mn;
        }
    }
    for (int j = 0; j < kSubBlocks; ++j) {
        scales[j] = active[j] ? scale[j] : 0.f;
        negMins[j] = -mn[j];
        for (int i = 0; i < kSub; ++i) codes[kSub * j + i] = active[j] ? static_cast<uint8_t>(best[i][j]) : 0;
    }
}

/// Q4_K/Q5_K: per 32-value sub-block a (scale, min) fit with weights sqrt(mean x^2) + |x|,
/// then both quantized to 6 bits against the largest of each (d = maxScale / 63, dmin =
/// maxMin / 63, stored as halves), then every code recomputed against the stored scales.
struct KScales {
    uint16_t d = 0, dmin = 0;
    std::array<uint8_t, 12> packed{};
};

[[gnu::target_clones("avx512f", "avx2", "default")]] KScales fitSuperBlock(const float* x, int nmax, float rmin, int nstep, uint8_t* codes)
{
    float scales[kSubBlocks];
    float mins[kSubBlocks];
    fitSubBlocks(x, nmax, rmin, 0.1f, nstep, codes, scales, mins);
    float maxScale = 0;
    float maxMin = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        if (scales[j] > maxScale) maxScale = scales[j];
        if (mins[j] > maxMin) maxMin = mins[j];
    }
    const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    KScales k;
    // 6-bit scale/min j < 4: bytes j and j + 4. j >= 4: low nibbles in byte j + 4, the top
    // two bits in bits 6-7 of bytes j - 4 (scale) and j (min).
    for (int j = 0; j < kSubBlocks; ++j) {
        const uint8_t ls = std::min<uint8_t>(63, low8(nearestInt(invScale * scales[j])));
        const uint8_t lm = std::min<uint8_t>(63, low8(nearestInt(invMin * mins[j])));
        if (j < 4) {
            k.packed[j] = ls;
            k.packed[j + 4] = lm;
        } else {
            k.packed[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
            k.packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
            k.packed[j] |= static_cast<uint8_t>((lm >> 4) << 6);
        }
    }
    k.d = f32ToF16RoundNearestEven(maxScale / 63.f);
    k.dmin = f32ToF16RoundNearestEven(maxMin / 63.f);
    return k;
}

void unpackScaleMin(const std::array<uint8_t, 12>& q, int j, uint8_t& sc, uint8_t& m)
{
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/// Recomputes the codes of every sub-block with a nonzero stored scale; sub-blocks whose
/// 6-bit scale is 0 keep the codes of their fit, as in ggml.
void requantize(const float* x, const KScales& k, int nmax, uint8_t* codes)
{
    const float d = core::f16ToF32(k.d);
    const float dmin = core::f16ToF32(k.dmin);
    for (int j = 0; j < kSubBlocks; ++j) {
        uint8_t sc = 0;
        uint8_t m = 0;
        unpackScaleMin(k.packed, j, sc, m);
        const float dj = d * static_cast<float>(sc);
        if (dj == 0.f) continue;
        const float dm = dmin * static_cast<float>(m);
        for (int i = 0; i < kSub; ++i) {
            const int l = nearestInt((x[kSub * j + i] + dm) / dj);
            codes[kSub * j + i] = static_cast<uint8_t>(std::clamp(l, 0, nmax));
        }
    }
}

void storeKHeader(const KScales& k, std::byte* out)
{
    storeU16(out, k.d);
    storeU16(out + 2, k.dmin);
    std::memcpy(out + 4, k.packed.data(), k.packed.size());
}

} // namespace

[[gnu::target_clones("avx512f", "avx2", "default")]] void quantizeQ4K(const float* x, std::byte* out)
{
    uint8_t codes[kSuperBlock];
    const KScales k = fitSuperBlock(x, 15, -1.f, 20, codes);
    requantize(x, k, 15, codes);
    storeKHeader(k, out);
    // qs: each 64 values share 32 bytes, the first 32 in the low nibbles.
    std::byte* q = out + 16;
    for (int j = 0; j < kSuperBlock; j += 64, q += 32) {
        for (int l = 0; l < 32; ++l)
            q[l] = static_cast<std::byte>(codes[j + l] | (codes[j + l + 32] << 4));
    }
}

[[gnu::target_clones("avx512f", "avx2", "default")]] void quantizeQ5K(const float* x, std::byte* out)
{
    uint8_t codes[kSuperBlock];
    const KScales k = fitSuperBlock(x, 31, -0.5f, 15, codes);
    requantize(x, k, 31, codes);
    storeKHeader(k, out);
    // qh[32] then qs[128]: value n + j (n a multiple of 64) puts its low nibble in qs and its
    // fifth bit in bit 2 * (n / 64) of qh[j]; value n + j + 32 likewise with the next bit.
    std::byte* qh = out + 16;
    std::byte* ql = out + 48;
    uint8_t high[32] = {};
    int shift = 0;
    for (int n = 0; n < kSuperBlock; n += 64, shift += 2, ql += 32) {
        for (int j = 0; j < 32; ++j) {
            const uint8_t a = codes[n + j];
            const uint8_t b = codes[n + j + 32];
            high[j] |= static_cast<uint8_t>(((a >> 4) & 1) << shift);
            high[j] |= static_cast<uint8_t>(((b >> 4) & 1) << (shift + 1));
            ql[j] = static_cast<std::byte>((a & 0xF) | ((b & 0xF) << 4));
        }
    }
    std::memcpy(qh, high, sizeof high);
}

namespace {

constexpr int kQ6Sub = 16;                          ///< Q6_K sub-block
constexpr int kQ6SubBlocks = kSuperBlock / kQ6Sub;  ///< 16

constexpr int kQ6Vectors = 3;              ///< k = -9..9 without 0 (18) and k = 0: 19 lanes
constexpr int kQ6Trials = 8 * kQ6Vectors; ///< padded to whole vectors (padding never chosen)

/// For every lane t: signed codes clamp(nearest(iscale[t] * x), -nmax, nmax - 1) and the sums
/// sum(w x l), sum(w l^2) with w = x^2, each lane accumulated in index order as ggml does.
[[gnu::always_inline]] inline void signedSums(const float* x, int nmax, const V8* iscale, V8* sumLx, V8* sumL2)
{
    const V8 lo = V8{} + static_cast<float>(-nmax);
    const V8 hi = V8{} + static_cast<float>(nmax - 1);
    for (int i = 0; i < kQ6Sub; ++i) {
        const float w = x[i] * x[i];
        for (int v = 0; v < kQ6Vectors; ++v) {
            const V8 fl = clampLanes(nearestLanes(iscale[v] * x[i]), lo, hi);
            sumLx[v] += w * x[i] * fl;
            sumL2[v] += w * fl * fl;
        }
    }
}

void signedCodes(const float* x, int nmax, float iscale, int8_t* codes)
{
    for (int i = 0; i < kQ6Sub; ++i) {
        const int l = std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1);
        codes[i] = static_cast<int8_t>(l + nmax);
    }
}

/// make_qx_quants with rmse_type 1 (weights x^2): tries the inverse scales
/// -(nmax + 0.1 k) / max for k = 0, -9..9 and keeps the one whose least-squares scale
/// explains the most weighted energy (sumLx^2 / sumL2), the first of equals in that order.
/// The trials do not depend on each other, so their sums run side by side. Codes are offset
/// by nmax.
[[gnu::target_clones("avx512f", "avx2", "default")]] float fitSignedScale(const float* x, int nmax, int8_t* codes)
{
    float max = 0;
    float amax = 0;
    for (int i = 0; i < kQ6Sub; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        std::fill(codes, codes + kQ6Sub, int8_t{0});
        return 0.f;
    }
    const auto fnmax = static_cast<float>(nmax);
    // Lane 0: k = 0; lanes 1..18: k = -9..-1, 1..9; lanes 19..: padding (never selected).
    V8 iscale[kQ6Vectors] = {};
    iscale[0][0] = -fnmax / max;
    for (int lane = 1, k = -9; k <= 9; ++k) {
        if (k != 0) {
            iscale[lane / 8][lane % 8] = -(fnmax + 0.1f * static_cast<float>(k)) / max;
            ++lane;
        }
    }
    V8 sumLx[kQ6Vectors] = {};
    V8 sumL2[kQ6Vectors] = {};
    signedSums(x, nmax, iscale, sumLx, sumL2);
    const auto lane = [](const V8* v, int t) { return v[t / 8][t % 8]; };
    float scale = lane(sumL2, 0) != 0.f ? lane(sumLx, 0) / lane(sumL2, 0) : 0.0f;
    float best = scale * lane(sumLx, 0);
    int chosen = 0;
    for (int t = 1; t <= 18; ++t) {
        const float lx = lane(sumLx, t), l2 = lane(sumL2, t);
        if (l2 > 0 && lx * lx > best * l2) {
            chosen = t;
            scale = lx / l2;
            best = scale * lx;
        }
    }
    signedCodes(x, nmax, lane(iscale, chosen), codes);
    return scale;
}

/// ql[128]: values n + l and n + l + 64 (n in {0, 128}) share the low/high nibble of one byte,
/// as do n + l + 32 and n + l + 96 in the byte 32 further on; qh[64]: the top two bits of the
/// four values n + l, +32, +64, +96 in bit pairs 0, 2, 4, 6 of qh[n / 4 + l].
void packQ6(const int8_t* codes, std::byte* out)
{
    std::byte* ql = out;
    std::byte* qh = out + 128;
    for (int n = 0; n < kSuperBlock; n += 128, ql += 64, qh += 32) {
        for (int l = 0; l < 32; ++l) {
            const auto c = [&](int k) { return static_cast<uint8_t>(codes[n + l + 32 * k]); };
            ql[l] = static_cast<std::byte>((c(0) & 0xF) | ((c(2) & 0xF) << 4));
            ql[l + 32] = static_cast<std::byte>((c(1) & 0xF) | ((c(3) & 0xF) << 4));
            qh[l] = static_cast<std::byte>((c(0) >> 4) | ((c(1) >> 4) << 2) | ((c(2) >> 4) << 4) |
                                           ((c(3) >> 4) << 6));
        }
    }
}

} // namespace

void quantizeQ6K(const float* x, std::byte* out)
{
    int8_t codes[kSuperBlock];
    float scales[kQ6SubBlocks];
    float maxScale = 0;
    float maxAbsScale = 0;
    for (int ib = 0; ib < kQ6SubBlocks; ++ib) {
        scales[ib] = fitSignedScale(x + kQ6Sub * ib, 32, codes + kQ6Sub * ib);
        if (std::fabs(scales[ib]) > maxAbsScale) {
            maxAbsScale = std::fabs(scales[ib]);
            maxScale = scales[ib];
        }
    }
    if (maxAbsScale < kGroupMaxEps) {
        std::memset(out, 0, 210);
        return;
    }
    // The sub-block of largest |scale| maps to -128; the others to nearest(iscale * s).
    const float iscale = -128.f / maxScale;
    const uint16_t dBits = f32ToF16RoundNearestEven(1 / iscale);
    int8_t qscales[kQ6SubBlocks];
    for (int ib = 0; ib < kQ6SubBlocks; ++ib)
        qscales[ib] = static_cast<int8_t>(low8(std::min(127, nearestInt(iscale * scales[ib]))));
    const float d = core::f16ToF32(dBits);
    for (int j = 0; j < kQ6SubBlocks; ++j) {
        const float dj = d * static_cast<float>(qscales[j]);
        if (dj == 0.f) continue;
        for (int i = 0; i < kQ6Sub; ++i) {
            const int l = std::clamp(nearestInt(x[kQ6Sub * j + i] / dj), -32, 31);
            codes[kQ6Sub * j + i] = static_cast<int8_t>(l + 32);
        }
    }
    packQ6(codes, out);
    std::memcpy(out + 192, qscales, sizeof qscales);
    storeU16(out + 208, dBits);
}

} // namespace qs::quant::ggml
