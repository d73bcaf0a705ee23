// The 256-value ggml super-blocks Q4_K and Q5_K (Q6_K: ggml_quant_q6k.cpp). Each function
// follows the arithmetic of ggml's quantize_row_q*_K_ref and its helper make_qkx2_quants step by step:
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

/// The largest |x - min| of a lane whose values lie in [lo, hi]: (x - min) rounds monotonically.
[[gnu::always_inline]] inline V8 spanLanes(V8 lo, V8 hi, V8 min)
{
    const V8 a = absLanes(hi - min), b = absLanes(lo - min);
    return a < b ? b : a;
}

/// One super-block's side of a fit in progress, lane j for sub-block j: its values transposed
/// (xt[i][j] = x[32 j + i]), their weights, the values less the current min, the latest
/// trial's codes and the running state of ggml's search.
struct FitLanes {
    V8 xt[kSub], wt[kSub], xm[kSub], trial[kSub];
    V8 sumW, sumX;
    V8 lo, mx;    ///< the smallest and largest value (lo before min is capped at 0)
    V8 mn;        ///< the current min
    V8 span;      ///< the largest |x - mn|
    V8 scale;     ///< the best scale so far
    V8 bestError; ///< its weighted squared error
};

/// The weights sqrt(mean x^2) + |x| and the sums and extremes every trial uses, for one
/// super-block; fit.active marks the sub-blocks that are not constant.
[[gnu::always_inline]] inline void prepareLanes(const float* x, FitLanes& f, SubBlockFits& fit)
{
    for (int b = 0; b < kSub / 8; ++b) loadTransposedTile(x + 8 * b, f.xt + 8 * b);
    V8 sumX2{};
    for (int i = 0; i < kSub; ++i) sumX2 += f.xt[i] * f.xt[i];
    V8 avX;
    for (int j = 0; j < kSubBlocks; ++j) avX[j] = std::sqrt(sumX2[j] / kSub);
    for (int i = 0; i < kSub; ++i) f.wt[i] = avX + absLanes(f.xt[i]);
    V8 mn = f.xt[0], mx = f.xt[0], sumW = f.wt[0];
    V8 sumX = sumW * f.xt[0];
    for (int i = 1; i < kSub; ++i) {
        mn = f.xt[i] < mn ? f.xt[i] : mn;
        mx = f.xt[i] > mx ? f.xt[i] : mx;
        sumW += f.wt[i];
        sumX += f.wt[i] * f.xt[i];
    }
    f.lo = mn;
    const V8 zero{};
    mn = mn > zero ? zero : mn;
    fit.active = mx != mn;
    f.mx = mx, f.mn = mn, f.sumW = sumW, f.sumX = sumX;
    f.span = spanLanes(f.lo, mx, mn);
    for (int i = 0; i < kSub; ++i) f.xm[i] = f.xt[i] - mn;
}

/// The weighted squared error of the initial codes clamp(nearest(iscale0 (x - min)), 0, nmax)
/// at scale 1 / iscale0, for N super-blocks side by side (one accumulator each, in index
/// order); Exact rounds with ggml's integer trick, otherwise in the float domain.
template <bool Exact, int N>
[[gnu::always_inline]] inline void initialErrors(const FitLanes* f, const V8* iscale0, const V8* scale, V8 top, V8* err)
{
    const V8 zero{};
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) err[n] = zero;
    for (int i = 0; i < kSub; ++i) {
        #pragma GCC unroll 2
        for (int n = 0; n < N; ++n) {
            const V8 v = iscale0[n] * f[n].xm[i];
            const V8 l = clampLanes(Exact ? nearestLanes(v) : roundedLanes(v), zero, top);
            const V8 diff = scale[n] * l + f[n].mn - f[n].xt[i];
            err[n] += f[n].wt[i] * (diff * diff);
        }
    }
}

