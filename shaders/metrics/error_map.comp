#version 450
// quant::errorMap on the device: one workgroup per cell of a band of map rows. Cell (x, y)
// pools the weights in rows [rowEdge[y], rowEdge[y + 1]) (of the uploaded band) and columns
// [colEdge[x], colEdge[x + 1]); the edges come from the host (quant::errorMapEdge).
// Output per cell, 2 words: Max pooling: the pooled value and 1, or 0 and 0 for a cell
// without a finite pair; Mean pooling: the f32 sum of the errors and their count (the host
// divides in double).
// Max of Absolute and Signed is exact: pairs are ranked by their exact |w - q| (exactdiff.glsl)
// and, among equals, the first in row-major order wins, as on the CPU; the value written is
// fl(w - q), what the CPU's double error rounds to. Relative divides in f32 (not correctly
// rounded on a GPU): within a few ulp, stated by the tests.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#define QS_WG_SIZE 256
layout(local_size_x = QS_WG_SIZE) in;

#include "push_error_map.h"
#include "floatkey.glsl"
#include "exactdiff.glsl"

layout(std430, binding = 0) readonly buffer Reference { float w[]; };
layout(std430, binding = 1) readonly buffer Quantized { float q[]; };
layout(std430, binding = 2) readonly buffer Edges { uint edges[]; }; // row edges, then column edges
layout(std430, binding = 3) writeonly buffer Cells { uint cells[]; };

const uint kAbsolute = 0u, kSigned = 1u, kRelative = 2u, kMax = 0u;

shared uint sKey[QS_WG_SIZE], sTie[QS_WG_SIZE], sIdx[QS_WG_SIZE], sVal[QS_WG_SIZE], sCount[QS_WG_SIZE];
shared float sSum[QS_WG_SIZE];

// Max pooling's order: larger key, then larger tie key, then smaller index.
bool better(uint k, uint t, uint i, uint bk, uint bt, uint bi)
{
    return k > bk || (k == bk && (t > bt || (t == bt && i < bi)));
}

void main()
{
    uint r0 = edges[gl_WorkGroupID.y], r1 = edges[gl_WorkGroupID.y + 1u];
    uint colBase = gl_NumWorkGroups.y + 1u;
    uint c0 = edges[colBase + gl_WorkGroupID.x], c1 = edges[colBase + gl_WorkGroupID.x + 1u];
    uint width = c1 - c0, n = (r1 - r0) * width;
    // Max: key = |error| bits + 1 (0: no pair), tie = floatKey(tMag), first index, value.
    uint key = 0u, tie = 0u, idx = 0xffffffffu, val = 0u, count = 0u;
    precise float sum = 0.0;
    for (uint j = gl_LocalInvocationIndex; j < n; j += QS_WG_SIZE) {
        uint at = (r0 + j / width) * pc.cols + c0 + j % width;
        float a = w[at], b = q[at];
        if (!isFiniteBits(floatBitsToUint(a)) || !isFiniteBits(floatBitsToUint(b))) continue;
        float s, t;
        exactDiff(a, b, s, t);
        float e = pc.kind == kSigned ? s : abs(s);
        uint tk = tMagnitudeKey(s, t);
        if (pc.kind == kRelative) {
            if (a == 0.0 && s != 0.0) continue; // a zero weight has a relative error only when exact
            precise float r = a == 0.0 ? 0.0 : abs(s) / abs(a);
            e = r;
            tk = 0u;
        }
        ++count;
        sum += e;
        uint k = (floatBitsToUint(e) & 0x7fffffffu) + 1u;
        if (better(k, tk, j, key, tie, idx)) key = k, tie = tk, idx = j, val = floatBitsToUint(e);
    }
    float gsum = subgroupAdd(sum);
    uint gcount = subgroupAdd(count);
    uint gkey = subgroupMax(key);
    uint gtie = subgroupMax(key == gkey ? tie : 0u);
    uint gidx = subgroupMin(key == gkey && tie == gtie ? idx : 0xffffffffu);
    uint gval = subgroupMax(key == gkey && tie == gtie && idx == gidx ? floatKey(uintBitsToFloat(val)) : 0u);
    if (subgroupElect()) {
        uint g = gl_SubgroupID;
        sSum[g] = gsum, sCount[g] = gcount, sKey[g] = gkey, sTie[g] = gtie, sIdx[g] = gidx, sVal[g] = gval;
    }
    barrier();
    if (gl_LocalInvocationIndex != 0u) return;
    precise float tsum = 0.0;
    uint tcount = 0u, tkey = 0u, ttie = 0u, tidx = 0xffffffffu, tval = 0u;
    for (uint g = 0u; g < gl_NumSubgroups; ++g) {
        tsum += sSum[g], tcount += sCount[g];
        if (better(sKey[g], sTie[g], sIdx[g], tkey, ttie, tidx))
            tkey = sKey[g], ttie = sTie[g], tidx = sIdx[g], tval = sVal[g];
    }
    uint o = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 2u;
    if (pc.pooling == kMax) {
        cells[o] = tkey == 0u ? 0u : floatBitsToUint(floatFromKey(tval));
        cells[o + 1u] = tkey == 0u ? 0u : 1u;
    } else {
        cells[o] = floatBitsToUint(tsum);
        cells[o + 1u] = tcount;
    }
}
