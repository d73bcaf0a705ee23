// The weight element W[n][k] of a linear layer for each storage format, decoded exactly as the
// engine decodes it on the CPU (every product and difference `precise`: no fused
// multiply-add, each operation correctly rounded as in the CPU code built with
// -ffp-contract=off). Row n of the chunk starts at word n * pc.rowWords of w[].
// The includer declares w[] (uint), scales[] and zeros[] (float) and the LinearPush block pc,
// and defines exactly one of:
//   W_F32    f32 bits
//   W_BF16   bf16, two per word (element k in the low half when k is even)
//   W_F16    IEEE half, two per word (as W_BF16), widened by bits with exact_float.glsl's
//            f16ToF32 (subnormal halves are f32 normals; unpackHalf2x16 may flush them)
//   W_INT8   int8 codes, four per word (Int8 precision: weightAt is the integer code)
//   W_INT    b-bit codes (pc.bits) packed from bit k*b of the row as the engine's packBits,
//            value (code - zero point) * scale of the element's group (quant ScaledCodec)
//   W_Q4K    ggml Q4_K super-blocks of 256 values (144 bytes = 36 words), value
//            (d * sc) * q - dmin * m as dequantize_row_q4_K
#ifndef QS_LINEAR_WEIGHTS_GLSL
#define QS_LINEAR_WEIGHTS_GLSL

#ifdef W_INT8
#define WEIGHT_T int
#else
#define WEIGHT_T float
#endif

#if defined(W_F32)
float weightAt(uint n, uint k) { return uintBitsToFloat(w[n * pc.rowWords + k]); }

#elif defined(W_BF16)
float weightAt(uint n, uint k)
{
    uint word = w[n * pc.rowWords + (k >> 1u)];
    return uintBitsToFloat((k & 1u) != 0u ? (word & 0xffff0000u) : (word << 16u));
}

#elif defined(W_F16)
#include "exact_float.glsl"

float weightAt(uint n, uint k)
{
    uint word = w[n * pc.rowWords + (k >> 1u)];
    return f16ToF32((k & 1u) != 0u ? (word >> 16u) : (word & 0xffffu));
}

#elif defined(W_INT8)
int weightAt(uint n, uint k)
{
    uint word = w[n * pc.rowWords + (k >> 2u)];
    return bitfieldExtract(int(word), int((k & 3u) * 8u), 8);
}

#elif defined(W_INT)
// quant::GroupGrid::groupOf: tensor 0; channel r; input channel k; group r * perRow + k / width.
uint scaleGroup(uint r, uint k)
{
    if (pc.granularity == 0u) return 0u;
    if (pc.granularity == 1u) return r;
    if (pc.granularity == 2u) return k;
    return r * pc.groupsPerRow + k / pc.groupWidth;
}

float weightAt(uint n, uint k)
{
    uint bit = k * pc.bits;
    uint index = n * pc.rowWords + (bit >> 5u);
    uint shift = bit & 31u;
    uint v = w[index] >> shift;
    if (shift + pc.bits > 32u) v |= w[index + 1u] << (32u - shift);
    v &= (1u << pc.bits) - 1u;
    float code = pc.asym != 0u ? float(v) : float(bitfieldExtract(int(v), 0, int(pc.bits)));
    uint g = scaleGroup(pc.rowOffset + n, k);
    float zero = pc.asym != 0u ? zeros[g] : 0.0;
    precise float centred = code - zero; // exact: small integers
    precise float value = centred * scales[g];
    return value;
}

#elif defined(W_Q4K)
#include "exact_float.glsl"

uint blockByte(uint base, uint i) { return (w[base + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu; }

float weightAt(uint n, uint k)
{
    uint base = n * pc.rowWords + (k >> 8u) * 36u;
    uint e = k & 255u;
    uint chunk = e >> 6u, high = (e >> 5u) & 1u, l = e & 31u;
    // d, dmin widened by bits: unpackHalf2x16 may flush subnormal halves on a GPU.
    vec2 dm = vec2(f16ToF32(w[base] & 0xffffu), f16ToF32(w[base] >> 16u));
    uint j = 2u * chunk + high;        // get_scale_min_k4 over scales[12] at byte 4
    uint sc, m;
    if (j < 4u) {
        sc = blockByte(base, 4u + j) & 63u;
        m = blockByte(base, 4u + j + 4u) & 63u;
    } else {
        sc = (blockByte(base, 4u + j + 4u) & 0xfu) | ((blockByte(base, 4u + j - 4u) >> 6u) << 4u);
        m = (blockByte(base, 4u + j + 4u) >> 4u) | ((blockByte(base, 4u + j) >> 6u) << 4u);
    }
    uint qbyte = blockByte(base, 16u + 32u * chunk + l);
    uint q = high != 0u ? (qbyte >> 4u) : (qbyte & 0xfu);
    precise float d1 = dm.x * float(sc);
    precise float m1 = dm.y * float(m);
    precise float scaled = d1 * float(q);
    precise float value = scaled - m1;
    return value;
}
#endif

#endif
