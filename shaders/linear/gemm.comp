#version 450
// GEMM (batch > 4): a workgroup of 16 x 16 invocations computes a TM x TN tile of y (TM batch
// rows, TN weight rows), stepping through K in slices of TK: each slice of x and of the
// decoded weights is staged in shared memory once and read by all invocations; each
// invocation keeps a 2 x 2 block of sums (rows ty + 16 i, columns tx + 16 j).
// Variants (one of): W_F32, W_BF16, W_F16, W_INT8, W_INT, W_Q4K (linear_weights.glsl).
#extension GL_GOOGLE_include_directive : require

#define TM 32u
#define TN 32u
#define TK 16u
layout(local_size_x = 16, local_size_y = 16) in;

#include "linear_io.glsl"

shared WEIGHT_T xs[TM][TK + 1u];
shared WEIGHT_T ws[TN][TK + 1u];

void main()
{
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint lid = gl_LocalInvocationIndex;
    uint n0 = gl_WorkGroupID.x * TN, b0 = gl_WorkGroupID.y * TM;
    uint K = pc.inFeatures;
    WEIGHT_T acc[2][2];
    for (uint i = 0u; i < 2u; ++i)
        for (uint j = 0u; j < 2u; ++j) acc[i][j] = WEIGHT_T(0);
    for (uint k0 = 0u; k0 < K; k0 += TK) {
        for (uint e = lid; e < TM * TK; e += 256u) { // TM == TN: one loop stages both tiles
            uint r = e / TK, kk = e % TK, k = k0 + kk;
            xs[r][kk] = (b0 + r < pc.batch && k < K) ? x[(b0 + r) * K + k] : WEIGHT_T(0);
            ws[r][kk] = (n0 + r < pc.rows && k < K) ? weightAt(n0 + r, k) : WEIGHT_T(0);
        }
        barrier();
        for (uint kk = 0u; kk < TK; ++kk) {
            WEIGHT_T a0 = xs[ty][kk], a1 = xs[ty + 16u][kk];
            WEIGHT_T w0 = ws[tx][kk], w1 = ws[tx + 16u][kk];
            acc[0][0] += a0 * w0;
            acc[0][1] += a0 * w1;
            acc[1][0] += a1 * w0;
            acc[1][1] += a1 * w1;
        }
        barrier();
    }
    for (uint i = 0u; i < 2u; ++i)
        for (uint j = 0u; j < 2u; ++j) {
            uint b = b0 + ty + 16u * i, n = n0 + tx + 16u * j;
            if (b < pc.batch && n < pc.rows) storeOutput(b, n, acc[i][j]);
        }
}
