// The 256-value ggml super-blocks Q4_K, Q5_K and Q6_K. Each function follows the arithmetic of
// ggml's quantize_row_q*_K_ref and its helpers make_qkx2_quants / make_qx_quants step by step:
// the same float operations in the same order, accumulated sequentially, because the searches
// compare errors that differ in the last bits and byte identity is the goal.
#include "ggml_quant.h"
#include "ggml_quant_blocks.h"

#include <algorithm>
#include <array>

#include "core/dtype.h"

namespace qs::quant::ggml {

namespace {

constexpr int kSub = 32;                       ///< Q4_K/Q5_K sub-block
constexpr int kSubBlocks = kSuperBlock / kSub; ///< 8
constexpr float kGroupMaxEps = 1e-15f;         ///< ggml's GROUP_MAX_EPS

/// Sums over one candidate code vector, each accumulated in index order as ggml does.
struct CodeSums {
    float l = 0, l2 = 0, xl = 0;
};

/// Codes clamp(nearest(iscale * (x - min)), 0, nmax) and their weighted sums.
CodeSums codesFor(const float* x, const float* w, int nmax, float iscale, float min,
                  uint8_t* codes)
{
    CodeSums s;
    for (int i = 0; i < kSub; ++i) {
        const int l = std::clamp(nearestInt(iscale * (x[i] - min)), 0, nmax);
        codes[i] = static_cast<uint8_t>(l);
        const auto fl = static_cast<float>(l);
        s.l += w[i] * fl;
        s.l2 += w[i] * fl * fl;
        s.xl += w[i] * fl * x[i];
    }
    return s;
}

float weightedError(const float* x, const float* w, const uint8_t* codes, float scale, float min)
{
    float err = 0;
    for (int i = 0; i < kSub; ++i) {
        const float diff = scale * static_cast<float>(codes[i]) + min - x[i];
        err += w[i] * (diff * diff);
    }
    return err;
}

constexpr int kMaxTrials = 8; ///< trials run side by side (two SSE vectors)

/// Up to kMaxTrials consecutive trials of the scale search at once: lane t has inverse scale
/// iscale[t]. Each lane's sums and error are accumulated in index order exactly as ggml does
/// for that trial alone; running trials side by side only hides the latency of those
/// sequential float chains, it does not change a single rounding.
struct Trials {
    int count = 0;
    float iscale[kMaxTrials] = {};
    float code[kSub][kMaxTrials]; ///< every lane written by trialCodes before any read
    float sumL[kMaxTrials] = {}, sumL2[kMaxTrials] = {}, sumXL[kMaxTrials] = {};
    float scale[kMaxTrials] = {}, min[kMaxTrials] = {}, err[kMaxTrials] = {};
    bool valid[kMaxTrials] = {};
};

void trialCodes(const float* x, const float* w, int nmax, float min, Trials& tr)
{
    const auto top = static_cast<float>(nmax);
    for (int i = 0; i < kSub; ++i) {
        const float xm = x[i] - min;
#pragma omp simd
        for (int t = 0; t < kMaxTrials; ++t) {
            const auto l = static_cast<float>(nearestInt(tr.iscale[t] * xm));
            const float fl = std::clamp(l, 0.f, top);
            tr.code[i][t] = fl;
            tr.sumL[t] += w[i] * fl;
            tr.sumL2[t] += w[i] * fl * fl;
            tr.sumXL[t] += w[i] * fl * x[i];
        }
    }
}

/// Weighted least squares of x ~ scale * L + min per trial (min forced <= 0), then its error.
void trialErrors(const float* x, const float* w, float sumW, float sumX, Trials& tr)
{
    for (int t = 0; t < tr.count; ++t) {
        const float det = sumW * tr.sumL2[t] - tr.sumL[t] * tr.sumL[t];
        tr.valid[t] = det > 0;
        if (!tr.valid[t]) continue;
        tr.scale[t] = (sumW * tr.sumXL[t] - sumX * tr.sumL[t]) / det;
        tr.min[t] = (tr.sumL2[t] * sumX - tr.sumL[t] * tr.sumXL[t]) / det;
        if (tr.min[t] > 0) {
            tr.min[t] = 0;
            tr.scale[t] = tr.sumXL[t] / tr.sumL2[t];
        }
    }
    for (int i = 0; i < kSub; ++i) {
#pragma omp simd
        for (int t = 0; t < kMaxTrials; ++t) {
            const float diff = tr.scale[t] * tr.code[i][t] + tr.min[t] - x[i];
            tr.err[t] += w[i] * (diff * diff);
        }
    }
}

/// make_qkx2_quants with use_mad = false: x ~ scale * L + min with min <= 0, searched over
/// nstep + 1 trial inverse scales (rmin + rdelta * is + nmax) / (max - min); each trial's
/// codes get the weighted least-squares scale and min, and the lowest weighted squared error
/// wins (the first of equals, trials taken in order). Returns the scale; *negMin receives
/// -min (>= 0).
float fitScaleMin(const float* x, const float* w, int nmax, float rmin, float rdelta, int nstep,
                  uint8_t* codes, float* negMin)
{
    float min = x[0];
    float max = x[0];
    float sumW = w[0];
    float sumX = sumW * x[0];
    for (int i = 1; i < kSub; ++i) {
        min = x[i] < min ? x[i] : min;
        max = x[i] > max ? x[i] : max;
        sumW += w[i];
        sumX += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        std::fill(codes, codes + kSub, uint8_t{0});
        *negMin = -min;
        return 0.f;
    }
    const float iscale = static_cast<float>(nmax) / (max - min);
    float scale = 1 / iscale;
    codesFor(x, w, nmax, iscale, min, codes);
    float bestError = weightedError(x, w, codes, scale, min);

    // ggml's loop uses the current min in every trial, and a trial that wins replaces it.
    // So trials run speculatively in batches with the current min; after a winner that moved
    // min, the trials behind it are run again with the new one.
    const int trials = nstep + 1;
    int first = 0;
    while (first < trials) {
        Trials tr;
        tr.count = std::min(trials - first, kMaxTrials);
        for (int t = 0; t < tr.count; ++t) {
            const auto is = static_cast<float>(first + t);
            tr.iscale[t] = (rmin + rdelta * is + static_cast<float>(nmax)) / (max - min);
        }
        trialCodes(x, w, nmax, min, tr);
        trialErrors(x, w, sumW, sumX, tr);
        const float batchMin = min;
        int next = first + tr.count;
        int best = -1;
        for (int t = 0; t < tr.count; ++t) {
            if (!tr.valid[t] || !(tr.err[t] < bestError)) continue;
            best = t;
            bestError = tr.err[t];
            scale = tr.scale[t];
            min = tr.min[t];
            if (min != batchMin) {
                next = first + t + 1;
                break;
            }
        }
        if (best >= 0) {
            for (int i = 0; i < kSub; ++i) codes[i] = static_cast<uint8_t>(tr.code[i][best]);
        }
        first = next;
    }
    *negMin = -min;
    return scale;
}

/// Q4_K/Q5_K: per 32-value sub-block a (scale, min) fit with weights sqrt(mean x^2) + |x|,
/// then both quantized to 6 bits against the largest of each (d = maxScale / 63, dmin =
/// maxMin / 63, stored as halves), then every code recomputed against the stored scales.
struct KScales {
    uint16_t d = 0, dmin = 0;
    std::array<uint8_t, 12> packed{};
};

KScales fitSuperBlock(const float* x, int nmax, float rmin, int nstep, uint8_t* codes)
{
    float scales[kSubBlocks];
    float mins[kSubBlocks];
    float weights[kSub];
    float maxScale = 0;
    float maxMin = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        const float* xs = x + kSub * j;
        float sumX2 = 0;
        for (int l = 0; l < kSub; ++l) sumX2 += xs[l] * xs[l];
        const float avX = std::sqrt(sumX2 / kSub);
        for (int l = 0; l < kSub; ++l) weights[l] = avX + std::fabs(xs[l]);
        scales[j] = fitScaleMin(xs, weights, nmax, rmin, 0.1f, nstep, codes + kSub * j, &mins[j]);
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

void quantizeQ4K(const float* x, std::byte* out)
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

void quantizeQ5K(const float* x, std::byte* out)
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

constexpr int kQ6Trials = 20; ///< k = -9..9 without 0 (18), padded to whole vectors

/// For every lane t: signed codes clamp(nearest(iscale[t] * x), -nmax, nmax - 1) and the sums
/// sum(w x l), sum(w l^2) with w = x^2, each lane accumulated in index order as ggml does.
void signedSums(const float* x, int nmax, const float* iscale, float* sumLx, float* sumL2)
{
    const auto lo = static_cast<float>(-nmax);
    const auto hi = static_cast<float>(nmax - 1);
    for (int i = 0; i < kQ6Sub; ++i) {
        const float w = x[i] * x[i];
#pragma omp simd
        for (int t = 0; t < kQ6Trials; ++t) {
            const float fl = std::clamp(static_cast<float>(nearestInt(iscale[t] * x[i])), lo, hi);
            sumLx[t] += w * x[i] * fl;
            sumL2[t] += w * fl * fl;
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
float fitSignedScale(const float* x, int nmax, int8_t* codes)
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
    float iscale[kQ6Trials] = {};
    iscale[0] = -fnmax / max;
    for (int lane = 1, k = -9; k <= 9; ++k) {
        if (k != 0) iscale[lane++] = -(fnmax + 0.1f * static_cast<float>(k)) / max;
    }
    float sumLx[kQ6Trials] = {};
    float sumL2[kQ6Trials] = {};
    signedSums(x, nmax, iscale, sumLx, sumL2);
    float scale = sumL2[0] != 0.f ? sumLx[0] / sumL2[0] : 0.0f;
    float best = scale * sumLx[0];
    int chosen = 0;
    for (int t = 1; t <= 18; ++t) {
        if (sumL2[t] > 0 && sumLx[t] * sumLx[t] > best * sumL2[t]) {
            chosen = t;
            scale = sumLx[t] / sumL2[t];
            best = scale * sumLx[t];
        }
    }
    signedCodes(x, nmax, iscale[chosen], codes);
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
