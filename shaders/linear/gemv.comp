#version 450
// GEMV (small batch): one workgroup per weight row n and block of BT batch rows. Each
// invocation runs over its share of the row in runs of 8 consecutive k (neighbouring
// invocations read neighbouring words), decoding a whole run's weights at once with
// weightRun8 (per element only in a tail run past inFeatures), keeping one sum per batch
// row, added in k order; the workgroup adds
// them with subgroup sums and then across subgroups in a fixed order.
// Variants (one of): W_F32, W_BF16, W_F16, W_INT8, W_INT, W_Q4K (linear_weights.glsl).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#define WG 64u
#define BT 4u
#define RUN 8u
layout(local_size_x = 64) in;

#include "linear_io.glsl"

shared WEIGHT_T partial[WG][BT]; // one row per subgroup (at most WG subgroups)

void main()
{
    uint n = gl_WorkGroupID.x;
    uint b0 = gl_WorkGroupID.y * BT;
    uint K = pc.inFeatures;
    WEIGHT_T acc[BT];
    for (uint b = 0u; b < BT; ++b) acc[b] = WEIGHT_T(0);
    for (uint k0 = gl_LocalInvocationID.x * RUN; k0 < K; k0 += WG * RUN) {
        if (k0 + RUN <= K) {
            WEIGHT_T wv[RUN];
            weightRun8(n, k0, wv);
            for (uint b = 0u; b < BT; ++b) {
                if (b0 + b >= pc.batch) break;
                uint row = (b0 + b) * K + k0;
                for (uint i = 0u; i < RUN; ++i) acc[b] += wv[i] * x[row + i];
            }
        } else {
            for (uint k = k0; k < K; ++k) {
                WEIGHT_T wv = weightAt(n, k);
                for (uint b = 0u; b < BT; ++b)
                    if (b0 + b < pc.batch) acc[b] += wv * x[(b0 + b) * K + k];
            }
        }
    }
    for (uint b = 0u; b < BT; ++b) {
        WEIGHT_T s = subgroupAdd(acc[b]);
        if (subgroupElect()) partial[gl_SubgroupID][b] = s;
    }
    barrier();
    if (gl_LocalInvocationIndex == 0u) {
        for (uint b = 0u; b < BT && b0 + b < pc.batch; ++b) {
            WEIGHT_T sum = partial[0][b];
            for (uint g = 1u; g < gl_NumSubgroups; ++g) sum += partial[g][b];
            storeOutput(b0 + b, n, sum);
        }
    }
}
