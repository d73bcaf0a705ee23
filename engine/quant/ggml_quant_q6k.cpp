// The 256-value ggml super-block Q6_K (Q4_K, Q5_K: ggml_quant_k.cpp). It follows the
// arithmetic of ggml's quantize_row_q6_K_ref and its helper make_qx_quants step by step: the
// same float operations in the same order, accumulated sequentially, because the search
// compares sums that differ in the last bits and byte identity is the goal.
#include "ggml_quant.h"
#include "ggml_quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dtype.h"

namespace qs::quant::ggml {

// V16 values cross only internal (inlined) functions, so the vector-ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace {

constexpr float kGroupMaxEps = 1e-15f; ///< ggml's GROUP_MAX_EPS

constexpr int kQ6Sub = 16;                          ///< Q6_K sub-block
constexpr int kQ6SubBlocks = kSuperBlock / kQ6Sub;  ///< 16

/// Sixteen float lanes: lane j is sub-block j of a Q6_K super-block.
using V16 = float __attribute__((vector_size(64)));
using V16i = int32_t __attribute__((vector_size(64)));

/// Eight float lanes, half of a V16. Every comparison below is made on halves: these helpers
/// carry no target of their own, and GCC lowers a 512-bit comparison whose mask is a vector
/// there lane by lane (scalar compares and inserts, even in the AVX-512 clone), a 256-bit one
/// it keeps (q6TrialSums clamps on V16 bits with integer comparisons, which stay vectors in
/// the AVX-512 clone).
using V8 = float __attribute__((vector_size(32)));
using V8i = int32_t __attribute__((vector_size(32)));

/// Lanes 8 h .. 8 h + 7 of a 16-lane vector (H: V8 or V8i).
template <typename H, typename W>
[[gnu::always_inline]] inline H halfOf(const W& v, int h)
{
    H r;
    std::memcpy(&r, reinterpret_cast<const char*>(&v) + sizeof(H) * h, sizeof r);
    return r;
}

template <typename H, typename W>
[[gnu::always_inline]] inline void setHalf(W& v, int h, H x)
{
    std::memcpy(reinterpret_cast<char*>(&v) + sizeof(H) * h, &x, sizeof x);
}

[[gnu::always_inline]] inline V8 absLanes8(V8 v)
{
    V8i bits;
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

/// The trials judged in ggml's order, on both halves of the lanes side by side: trial 0 sets
/// scale = sumLx / sumL2 (0 when sumL2 = 0) and best = scale * sumLx; a later trial wins where
/// sumL2 > 0 and sumLx^2 > best * sumL2, taking its scale, best and inverse scale.
template <int T>
[[gnu::always_inline]] inline void judgeTrials(const V16* iscale, const V16* sumLx, const V16* sumL2, Q6Fit& fit)
{
    V8 scale[2], best[2], is[2];
    for (int h = 0; h < 2; ++h) {
        const V8 lx = halfOf<V8>(sumLx[0], h), l2 = halfOf<V8>(sumL2[0], h);
        scale[h] = l2 != 0 ? lx / l2 : V8{};
        best[h] = scale[h] * lx;
        is[h] = halfOf<V8>(iscale[0], h);
    }
    for (int t = 1; t < T; ++t) {
        for (int h = 0; h < 2; ++h) {
            const V8 lx = halfOf<V8>(sumLx[t], h), l2 = halfOf<V8>(sumL2[t], h);
            const V8i win = (l2 > 0) & (lx * lx > best[h] * l2);
            scale[h] = win ? lx / l2 : scale[h];
            best[h] = win ? scale[h] * lx : best[h];
            is[h] = win ? halfOf<V8>(iscale[t], h) : is[h];
        }
    }
    for (int h = 0; h < 2; ++h) {
        setHalf(fit.scale, h, scale[h]);
        setHalf(fit.iscale, h, is[h]);
    }
}

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
    V16 amax{}, max{}; // the first value of largest |x|, on 8-lane halves (see V8)
    for (int h = 0; h < 2; ++h) {
        V8 a{}, m{};
        for (int i = 0; i < kQ6Sub; ++i) {
            const V8 v = halfOf<V8>(xt[i], h);
            const V8i larger = absLanes8(v) > a;
            a = larger ? absLanes8(v) : a;
            m = larger ? v : m;
        }
        setHalf(amax, h, a);
        setHalf(max, h, m);
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
    judgeTrials<kTrials>(iscale, sumLx, sumL2, fit);
    for (int h = 0; h < 2; ++h) {
        const V8i tiny = halfOf<V8>(amax, h) < kGroupMaxEps;
        setHalf(fit.tiny, h, tiny);
        setHalf(fit.scale, h, tiny ? V8{} : halfOf<V8>(fit.scale, h));
    }
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
/// + 32, sixteen lanes at once, clamped as integers (the same values as clamping their floats;
/// integer comparisons of V16 stay vectors where float ones would not, see V8).
[[gnu::always_inline]] inline void q6Codes(const float* x, float dj, int8_t* codes)
{
    V16 v;
    std::memcpy(&v, x, sizeof v);
    const V16 shifted = v / dj + 12582912.f; // nearestInt's trick, wrap-around included
    V16i l;
    std::memcpy(&l, &shifted, sizeof l);
    l = (l & 0x007fffff) - 0x00400000;
    l = l < -32 ? V16i{} - 32 : (31 < l ? V16i{} + 31 : l);
    using V16c = int8_t __attribute__((vector_size(16)));
    const V16c c = __builtin_convertvector(l + 32, V16c);
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
