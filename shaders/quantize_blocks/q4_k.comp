#version 450
// Q4_K: one invocation per 256-value super-block, ggml's quantize_row_q4_K_ref step by step as
// ggml_quant_k.cpp writes it: per 32-value sub-block make_qkx2_quants (weights sqrt(mean x^2)
// + |x|, 21 trial inverse scales (-1 + 0.1 is + 15) / (max - min), weighted least squares,
// sums in index order), the 6-bit scales and mins against the largest of each, the codes
// recomputed against the stored scales, and core's Q4_K dequantizer (d sc q - dmin m). Every
// operation goes through exact_float.glsl; a value outside the safe range marks the block
// (the host redoes it). Record: the 144 block bytes; info: [absmax bits, hazard].
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

#include "push_quantize_blocks.h"
#include "exact_float.glsl"

layout(std430, binding = 0) readonly buffer Src { float xs[]; };
layout(std430, binding = 1) writeonly buffer Records { uint records[]; };
layout(std430, binding = 2) writeonly buffer Dequant { float dequant[]; };
layout(std430, binding = 3) writeonly buffer Info { uint info[]; };

float x[256];
uint codes[256];
uint rec[36];

void setByte(uint i, uint v) { rec[i >> 2] |= (v & 0xffu) << ((i & 3u) * 8u); }
uint getByte(uint i) { return (rec[i >> 2] >> ((i & 3u) * 8u)) & 0xffu; }

/// make_qkx2_quants(32, nmax 15, rmin -1, rdelta 0.1, nstep 20, use_mad false) on sub-block j.
void fitSubBlock(uint j, out float scaleOut, out float negMin)
{
    uint o = 32u * j;
    float sumX2 = 0.0;
    for (uint i = 0u; i < 32u; ++i) sumX2 = sAdd(sumX2, sMul(x[o + i], x[o + i]));
    float avX = crSqrt(sMul(sumX2, 0.03125));
    float w[32];
    for (uint i = 0u; i < 32u; ++i) w[i] = sAdd(avX, abs(x[o + i]));
    float mn = x[o], mx = x[o], sumW = w[0];
    float sumX = sMul(w[0], x[o]);
    for (uint i = 1u; i < 32u; ++i) {
        mn = x[o + i] < mn ? x[o + i] : mn;
        mx = x[o + i] > mx ? x[o + i] : mx;
        sumW = sAdd(sumW, w[i]);
        sumX = sAdd(sumX, sMul(w[i], x[o + i]));
    }
    mn = mn > 0.0 ? 0.0 : mn;
    if (!(mx != mn)) { // a constant sub-block: codes 0, scale 0
        for (uint i = 0u; i < 32u; ++i) codes[o + i] = 0u;
        scaleOut = 0.0;
        negMin = -mn;
        return;
    }
    float iscale0 = crDiv(15.0, sSub(mx, mn));
    float scale = crDiv(1.0, iscale0);
    float bestError = 0.0;
    for (uint i = 0u; i < 32u; ++i) {
        int l = clamp(nearestInt(sMul(iscale0, sSub(x[o + i], mn))), 0, 15);
        codes[o + i] = uint(l);
        float diff = sSub(sAdd(sMul(scale, float(l)), mn), x[o + i]);
        bestError = sAdd(bestError, sMul(w[i], sMul(diff, diff)));
    }
    for (int is = 0; is <= 20; ++is) {
        float iscale = crDiv(sAdd(sAdd(-1.0, sMul(0.1, float(is))), 15.0), sSub(mx, mn));
        float sumL = 0.0, sumL2 = 0.0, sumXL = 0.0;
        uint trial[32];
        for (uint i = 0u; i < 32u; ++i) {
            int l = clamp(nearestInt(sMul(iscale, sSub(x[o + i], mn))), 0, 15);
            trial[i] = uint(l);
            float wl = sMul(w[i], float(l));
            sumL = sAdd(sumL, wl);
            sumL2 = sAdd(sumL2, sMul(wl, float(l)));
            sumXL = sAdd(sumXL, sMul(wl, x[o + i]));
        }
        float det = sSub(sMul(sumW, sumL2), sMul(sumL, sumL));
        if (!(det > 0.0)) continue;
        float thisScale = crDiv(sSub(sMul(sumW, sumXL), sMul(sumX, sumL)), det);
        float thisMin = crDiv(sSub(sMul(sumL2, sumX), sMul(sumL, sumXL)), det);
        if (thisMin > 0.0) {
            thisScale = crDiv(sumXL, sumL2);
            thisMin = 0.0;
        }
        float err = 0.0;
        for (uint i = 0u; i < 32u; ++i) {
            float diff = sSub(sAdd(sMul(thisScale, float(trial[i])), thisMin), x[o + i]);
            err = sAdd(err, sMul(w[i], sMul(diff, diff)));
        }
        if (err < bestError) {
            bestError = err;
            scale = thisScale;
            mn = thisMin;
            for (uint i = 0u; i < 32u; ++i) codes[o + i] = trial[i];
        }
    }
    scaleOut = scale;
    negMin = -mn;
}

