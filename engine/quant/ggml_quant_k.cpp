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

/// x rounded to the nearest integer (ties to even) in the float domain: (v + 1.5 * 2^23) - 1.5 * 2^23
/// leaves exactly nearestInt(v) for |v| < 2^22, in two operations instead of ggml's bit trick.
[[gnu::always_inline]] inline V8 roundedLanes(V8 v)
{
    return (v + 12582912.f) - 12582912.f;
}

[[gnu::always_inline]] inline V8i bitsOf(V8 v)
{
    V8i bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits;
}

/// std::clamp(v, 0.f, top) on every lane of an integer-valued v (no NaN) as two integer
/// operations on the bits: non-negative floats order like their bit patterns, and every
/// negative float (-0 included) has a negative pattern, so max(bits, 0) gives +0 for it.
/// Without Top only the max (for v known to be at most top).
template <bool Top>
[[gnu::always_inline]] inline V8 clampedBits(V8 v, V8i topBits)
{
    V8i bits = bitsOf(v);
    const V8i zero{};
    bits = bits < zero ? zero : bits;
    if constexpr (Top) bits = bits > topBits ? topBits : bits;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

/// The largest |v| for which roundedLanes equals nearestLanes (the bit trick wraps beyond it).
constexpr float kRoundSafe = 4194304.f; // 2^22

/// r[i][j] = x[32 j + 8 b + i] for i, j < 8: one 8 x 8 tile of the sub-block matrix, transposed
/// in three butterfly stages of two-register shuffles (stage d swaps the off-diagonal d x d
/// tiles of every 2d x 2d tile).
[[gnu::always_inline]] inline void loadTransposedTile(const float* x, V8* r)
{
    for (int j = 0; j < 8; ++j) std::memcpy(&r[j], x + kSub * j, sizeof(V8));
    for (int k = 0; k < 8; k += 2) {
        const V8 a = r[k], b = r[k + 1];
        r[k] = __builtin_shufflevector(a, b, 0, 8, 2, 10, 4, 12, 6, 14);
        r[k + 1] = __builtin_shufflevector(a, b, 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int k = 0; k < 8; ++k) {
        if (k & 2) continue;
        const V8 a = r[k], b = r[k + 2];
        r[k] = __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13);
        r[k + 2] = __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int k = 0; k < 4; ++k) {
        const V8 a = r[k], b = r[k + 4];
        r[k] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11);
        r[k + 4] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/// The fit of the eight 32-value sub-blocks of a Q4_K/Q5_K super-block, lane j for sub-block j.
struct SubBlockFits {
    V8 iscale;      ///< the winning codes are clamp(nearest(iscale (x - codeMin)), 0, nmax)
    V8 codeMin;     ///< the min those codes were made with (the one before the winning trial)
    V8 scale;       ///< 0 for a constant sub-block
    V8 negMin;
    V8i active;     ///< not a constant sub-block (constant ones get codes 0, scale 0)
};

/// How a trial rounds and clamps its codes.
enum class TrialRounding {
    Exact,     ///< ggml's integer trick: right for every finite product
    Float,     ///< float domain: only when every product of an active lane is below 2^22
    FloatLow,  ///< Float, and no product of an active lane rounds above nmax: clamp at 0 only
};

/// One trial's codes l = clamp(nearest(iscale (x - min)), 0, nmax) and the sums sum(w l),
/// sum(w l^2), sum(w l x), each in index order, rounded as R says.
template <TrialRounding R>
[[gnu::always_inline]] inline void trialSums(const V8* xt, const V8* wt, const V8* xm, V8 iscale, int nmax,
                                             V8* trial, V8& sumL, V8& sumL2, V8& sumXL)
{
    const V8i topBits = bitsOf(V8{} + static_cast<float>(nmax));
    V8 sl{}, sl2{}, sxl{};
    for (int i = 0; i < kSub; ++i) {
        V8 l;
        if constexpr (R == TrialRounding::Exact) l = nearestClampedLanes(iscale * xm[i], V8i{} + nmax);
        else l = clampedBits<R == TrialRounding::Float>(roundedLanes(iscale * xm[i]), topBits);
        trial[i] = l;
        const V8 wl = wt[i] * l;
        sl += wl;
        sl2 += wl * l;
        sxl += wl * xt[i];
    }
    sumL = sl, sumL2 = sl2, sumXL = sxl;
}

/// sum(w (scale l + min - x)^2) in index order.
[[gnu::always_inline]] inline V8 weightedError(const V8* xt, const V8* wt, const V8* l, V8 scale, V8 min)
{
    V8 err{};
    for (int i = 0; i < kSub; ++i) {
        const V8 diff = scale * l[i] + min - xt[i];
        err += wt[i] * (diff * diff);
    }
    return err;
}

/// The largest |x - min| of a lane whose values lie in [lo, hi]: (x - min) rounds monotonically.
[[gnu::always_inline]] inline V8 spanLanes(V8 lo, V8 hi, V8 min)
{
    const V8 a = absLanes(hi - min), b = absLanes(lo - min);
    return a < b ? b : a;
}

/// make_qkx2_quants with use_mad = false, for the eight 32-value sub-blocks of a super-block
/// at once: lane j is sub-block j, and every lane performs exactly ggml's sequence for its
/// sub-block (weights sqrt(mean x^2) + |x|; x ~ scale * L + min with min <= 0; the initial
/// codes at iscale = nmax / (max - min), then nstep + 1 trial inverse scales
/// (rmin + rdelta * is + nmax) / (max - min) with the current min, each trial's codes given
/// their weighted least-squares scale and min, the strictly lowest weighted squared error
/// winning). Sums run in index order per lane, as ggml accumulates them; lanes only run
/// independent sub-blocks side by side.
[[gnu::always_inline]] inline void fitSubBlocks(const float* x, int nmax, float rmin, float rdelta, int nstep,
                                                SubBlockFits& fit)
{
    V8 xt[kSub], wt[kSub]; // xt[i][j] = x[32 j + i]
    for (int b = 0; b < kSub / 8; ++b) loadTransposedTile(x + 8 * b, xt + 8 * b);
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
    const V8 lo = mn; // the smallest value, before min is capped at 0
    const V8 zero{};
    mn = mn > zero ? zero : mn;
    fit.active = mx != mn;
    const V8 top = zero + static_cast<float>(nmax);

    const V8 iscale0 = top / (mx - mn);
    V8 scale = 1 / iscale0;
    V8 bestError{};
    V8 xm[kSub]; // x - min for the current min of each lane
    V8 span = spanLanes(lo, mx, mn);
    // Products up to about nmax, unless nmax / (max - min) overflowed (subnormal ranges).
    const bool exact0 = anyLane(fit.active & ~(iscale0 * span < kRoundSafe));
    for (int i = 0; i < kSub; ++i) {
        xm[i] = xt[i] - mn;
        const V8 v = iscale0 * xm[i];
        const V8 l = clampLanes(exact0 ? nearestLanes(v) : roundedLanes(v), zero, top);
        const V8 diff = scale * l + mn - xt[i];
        bestError += wt[i] * (diff * diff);
    }
    fit.iscale = iscale0;
    fit.codeMin = mn;
    V8 trial[kSub];
    for (int is = 0; is <= nstep; ++is) {
        const V8 iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (mx - mn);
        V8 sumL, sumL2, sumXL;
        // |iscale| span bounds every |iscale (x - min)|; with iscale > 0, iscale (max - min)
        // bounds every product from above, and below nmax + 0.5 none rounds above nmax.
        const V8i safe = absLanes(iscale) * span < kRoundSafe;
        const V8i belowTop = (iscale > zero) & (iscale * (mx - mn) < top + 0.5f);
        if (anyLane(fit.active & ~safe))
            trialSums<TrialRounding::Exact>(xt, wt, xm, iscale, nmax, trial, sumL, sumL2, sumXL);
        else if (anyLane(fit.active & ~belowTop))
            trialSums<TrialRounding::Float>(xt, wt, xm, iscale, nmax, trial, sumL, sumL2, sumXL);
        else trialSums<TrialRounding::FloatLow>(xt, wt, xm, iscale, nmax, trial, sumL, sumL2, sumXL);
        const V8 det = sumW * sumL2 - sumL * sumL;
        V8 thisScale = (sumW * sumXL - sumX * sumL) / det;
        V8 thisMin = (sumL2 * sumX - sumL * sumXL) / det;
        const V8i positive = thisMin > zero;
        thisScale = positive ? sumXL / sumL2 : thisScale;
        thisMin = positive ? zero : thisMin;
        const V8 err = weightedError(xt, wt, trial, thisScale, thisMin);
        const V8i win = fit.active & (det > zero) & (err < bestError);
        if (!anyLane(win)) continue; // about half the trials: no lane improves
        bestError = win ? err : bestError;
        scale = win ? thisScale : scale;
        const V8 codeMin = mn;
        mn = win ? thisMin : mn;
        fit.iscale = win ? iscale : fit.iscale;
        fit.codeMin = win ? codeMin : fit.codeMin;
        for (int i = 0; i < kSub; ++i) xm[i] = xt[i] - mn;
        span = spanLanes(lo, mx, mn);
    }
    fit.scale = fit.active ? scale : zero;
    fit.negMin = -mn;
}

/// Q4_K/Q5_K: per 32-value sub-block a (scale, min) fit with weights sqrt(mean x^2) + |x|,
/// then both quantized to 6 bits against the largest of each (d = maxScale / 63, dmin =
/// maxMin / 63, stored as halves), then every code recomputed against the stored scales.
struct KScales {
    uint16_t d = 0, dmin = 0;
    std::array<uint8_t, 12> packed{};
};

KScales quantizeScales(const SubBlockFits& fit)
{
    float maxScale = 0;
    float maxMin = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        if (fit.scale[j] > maxScale) maxScale = fit.scale[j];
        if (fit.negMin[j] > maxMin) maxMin = fit.negMin[j];
    }
    const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    KScales k;
    // 6-bit scale/min j < 4: bytes j and j + 4. j >= 4: low nibbles in byte j + 4, the top
    // two bits in bits 6-7 of bytes j - 4 (scale) and j (min).
    for (int j = 0; j < kSubBlocks; ++j) {
        const uint8_t ls = std::min<uint8_t>(63, low8(nearestInt(invScale * fit.scale[j])));
        const uint8_t lm = std::min<uint8_t>(63, low8(nearestInt(invMin * fit.negMin[j])));
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

/// The codes of every sub-block against its stored scale and min, nearest((x + dm) / dj) clamped
/// to [0, nmax] eight values at a time (IEEE division lane by lane is the scalar one); sub-blocks
/// whose 6-bit scale is 0 keep the codes of their fit, as in ggml.
[[gnu::always_inline]] inline void requantize(const float* x, const SubBlockFits& fit, const KScales& k, int nmax,
                                              uint8_t* codes)
{
    const float d = core::f16ToF32(k.d);
    const float dmin = core::f16ToF32(k.dmin);
    using V8c = uint8_t __attribute__((vector_size(8)));
    for (int j = 0; j < kSubBlocks; ++j) {
        uint8_t sc = 0;
        uint8_t m = 0;
        unpackScaleMin(k.packed, j, sc, m);
        const float dj = d * static_cast<float>(sc);
        uint8_t* out = codes + kSub * j;
        if (dj == 0.f) {
            // Recomputed from the winning trial's inverse scale and min, with the integer
            // rounding (the same codes the fit found, whichever rounding it used).
            for (int i = 0; i < kSub; ++i) {
                const int l = nearestInt(fit.iscale[j] * (x[kSub * j + i] - fit.codeMin[j]));
                out[i] = fit.active[j] ? static_cast<uint8_t>(std::clamp(l, 0, nmax)) : 0;
            }
            continue;
        }
        const float dm = dmin * static_cast<float>(m);
        for (int i = 0; i < kSub; i += 8) {
            V8 v;
            std::memcpy(&v, x + kSub * j + i, sizeof v);
            // Exact for any quotient (ggml's wrap-around included): the integer-domain rounding.
            const V8i l = __builtin_convertvector(nearestClampedLanes((v + dm) / dj, V8i{} + nmax), V8i);
            const V8c c = __builtin_convertvector(l, V8c);
            std::memcpy(out + i, &c, sizeof c);
        }
    }
}

[[gnu::always_inline]] inline KScales fitSuperBlock(const float* x, int nmax, float rmin, int nstep, uint8_t* codes)
{
    SubBlockFits fit;
    fitSubBlocks(x, nmax, rmin, 0.1f, nstep, fit);
    const KScales k = quantizeScales(fit);
    requantize(x, fit, k, nmax, codes);
    return k;
}

void storeKHeader(const KScales& k, std::byte* out)
{
    storeU16(out, k.d);
    storeU16(out + 2, k.dmin);
    std::memcpy(out + 4, k.packed.data(), k.packed.size());
}

} // namespace

[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void quantizeQ4K(const float* x, std::byte* out)
{
    uint8_t codes[kSuperBlock];
    const KScales k = fitSuperBlock(x, 15, -1.f, 20, codes);
    storeKHeader(k, out);
    // qs: each 64 values share 32 bytes, the first 32 in the low nibbles.
    std::byte* q = out + 16;
    for (int j = 0; j < kSuperBlock; j += 64, q += 32) {
        for (int l = 0; l < 32; ++l)
            q[l] = static_cast<std::byte>(codes[j + l] | (codes[j + l + 32] << 4));
    }
}

[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void quantizeQ5K(const float* x, std::byte* out)
{
    uint8_t codes[kSuperBlock];
    const KScales k = fitSuperBlock(x, 31, -0.5f, 15, codes);
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

/// Sixteen float lanes: lane j is sub-block j of a Q6_K super-block.
using V16 = float __attribute__((vector_size(64)));
using V16i = int32_t __attribute__((vector_size(64)));

[[gnu::always_inline]] inline V16 nearestLanes16(V16 v)
{
    const V16 shifted = v + 12582912.f;
    V16i bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    return __builtin_convertvector((bits & 0x007fffff) - 0x00400000, V16);
}

[[gnu::always_inline]] inline V16 absLanes16(V16 v)
{
    V16i bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= 0x7fffffff;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

/// For T trials at once: codes clamp(nearest(iscale x), -nmax, nmax - 1) of every value and
/// the sums sum(w x l) and sum(w l^2), w = x^2, each accumulated in index order. Only lanes
/// with max >= GROUP_MAX_EPS matter (the others get scale 0), so |iscale x| <= nmax + 1 there.
template <int T>
[[gnu::always_inline]] inline void q6TrialSums(const V16* xt, const V16* w, const V16* wx, int nmax, const V16* iscale,
                                               V16* sumLx, V16* sumL2)
{
    const auto fnmax = static_cast<float>(nmax);
    const float offset = 12582912.f - fnmax; // exact: both are integers below 2^24
    V16i topBits;
    const V16 top = V16{} + (2 * fnmax - 1);
    std::memcpy(&topBits, &top, sizeof topBits);
    V16 lx[T] = {}, l2[T] = {};
    for (int i = 0; i < kQ6Sub; ++i) {
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
            // nearest(v) + nmax as (v + 1.5 * 2^23) - (1.5 * 2^23 - nmax): exact integers, as
            // |v| <= about nmax + 1 (|x| <= max); clamped to [0, 2 nmax - 1] on the bits
            // (non-negative floats order like their patterns, negative ones have negative
            // patterns), then shifted back: clamp(nearest(v), -nmax, nmax - 1).
            V16 u = (iscale[t] * xt[i] + 12582912.f) - offset;
            V16i bits;
            std::memcpy(&bits, &u, sizeof bits);
            bits = bits < V16i{} ? V16i{} : bits;
            bits = bits > topBits ? topBits : bits;
            std::memcpy(&u, &bits, sizeof u);
            const V16 l = u - fnmax;
            lx[t] += wx[i] * l;
            l2[t] += w[i] * l * l;
        }
    }
    for (int t = 0; t < T; ++t) {
        sumLx[t] = lx[t];
        sumL2[t] = l2[t];
    }
}

/// r[i][j] = x[16 j + i]: the 16 x 16 transpose of a super-block (rows are sub-blocks), in
/// four butterfly stages of two-register shuffles (stage d swaps the off-diagonal d x d
/// tiles of every 2d x 2d tile).
[[gnu::always_inline]] inline void transposeQ6(const float* x, V16* r)
{
    for (int j = 0; j < 16; ++j) std::memcpy(&r[j], x + 16 * j, sizeof(V16));
    for (int k = 0; k < 16; ++k) {
        if (k & 1) continue;
        const V16 a = r[k], b = r[k + 1];
        r[k] = __builtin_shufflevector(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
        r[k + 1] = __builtin_shufflevector(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    }
    for (int k = 0; k < 16; ++k) {
        if (k & 2) continue;
        const V16 a = r[k], b = r[k + 2];
        r[k] = __builtin_shufflevector(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        r[k + 2] = __builtin_shufflevector(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    }
    for (int k = 0; k < 16; ++k) {
        if (k & 4) continue;
        const V16 a = r[k], b = r[k + 4];
        r[k] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        r[k + 4] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    }
    for (int k = 0; k < 16; ++k) {
        if (k & 8) continue;
        const V16 a = r[k], b = r[k + 8];
        r[k] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        r[k + 8] = __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    }
}

/// The fit of every sub-block: its scale and the inverse scale its codes were made with.
struct Q6Fit {
    V16 scale;
    V16 iscale;
    V16i tiny; ///< amax < GROUP_MAX_EPS: codes 0, scale 0
};

/// make_qx_quants with rmse_type 1 (weights x^2) for the sixteen sub-blocks at once, lane j
/// performing exactly ggml's sequence for sub-block j: max = the first value of largest |x|;
/// the trial inverse scales -nmax / max, then -(nmax + 0.1 k) / max for k = -9..9 without 0,
/// each giving codes clamp(nearest(iscale x), -nmax, nmax - 1) and the sums sum(w x l),
/// sum(w l^2) accumulated in index order; a later trial wins when sumLx^2 > best sumL2 (strictly),
/// best being scale * sumLx with scale = sumLx / sumL2.
[[gnu::always_inline]] inline Q6Fit fitQ6(const float* x, int nmax)
{
    V16 xt[kQ6Sub]; // xt[i][j] = x[16 j + i]
    transposeQ6(x, xt);
    V16 amax{}, max{};
    for (int i = 0; i < kQ6Sub; ++i) {
        const V16 ax = absLanes16(xt[i]);
        const V16i larger = ax > amax;
        amax = larger ? ax : amax;
        max = larger ? xt[i] : max;
    }
    V16 w[kQ6Sub], wx[kQ6Sub];
    for (int i = 0; i < kQ6Sub; ++i) {
        w[i] = xt[i] * xt[i];
        wx[i] = w[i] * xt[i];
    }
    const auto fnmax = static_cast<float>(nmax);
    // The trials' sums do not depend on each other: they are computed first, four trials per
    // sweep so the additions of different trials overlap (each trial's own additions stay in
    // index order); then the trials are judged in ggml's order.
    constexpr int kTrials = 19;
    V16 iscale[kTrials], sumLx[kTrials], sumL2[kTrials];
    for (int t = 0; t < kTrials; ++t) {
        const int k = t == 0 ? 0 : (t <= 9 ? t - 10 : t - 9); // 0, -9..-1, 1..9
        iscale[t] = t == 0 ? (V16{} - fnmax) / max : (V16{} - (fnmax + 0.1f * static_cast<float>(k))) / max;
    }
    for (int t0 = 0; t0 < kTrials; t0 += 4) {
        if (t0 + 4 <= kTrials) q6TrialSums<4>(xt, w, wx, nmax, iscale + t0, sumLx + t0, sumL2 + t0);
        else q6TrialSums<kTrials % 4>(xt, w, wx, nmax, iscale + t0, sumLx + t0, sumL2 + t0);
    }
    Q6Fit fit{};
    fit.scale = sumL2[0] != 0 ? sumLx[0] / sumL2[0] : V16{};
    V16 best = fit.scale * sumLx[0];
    fit.iscale = iscale[0];
    for (int t = 1; t < kTrials; ++t) {
        const V16i win = (sumL2[t] > 0) & (sumLx[t] * sumLx[t] > best * sumL2[t]);
        fit.scale = win ? sumLx[t] / sumL2[t] : fit.scale;
        best = win ? fit.scale * sumLx[t] : best;
        fit.iscale = win ? iscale[t] : fit.iscale;
    }
    fit.tiny = amax < kGroupMaxEps;
    fit.scale = fit.tiny ? V16{} : fit.scale;
    return fit;
}

/// The codes of one 16-value sub-block at inverse scale `iscale` (offset by nmax).
void signedCodes(const float* x, int nmax, float iscale, int8_t* codes)
{
    for (int i = 0; i < kQ6Sub; ++i) {
        const int l = std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1);
        codes[i] = static_cast<int8_t>(l + nmax);
    }
}

/// The codes of one sub-block against its stored scale dj != 0: clamp(nearest(x / dj), -32, 31)
/// + 32, sixteen lanes at once.
[[gnu::always_inline]] inline void q6Codes(const float* x, float dj, int8_t* codes)
{
    V16 v;
    std::memcpy(&v, x, sizeof v);
    V16 l = nearestLanes16(v / dj);
    l = l < -32.f ? V16{} - 32.f : (31.f < l ? V16{} + 31.f : l);
    using V16c = int8_t __attribute__((vector_size(16)));
    const V16c c = __builtin_convertvector(__builtin_convertvector(l, V16i) + 32, V16c);
    std::memcpy(codes, &c, sizeof c);
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

[[gnu::target_clones("avx512f", "avx2", "default")]] void quantizeQ6K(const float* x, std::byte* out)
{
    const Q6Fit fit = fitQ6(x, 32);
    float maxScale = 0;
    float maxAbsScale = 0;
    for (int ib = 0; ib < kQ6SubBlocks; ++ib) {
        if (std::fabs(fit.scale[ib]) > maxAbsScale) {
            maxAbsScale = std::fabs(fit.scale[ib]);
            maxScale = fit.scale[ib];
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
        qscales[ib] = static_cast<int8_t>(low8(std::min(127, nearestInt(iscale * fit.scale[ib]))));
    const float d = core::f16ToF32(dBits);
    int8_t codes[kSuperBlock];
    for (int j = 0; j < kQ6SubBlocks; ++j) {
        const float dj = d * static_cast<float>(qscales[j]);
        if (dj != 0.f) q6Codes(x + kQ6Sub * j, dj, codes + kQ6Sub * j);
        else if (fit.tiny[j]) std::fill_n(codes + kQ6Sub * j, kQ6Sub, int8_t{0});
        else signedCodes(x + kQ6Sub * j, 32, fit.iscale[j], codes + kQ6Sub * j); // the fit's codes, as ggml keeps them
    }
    packQ6(codes, out);
    std::memcpy(out + 192, qscales, sizeof qscales);
    storeU16(out + 208, dBits);
}

} // namespace qs::quant::ggml
