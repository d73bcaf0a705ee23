#version 450
// f32 GEMM P = op(A) op(B) (engine/backends/vulkan/kernels/vk_gemm.cpp applies alpha and
// beta while it copies P into C on the host). A workgroup of 16 x 16 invocations computes a
// 64 x 64 tile of P, stepping through K in slices of 32 (two barriers a slice; with slices of
// 16, GPTQ through lavapipe took ~1.3x as long; the two tiles take 16 KiB, the shared memory
// every Vulkan device offers): each slice of op(A) and op(B) is
// staged in shared memory once (loaded with the fastest index along the stored rows, so
// neighbouring invocations read neighbouring words whatever the transposes), and each
// invocation keeps a 4 x 4 block of sums (rows ty + 16 i, columns tx + 16 j). The sums run in
// f32 in k order; the compiler may fuse a * b + s (the host's tolerance allows either).
#extension GL_GOOGLE_include_directive : require

#include "push_gemm.h"

#define TM 64u
#define TN 64u
#define TK 32u
layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, binding = 0) readonly buffer MatrixA { float a[]; };
layout(std430, binding = 1) readonly buffer MatrixB { float b[]; };
layout(std430, binding = 2) writeonly buffer Product { float p[]; };

shared float as[TK][TM]; // as[kk][i] = op(A)[i0 + i][k0 + kk]
shared float bs[TK][TN]; // bs[kk][j] = op(B)[k0 + kk][j0 + j]

// Stages op(A)[i0 .. i0 + TM)[k0 .. k0 + TK) and op(B)[k0 .. k0 + TK)[j0 .. j0 + TN), zero
// outside the matrices.
void stage(uint lid, uint i0, uint j0, uint k0)
{
    for (uint e = lid; e < TM * TK; e += 256u) {
        uint i, kk; // A: along its stored rows first
        if (pc.transA != 0u) { i = e % TM; kk = e / TM; } else { kk = e % TK; i = e / TK; }
        uint gi = i0 + i, gk = k0 + kk;
        float va = 0.0;
        if (gi < pc.m && gk < pc.k) va = pc.transA != 0u ? a[gk * pc.lda + gi] : a[gi * pc.lda + gk];
        as[kk][i] = va;
        uint j, kb; // B: along its stored rows first
        if (pc.transB != 0u) { kb = e % TK; j = e / TK; } else { j = e % TN; kb = e / TN; }
        uint gj = j0 + j, gkb = k0 + kb;
        float vb = 0.0;
        if (gj < pc.n && gkb < pc.k) vb = pc.transB != 0u ? b[gj * pc.ldb + gkb] : b[gkb * pc.ldb + gj];
        bs[kb][j] = vb;
    }
}

void main()
{
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint lid = gl_LocalInvocationIndex;
    uint i0 = gl_WorkGroupID.y * TM, j0 = gl_WorkGroupID.x * TN;
    float acc[4][4];
    for (uint r = 0u; r < 4u; ++r)
        for (uint c = 0u; c < 4u; ++c) acc[r][c] = 0.0;
    for (uint k0 = 0u; k0 < pc.k; k0 += TK) {
        stage(lid, i0, j0, k0);
        barrier();
        for (uint kk = 0u; kk < TK; ++kk) {
            float av[4], bv[4];
            for (uint r = 0u; r < 4u; ++r) av[r] = as[kk][ty + 16u * r];
            for (uint c = 0u; c < 4u; ++c) bv[c] = bs[kk][tx + 16u * c];
            for (uint r = 0u; r < 4u; ++r)
                for (uint c = 0u; c < 4u; ++c) acc[r][c] += av[r] * bv[c];
        }
        barrier();
    }
    for (uint r = 0u; r < 4u; ++r)
        for (uint c = 0u; c < 4u; ++c) {
            uint i = i0 + ty + 16u * r, j = j0 + tx + 16u * c;
            if (i < pc.m && j < pc.n) p[i * pc.n + j] = acc[r][c];
        }
}