/// One trial's codes l = clamp(nearest(iscale (x - min)), 0, nmax) and the sums sum(w l),
/// sum(w l^2), sum(w l x) of N super-blocks side by side, each sum in index order, rounded as
/// R says (right for every block when its condition holds for every block).
template <TrialRounding R, int N>
[[gnu::always_inline]] inline void trialSums(FitLanes* f, const V8* iscale, int nmax, V8* sumL, V8* sumL2, V8* sumXL)
{
    const V8i topBits = bitsOf(V8{} + static_cast<float>(nmax));
    V8 sl[N] = {}, sl2[N] = {}, sxl[N] = {};
    for (int i = 0; i < kSub; ++i) {
        #pragma GCC unroll 2
        for (int n = 0; n < N; ++n) {
            V8 l;
            if constexpr (R == TrialRounding::Exact) l = nearestClampedLanes(iscale[n] * f[n].xm[i], V8i{} + nmax);
            else l = clampedBits<R == TrialRounding::Float>(roundedLanes(iscale[n] * f[n].xm[i]), topBits);
            f[n].trial[i] = l;
            const V8 wl = f[n].wt[i] * l;
            sl[n] += wl;
            sl2[n] += wl * l;
            sxl[n] += wl * f[n].xt[i];
        }
    }
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) sumL[n] = sl[n], sumL2[n] = sl2[n], sumXL[n] = sxl[n];
}

/// sum(w (scale l + min - x)^2) of the latest trial's codes, in index order, for N super-blocks
/// side by side: the additions of one block wait on each other, those of two blocks do not.
template <int N>
[[gnu::always_inline]] inline void weightedErrors(const FitLanes* f, const V8* scale, const V8* min, V8* err)
{
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) err[n] = V8{};
    for (int i = 0; i < kSub; ++i) {
        #pragma GCC unroll 2
        for (int n = 0; n < N; ++n) {
            const V8 diff = scale[n] * f[n].trial[i] + min[n] - f[n].xt[i];
            err[n] += f[n].wt[i] * (diff * diff);
        }
    }
}

/// How trial `is` may round: the least careful TrialRounding that is right for every active
/// lane of every block (see trialSums). |iscale| span bounds every |iscale (x - min)|; with
/// iscale > 0, iscale (max - min) bounds every product from above, and below nmax + 0.5 none
/// rounds above nmax.
template <int N>
[[gnu::always_inline]] inline TrialRounding trialRounding(const FitLanes* f, const SubBlockFits* fit, const V8* iscale,
                                                          V8 top)
{
    auto r = TrialRounding::FloatLow;
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        const V8i safe = absLanes(iscale[n]) * f[n].span < kRoundSafe;
        const V8i belowTop = (iscale[n] > V8{}) & (iscale[n] * (f[n].mx - f[n].mn) < top + 0.5f);
        if (anyLane(fit[n].active & ~safe)) return TrialRounding::Exact;
        if (anyLane(fit[n].active & ~belowTop)) r = TrialRounding::Float;
    }
    return r;
}

