#version 450
// The sums behind quant::compareValues over `count` pairs (w, q), one partial per workgroup:
// sum w^2, q^2, w q, (w - q)^2 in f32 (the host adds the partials in double), the number of
// pairs with both values finite, and the largest |w - q| exactly, as the pair (|s|, tMag) of
// exactdiff.glsl: the host forms |s| + tMag in double, which is the CPU's double difference.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#define QS_WG_SIZE 256
layout(local_size_x = QS_WG_SIZE) in;

#include "push_metric_sums.h"
#include "floatkey.glsl"
#include "exactdiff.glsl"

layout(std430, binding = 0) readonly buffer Reference { float w[]; };
layout(std430, binding = 1) readonly buffer Quantized { float q[]; };
// 8 words per workgroup: sumW2, sumQ2, sumWQ, sumE2 (f32 bits), count, |s| bits, floatKey(tMag), 0.
layout(std430, binding = 2) writeonly buffer Partials { uint partials[]; };

shared float sW2[QS_WG_SIZE], sQ2[QS_WG_SIZE], sWQ[QS_WG_SIZE], sE2[QS_WG_SIZE];
shared uint sCount[QS_WG_SIZE], sS[QS_WG_SIZE], sT[QS_WG_SIZE];

void main()
{
    precise float w2 = 0.0, q2 = 0.0, wq = 0.0, e2 = 0.0;
    uint count = 0u, bestS = 0u, bestT = 0u; // bestT 0: below every floatKey of a finite value
    uint stride = gl_NumWorkGroups.x * QS_WG_SIZE;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        float a = w[i], b = q[i];
        if (!isFiniteBits(floatBitsToUint(a)) || !isFiniteBits(floatBitsToUint(b))) continue;
        float s, t;
        exactDiff(a, b, s, t);
        precise float aa = a * a, bb = b * b, ab = a * b, ss = s * s;
        w2 += aa, q2 += bb, wq += ab, e2 += ss;
        ++count;
        uint sb = floatBitsToUint(s) & 0x7fffffffu, tk = tMagnitudeKey(s, t);
        if (sb > bestS || (sb == bestS && tk > bestT)) bestS = sb, bestT = tk;
    }
    float gw2 = subgroupAdd(w2), gq2 = subgroupAdd(q2), gwq = subgroupAdd(wq), ge2 = subgroupAdd(e2);
    uint gc = subgroupAdd(count), gs = subgroupMax(bestS);
    uint gt = subgroupMax(bestS == gs ? bestT : 0u);
    if (subgroupElect()) {
        uint g = gl_SubgroupID;
        sW2[g] = gw2, sQ2[g] = gq2, sWQ[g] = gwq, sE2[g] = ge2;
        sCount[g] = gc, sS[g] = gs, sT[g] = gt;
    }
    barrier();
    if (gl_LocalInvocationIndex != 0u) return;
    precise float tw2 = 0.0, tq2 = 0.0, twq = 0.0, te2 = 0.0;
    uint tc = 0u, ts = 0u, tt = 0u;
    for (uint g = 0u; g < gl_NumSubgroups; ++g) {
        tw2 += sW2[g], tq2 += sQ2[g], twq += sWQ[g], te2 += sE2[g];
        tc += sCount[g];
        if (sS[g] > ts || (sS[g] == ts && sT[g] > tt)) ts = sS[g], tt = sT[g];
    }
    uint o = gl_WorkGroupID.x * 8u;
    partials[o + 0u] = floatBitsToUint(tw2);
    partials[o + 1u] = floatBitsToUint(tq2);
    partials[o + 2u] = floatBitsToUint(twq);
    partials[o + 3u] = floatBitsToUint(te2);
    partials[o + 4u] = tc;
    partials[o + 5u] = ts;
    partials[o + 6u] = tt;
    partials[o + 7u] = 0u;
}