/// get_scale_min_k4 on the record's 12 packed bytes (from byte 4).
void scaleMin(uint j, out uint sc, out uint m)
{
    if (j < 4u) {
        sc = getByte(4u + j) & 63u;
        m = getByte(4u + j + 4u) & 63u;
    } else {
        sc = (getByte(4u + j + 4u) & 15u) | ((getByte(4u + j - 4u) >> 6) << 4);
        m = (getByte(4u + j + 4u) >> 4) | ((getByte(4u + j) >> 6) << 4);
    }
}

void main()
{
    uint b = gl_GlobalInvocationID.x;
    if (b >= pc.blocks) return;
    uint amaxBits = 0u;
    for (uint i = 0u; i < 256u; ++i) {
        float v = xs[b * 256u + i];
        bool finite = isFiniteBits(v);
        if (finite) amaxBits = max(amaxBits, absBits(v));
        x[i] = finite ? v : 0.0;
        need(inRange(x[i], 100u));
    }
    for (uint i = 0u; i < 36u; ++i) rec[i] = 0u;
    float scales[8], mins[8];
    for (uint j = 0u; j < 8u; ++j) fitSubBlock(j, scales[j], mins[j]);
    float maxScale = 0.0, maxMin = 0.0;
    for (uint j = 0u; j < 8u; ++j) {
        if (scales[j] > maxScale) maxScale = scales[j];
        if (mins[j] > maxMin) maxMin = mins[j];
    }
    float invScale = maxScale > 0.0 ? crDiv(63.0, maxScale) : 0.0;
    float invMin = maxMin > 0.0 ? crDiv(63.0, maxMin) : 0.0;
    for (uint j = 0u; j < 8u; ++j) {
        uint ls = min(63u, uint(nearestInt(sMul(invScale, scales[j]))) & 0xffu);
        uint lm = min(63u, uint(nearestInt(sMul(invMin, mins[j]))) & 0xffu);
        if (j < 4u) {
            setByte(4u + j, ls);
            setByte(4u + j + 4u, lm);
        } else {
            setByte(4u + j + 4u, (ls & 15u) | ((lm & 15u) << 4));
            setByte(4u + j - 4u, (ls >> 4) << 6);
            setByte(4u + j, (lm >> 4) << 6);
        }
    }
    uint dh = f32ToF16(crDiv(maxScale, 63.0)), dminh = f32ToF16(crDiv(maxMin, 63.0));
    setByte(0u, dh);
    setByte(1u, dh >> 8);
    setByte(2u, dminh);
    setByte(3u, dminh >> 8);
    float d = f16ToF32(dh), dmin = f16ToF32(dminh);
    float dl[8], ml[8];
    for (uint j = 0u; j < 8u; ++j) {
        uint sc, m;
        scaleMin(j, sc, m);
        dl[j] = sMul(d, float(sc));
        ml[j] = sMul(dmin, float(m));
        if (isZeroBits(dl[j])) continue; // such sub-blocks keep the codes of their fit
        for (uint i = 0u; i < 32u; ++i)
            codes[32u * j + i] = uint(clamp(nearestInt(crDiv(sAdd(x[32u * j + i], ml[j]), dl[j])), 0, 15));
    }
    for (uint c = 0u; c < 4u; ++c)
        for (uint l = 0u; l < 32u; ++l) setByte(16u + 32u * c + l, codes[64u * c + l] | (codes[64u * c + l + 32u] << 4));
    for (uint i = 0u; i < 36u; ++i) records[b * 36u + i] = rec[i];
    for (uint i = 0u; i < 256u; ++i) {
        uint j = i / 32u;
        precise float v = dl[j] * float(codes[i] & 15u) - ml[j];
        dequant[b * 256u + i] = v;
    }
    info[2u * b] = amaxBits;
    info[2u * b + 1u] = g_hazard ? 1u : 0u;
}