/// Trial `is`'s weighted least-squares scale and min for its codes, and whether some lane of
/// block n beat its best error: then that lane takes the trial's scale and min, and the trial's
/// inverse scale and the min before it as the codes' recipe.
template <int N>
[[gnu::always_inline]] inline void trial(FitLanes* f, SubBlockFits* fit, int nmax, float rmin, float rdelta, int is)
{
    const V8 zero{};
    const V8 top = zero + static_cast<float>(nmax);
    V8 iscale[N], sumL[N], sumL2[N], sumXL[N], det[N], thisScale[N], thisMin[N], err[N];
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n)
        iscale[n] = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (f[n].mx - f[n].mn);
    switch (trialRounding<N>(f, fit, iscale, top)) {
    case TrialRounding::Exact: trialSums<TrialRounding::Exact, N>(f, iscale, nmax, sumL, sumL2, sumXL); break;
    case TrialRounding::Float: trialSums<TrialRounding::Float, N>(f, iscale, nmax, sumL, sumL2, sumXL); break;
    case TrialRounding::FloatLow: trialSums<TrialRounding::FloatLow, N>(f, iscale, nmax, sumL, sumL2, sumXL); break;
    }
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        det[n] = f[n].sumW * sumL2[n] - sumL[n] * sumL[n];
        thisScale[n] = (f[n].sumW * sumXL[n] - f[n].sumX * sumL[n]) / det[n];
        thisMin[n] = (sumL2[n] * f[n].sumX - sumL[n] * sumXL[n]) / det[n];
        const V8i positive = thisMin[n] > zero;
        thisScale[n] = positive ? sumXL[n] / sumL2[n] : thisScale[n];
        thisMin[n] = positive ? zero : thisMin[n];
    }
    weightedErrors<N>(f, thisScale, thisMin, err);
    V8i win[N], anyWin{};
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        win[n] = fit[n].active & (det[n] > zero) & (err[n] < f[n].bestError);
        anyWin |= win[n];
    }
    if (!anyLane(anyWin)) return; // one test when no lane of any block improves
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        if (!anyLane(win[n])) continue; // about half the trials of a block: no lane improves
        f[n].bestError = win[n] ? err[n] : f[n].bestError;
        f[n].scale = win[n] ? thisScale[n] : f[n].scale;
        fit[n].iscale = win[n] ? iscale[n] : fit[n].iscale;
        fit[n].codeMin = win[n] ? f[n].mn : fit[n].codeMin;
        f[n].mn = win[n] ? thisMin[n] : f[n].mn;
        for (int i = 0; i < kSub; ++i) f[n].xm[i] = f[n].xt[i] - f[n].mn;
        f[n].span = spanLanes(f[n].lo, f[n].mx, f[n].mn);
    }
}

/// make_qkx2_quants with use_mad = false, for the eight 32-value sub-blocks of each of N
/// super-blocks: lane j of block n is sub-block j of x[n], and every lane performs exactly
/// ggml's sequence for its sub-block (weights sqrt(mean x^2) + |x|; x ~ scale * L + min with
/// min <= 0; the initial codes at iscale = nmax / (max - min), then nstep + 1 trial inverse
/// scales (rmin + rdelta * is + nmax) / (max - min) with the current min, each trial's codes
/// given their weighted least-squares scale and min, the strictly lowest weighted squared error
/// winning). Sums run in index order per lane, as ggml accumulates them; lanes and blocks only
/// run independent sub-blocks side by side (two blocks let one's additions fill the other's
/// add latency).
template <int N>
[[gnu::always_inline]] inline void fitSubBlocks(const float* const* x, int nmax, float rmin, float rdelta, int nstep,
                                                SubBlockFits* fit)
{
    FitLanes f[N];
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) prepareLanes(x[n], f[n], fit[n]);
    const V8 top = V8{} + static_cast<float>(nmax);
    V8 iscale0[N], scale0[N], err[N];
    bool exact0 = false;
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        iscale0[n] = top / (f[n].mx - f[n].mn);
        scale0[n] = 1 / iscale0[n];
        // Products up to about nmax, unless nmax / (max - min) overflowed (subnormal ranges).
        exact0 = exact0 || anyLane(fit[n].active & ~(iscale0[n] * f[n].span < kRoundSafe));
    }
    if (exact0) initialErrors<true, N>(f, iscale0, scale0, top, err);
    else initialErrors<false, N>(f, iscale0, scale0, top, err);
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        f[n].scale = scale0[n], f[n].bestError = err[n];
        fit[n].iscale = iscale0[n], fit[n].codeMin = f[n].mn;
    }
    for (int is = 0; is <= nstep; ++is) trial<N>(f, fit, nmax, rmin, rdelta, is);
    #pragma GCC unroll 2
    for (int n = 0; n < N; ++n) {
        fit[n].scale = fit[n].active ? f[n].scale : V8{};
        fit[n].negMin = -f[n].mn;
    }
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

