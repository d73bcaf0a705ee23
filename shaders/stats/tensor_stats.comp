#version 450
// Statistics of one chunk of a tensor (the host merges the chunks): per workgroup one partial
// (count, mean, M2, M3, M4 of the finite values of x - K; NaN, Inf and zero counts; min and
// max), and, shared by all workgroups through atomics, the fine histogram (one counter per
// top-16-bit pattern of the value's binary32 encoding, core/stats.h) and the per-channel
// absmax along the tensor's out and in axes.
// Counts, min, max, the histogram and the channel maxima are exact (integer operations on the
// bit patterns); the moments are f32 and combined stably (moments.glsl). A chunk whose moments
// overflow f32 (|x - K| beyond ~1e9 makes (x - K)^4 overflow) is run again by the host with a
// power-of-two scale that brings |y| below 2^16; scaling by a power of two is exact.
// Variants: F32 (default), SRC_F16 and SRC_BF16 read 16-bit values two per word and widen them
// exactly in integer arithmetic.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#define QS_WG_SIZE 256
layout(local_size_x = QS_WG_SIZE) in;

#include "push_stats.h"
#include "moments.glsl"
#include "floatkey.glsl"

layout(std430, binding = 0) readonly buffer Source { uint words[]; };
// 12 words per workgroup: n, mean, m2, m3, m4, nan, inf, zeros, minKey, maxKey, 0, 0.
layout(std430, binding = 1) writeonly buffer Partials { uint partials[]; };
layout(std430, binding = 2) buffer Fine { uint fine[]; };           // 65536 counters
layout(std430, binding = 3) buffer Channels { uint channelMax[]; }; // |x| bits, out then in

// The binary32 pattern of value i.
uint valueBits(uint i)
{
#if defined(SRC_F16) || defined(SRC_BF16)
    uint h = (words[i >> 1] >> ((i & 1u) * 16u)) & 0xffffu;
#ifdef SRC_BF16
    return h << 16;
#else
    uint sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) return sign | 0x7f800000u | (m << 13);      // Inf, NaN (payload kept)
    if (e != 0u) return sign | ((e + 112u) << 23) | (m << 13);   // normal: rebias 15 -> 127
    if (m == 0u) return sign;                                    // +-0
    // Subnormal m * 2^-24: normalise (exact; the result is a normal f32).
    uint shift = 10u - uint(findMSB(m));
    return sign | ((113u - shift) << 23) | (((m << shift) & 0x3ffu) << 13);
#endif
#else
    return words[i];
#endif
}

uint channelOf(uint i, uint first, uint offset, uint stride, uint dim)
{
    return (first + (offset + i) / stride) % dim;
}

shared float sN[QS_WG_SIZE], sMean[QS_WG_SIZE], sM2[QS_WG_SIZE], sM3[QS_WG_SIZE], sM4[QS_WG_SIZE];
shared uint sNan[QS_WG_SIZE], sInf[QS_WG_SIZE], sZeros[QS_WG_SIZE], sMin[QS_WG_SIZE], sMax[QS_WG_SIZE];

void main()
{
    Moments m = momentsEmpty();
    uint nan = 0u, inf = 0u, zeros = 0u, minKey = 0xffffffffu, maxKey = 0u;
    uint stride = gl_NumWorkGroups.x * QS_WG_SIZE;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint b = valueBits(i), a = b & 0x7fffffffu;
        atomicAdd(fine[b >> 16], 1u);
        nan += a > 0x7f800000u ? 1u : 0u;
        inf += a == 0x7f800000u ? 1u : 0u;
        if (a >= 0x7f800000u) continue;
        zeros += a == 0u ? 1u : 0u;
        uint k = floatKey(uintBitsToFloat(b));
        minKey = min(minKey, k);
        maxKey = max(maxKey, k);
        precise float y = uintBitsToFloat(b) * pc.scale - pc.shift;
        m = momentsAdd(m, y);
        if (pc.outDim != 0u) atomicMax(channelMax[channelOf(i, pc.outFirst, pc.outOffset, pc.outStride, pc.outDim)], a);
        if (pc.inDim != 0u)
            atomicMax(channelMax[pc.outDim + channelOf(i, pc.inFirst, pc.inOffset, pc.inStride, pc.inDim)], a);
    }

    Moments s = momentsSubgroup(m);
    uint sn = subgroupAdd(nan), si = subgroupAdd(inf), sz = subgroupAdd(zeros);
    uint smin = subgroupMin(minKey), smax = subgroupMax(maxKey);
    if (subgroupElect()) {
        uint g = gl_SubgroupID;
        sN[g] = s.n, sMean[g] = s.mean, sM2[g] = s.m2, sM3[g] = s.m3, sM4[g] = s.m4;
        sNan[g] = sn, sInf[g] = si, sZeros[g] = sz, sMin[g] = smin, sMax[g] = smax;
    }
    barrier();
    if (gl_LocalInvocationIndex != 0u) return;
    Moments t = momentsEmpty();
    uint tn = 0u, ti = 0u, tz = 0u, tmin = 0xffffffffu, tmax = 0u;
    for (uint g = 0u; g < gl_NumSubgroups; ++g) {
        t = momentsMerge(t, Moments(sN[g], sMean[g], sM2[g], sM3[g], sM4[g]));
        tn += sNan[g], ti += sInf[g], tz += sZeros[g];
        tmin = min(tmin, sMin[g]), tmax = max(tmax, sMax[g]);
    }
    uint o = gl_WorkGroupID.x * 12u;
    partials[o + 0u] = uint(t.n);
    partials[o + 1u] = floatBitsToUint(t.mean);
    partials[o + 2u] = floatBitsToUint(t.m2);
    partials[o + 3u] = floatBitsToUint(t.m3);
    partials[o + 4u] = floatBitsToUint(t.m4);
    partials[o + 5u] = tn;
    partials[o + 6u] = ti;
    partials[o + 7u] = tz;
    partials[o + 8u] = tmin;
    partials[o + 9u] = tmax;
    partials[o + 10u] = 0u;
    partials[o + 11u] = 0u;
}