/// Fits, quantizes the scales of and codes N super-blocks x[n], codes[n] receiving block n's
/// 256 codes; N = 2 runs two blocks' searches side by side.
template <int N>
[[gnu::always_inline]] inline void fitSuperBlocks(const float* const* x, int nmax, float rmin, int nstep, KScales* k,
                                                  uint8_t (*codes)[kSuperBlock])
{
    SubBlockFits fit[N];
    fitSubBlocks<N>(x, nmax, rmin, 0.1f, nstep, fit);
    for (int n = 0; n < N; ++n) {
        k[n] = quantizeScales(fit[n]);
        requantize(x[n], fit[n], k[n], nmax, codes[n]);
    }
}

void storeKHeader(const KScales& k, std::byte* out)
{
    storeU16(out, k.d);
    storeU16(out + 2, k.dmin);
    std::memcpy(out + 4, k.packed.data(), k.packed.size());
}

/// Q4_K's 144 bytes: header, then qs, where each 64 values share 32 bytes, the first 32 in the
/// low nibbles.
[[gnu::always_inline]] inline void packQ4K(const KScales& k, const uint8_t* codes, std::byte* out)
{
    storeKHeader(k, out);
    std::byte* q = out + 16;
    for (int j = 0; j < kSuperBlock; j += 64, q += 32) {
        for (int l = 0; l < 32; ++l)
            q[l] = static_cast<std::byte>(codes[j + l] | (codes[j + l + 32] << 4));
    }
}

/// Q5_K's 176 bytes: header, qh[32] then qs[128]: value n + j (n a multiple of 64) puts its low
/// nibble in qs and its fifth bit in bit 2 * (n / 64) of qh[j]; value n + j + 32 likewise with
/// the next bit.
[[gnu::always_inline]] inline void packQ5K(const KScales& k, const uint8_t* codes, std::byte* out)
{
    storeKHeader(k, out);
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

constexpr int kQ4Nmax = 15, kQ4Steps = 20;
constexpr float kQ4Rmin = -1.f;
constexpr int kQ5Nmax = 31, kQ5Steps = 15;
constexpr float kQ5Rmin = -0.5f;

} // namespace

[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void quantizeQ4K(const float* x, std::byte* out)
{
    KScales k[1];
    uint8_t codes[1][kSuperBlock];
    fitSuperBlocks<1>(&x, kQ4Nmax, kQ4Rmin, kQ4Steps, k, codes);
    packQ4K(k[0], codes[0], out);
}

[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void quantizeQ4KPair(const float* x0, const float* x1,
                                                                                  std::byte* out0, std::byte* out1)
{
    const float* x[2] = {x0, x1};
    KScales k[2];
    uint8_t codes[2][kSuperBlock];
    fitSuperBlocks<2>(x, kQ4Nmax, kQ4Rmin, kQ4Steps, k, codes);
    packQ4K(k[0], codes[0], out0);
    packQ4K(k[1], codes[1], out1);
}

[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void quantizeQ5K(const float* x, std::byte* out)
{
    KScales k[1];
    uint8_t codes[1][kSuperBlock];
    fitSuperBlocks<1>(&x, kQ5Nmax, kQ5Rmin, kQ5Steps, k, codes);
    packQ5K(k[0], codes[0], out);
}

[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void quantizeQ5KPair(const float* x0, const float* x1,
                                                                                  std::byte* out0, std::byte* out1)
{
    const float* x[2] = {x0, x1};
    KScales k[2];
    uint8_t codes[2][kSuperBlock];
    fitSuperBlocks<2>(x, kQ5Nmax, kQ5Rmin, kQ5Steps, k, codes);
    packQ5K(k[0], codes[0], out0);
    packQ5K(k[1], codes[1], out1);
}

} // namespace qs::quant::ggml
