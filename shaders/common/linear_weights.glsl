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
//   W_INT    b-bit codes packed from bit k*b of the row as the engine's packBits, value
//            (code - zero point) * scale of the element's group (quant ScaledCodec); b,
//            sym/asym and the granularity are specialisation constants (see below)
//   W_Q4K    ggml Q4_K super-blocks of 256 values (144 bytes = 36 words), value
//            (d * sc) * q - dmin * m as dequantize_row_q4_K
// weightRun8(n, k0, wv) fills wv[i] = weightAt(n, k0 + i), i < 8, bit for bit, for k0 a
// multiple of 8 with k0 + 8 <= inFeatures, reading each weight word (and for Q4_K the block
// header and the sub-block's scale/min, for W_INT each group's scale/zero the run meets) once per run.
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

void weightRun8(uint n, uint k0, out int wv[8])
{
    uint index = n * pc.rowWords + (k0 >> 2u);
    int lo = int(w[index]), hi = int(w[index + 1u]);
    for (uint i = 0u; i < 4u; ++i) {
        wv[i] = bitfieldExtract(lo, int(i * 8u), 8);
        wv[i + 4u] = bitfieldExtract(hi, int(i * 8u), 8);
    }
}

#elif defined(W_INT)
// The decode is specialised (push_linear.h's QS_LINEAR_SPEC_*): the code width, sym/asym, the
// granularity and a power-of-two group width are constants of the pipeline, so that no
// branch on them is left in the compiled kernel. A GPU would skip the untaken side of a
// uniform branch, but lavapipe runs both sides under a mask: the 2/4/8-bit extraction beside
// the general one, a shift beside a division, cost every run the price of all of them.
layout(constant_id = QS_LINEAR_SPEC_BITS) const uint BITS = 4u;
layout(constant_id = QS_LINEAR_SPEC_ASYM) const uint ASYM = 0u;
layout(constant_id = QS_LINEAR_SPEC_GRANULARITY) const uint GRANULARITY = 3u;
layout(constant_id = QS_LINEAR_SPEC_GROUP_SHIFT) const uint GROUP_SHIFT = QS_LINEAR_NO_SHIFT;
const uint CODE_MASK = (1u << BITS) - 1u;

// k / groupWidth: a shift for power-of-two widths (32, 64, 128, 256), else a division.
uint groupAlongRow(uint k) { return GROUP_SHIFT != QS_LINEAR_NO_SHIFT ? k >> GROUP_SHIFT : k / pc.groupWidth; }

// quant::GroupGrid::groupOf: tensor 0; channel r; input channel k; group r * perRow + k / width.
uint scaleGroup(uint r, uint k)
{
    if (GRANULARITY == 0u) return 0u;
    if (GRANULARITY == 1u) return r;
    if (GRANULARITY == 2u) return k;
    return r * pc.groupsPerRow + groupAlongRow(k);
}

float groupZero(uint g) { return ASYM != 0u ? zeros[g] : 0.0; }

// The value of the b-bit code v in a group of that scale and zero point.
float intValue(uint v, float scale, float zero)
{
    float code = ASYM != 0u ? float(v) : float(bitfieldExtract(int(v), 0, int(BITS)));
    precise float centred = code - zero; // exact: small integers
    precise float value = centred * scale;
    return value;
}

float weightAt(uint n, uint k)
{
    uint bit = k * BITS;
    uint index = n * pc.rowWords + (bit >> 5u);
    uint shift = bit & 31u;
    uint v = w[index] >> shift;
    if (shift + BITS > 32u) v |= w[index + 1u] << (32u - shift);
    v &= CODE_MASK;
    uint g = scaleGroup(pc.rowOffset + n, k);
    return intValue(v, scales[g], groupZero(g));
}

// The run's 8 codes span at most 8 * 8 + 31 bits: three words, each read once. 2- and 4-bit
// codes of a run (k0 a multiple of 8) lie in one word, 8-bit codes in two whole words; only
// the other widths need the general extraction.
void runCodes(uint n, uint k0, out uint v[8])
{
    uint bit = k0 * BITS;
    uint index = n * pc.rowWords + (bit >> 5u);
    uint shift = bit & 31u;
    if (BITS == 2u || BITS == 4u) {
        uint word0 = w[index];
        for (uint i = 0u; i < 8u; ++i) v[i] = (word0 >> (shift + i * BITS)) & CODE_MASK;
    } else if (BITS == 8u) {
        uint word0 = w[index], word1 = w[index + 1u];
        for (uint i = 0u; i < 4u; ++i) {
            v[i] = (word0 >> (i * 8u)) & 0xffu;
            v[i + 4u] = (word1 >> (i * 8u)) & 0xffu;
        }
    } else {
        uint last = (shift + 8u * BITS - 1u) >> 5u;
        uint word0 = w[index];
        uint word1 = last >= 1u ? w[index + 1u] : 0u;
        uint word2 = last >= 2u ? w[index + 2u] : 0u;
        for (uint i = 0u; i < 8u; ++i) {
            uint s = shift + i * BITS;
            uint o = s & 31u;
            uint lo = s < 32u ? word0 : (s < 64u ? word1 : word2);
            uint hi = s < 32u ? word1 : word2;
            uint code = lo >> o;
            if (o + BITS > 32u) code |= hi << (32u - o);
            v[i] = code & CODE_MASK;
        }
    }
}

// The groups a run of 8 meets are visited in a loop, each group's scale and zero point read
// once and given to the elements inside it: one pass for tensor and channel scales and for
// power-of-two group widths >= 8 (runs start at multiples of 8), at most two for other widths
// >= 8, eight for input-channel scales. There is no per-element path beside it: lavapipe runs
// both sides of a branch, and an untaken per-element one (8 scale and zero gathers, 8
// divisions) made the int4:g128 GEMV ~1.5x slower.
void weightRun8(uint n, uint k0, out float wv[8])
{
    uint v[8];
    runCodes(n, k0, v);
    uint r = pc.rowOffset + n;
    // Group base + q covers k in [q * width, (q + 1) * width); whole: the run lies in one group.
    bool whole = GRANULARITY < 2u || (GRANULARITY == 3u && GROUP_SHIFT >= 3u && GROUP_SHIFT != QS_LINEAR_NO_SHIFT);
    uint base, width, q;
    if (GRANULARITY == 3u) {
        base = r * pc.groupsPerRow;
        width = pc.groupWidth;
        q = groupAlongRow(k0);
    } else if (GRANULARITY == 2u) {
        base = 0u;
        width = 1u;
        q = k0;
    } else {
        base = scaleGroup(r, k0);
        width = 0u;
        q = 0u;
    }
    for (uint i = 0u; i < 8u; ++i) wv[i] = 0.0;
    while (true) {
        uint g = base + q;
        float scale = scales[g], zero = groupZero(g);
        uint lo = q * width;
        for (uint i = 0u; i < 8u; ++i) {
            float value = intValue(v[i], scale, zero);
            if (whole || (k0 + i >= lo && k0 + i - lo < width)) wv[i] = value;
        }
        ++q;
        if (whole || q * width >= k0 + 8u) break;
    }
}

#elif defined(W_Q4K)
#include "exact_float.glsl"

uint blockByte(uint base, uint i) { return (w[base + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu; }

// Sub-block j's d * sc and dmin * m of the super-block at word base (get_scale_min_k4 over
// scales[12] at byte 4); d, dmin widened by bits: unpackHalf2x16 may flush subnormal halves.
void q4kSubBlock(uint base, uint j, out float d1, out float m1)
{
    vec2 dm = vec2(f16ToF32(w[base] & 0xffffu), f16ToF32(w[base] >> 16u));
    uint sc, m;
    if (j < 4u) {
        sc = blockByte(base, 4u + j) & 63u;
        m = blockByte(base, 4u + j + 4u) & 63u;
    } else {
        sc = (blockByte(base, 4u + j + 4u) & 0xfu) | ((blockByte(base, 4u + j - 4u) >> 6u) << 4u);
        m = (blockByte(base, 4u + j + 4u) >> 4u) | ((blockByte(base, 4u + j) >> 6u) << 4u);
    }
    precise float d = dm.x * float(sc);
    precise float mm = dm.y * float(m);
    d1 = d;
    m1 = mm;
}

float q4kValue(float d1, float m1, uint q)
{
    precise float scaled = d1 * float(q);
    precise float value = scaled - m1;
    return value;
}

float weightAt(uint n, uint k)
{
    uint base = n * pc.rowWords + (k >> 8u) * 36u;
    uint e = k & 255u;
    uint chunk = e >> 6u, high = (e >> 5u) & 1u, l = e & 31u;
    float d1, m1;
    q4kSubBlock(base, 2u * chunk + high, d1, m1);
    uint qbyte = blockByte(base, 16u + 32u * chunk + l);
    uint q = high != 0u ? (qbyte >> 4u) : (qbyte & 0xfu);
    return q4kValue(d1, m1, q);
}

// A run of 8 lies in one 32-value sub-block: its quants are the nibbles of two words.
void weightRun8(uint n, uint k0, out float wv[8])
{
    uint base = n * pc.rowWords + (k0 >> 8u) * 36u;
    uint e = k0 & 255u;
    uint chunk = e >> 6u, high = (e >> 5u) & 1u, l = e & 31u;
    float d1, m1;
    q4kSubBlock(base, 2u * chunk + high, d1, m1);
    uint index = base + 4u + 8u * chunk + (l >> 2u); // byte 16 + 32 * chunk + l
    uint lo = w[index], hi = w[index + 1u];
    uint nibble = high * 4u;
    for (uint i = 0u; i < 4u; ++i) {
        wv[i] = q4kValue(d1, m1, (lo >> (i * 8u + nibble)) & 0xfu);
        wv[i + 4u] = q4kValue(d1, m1, (hi >> (i * 8u + nibble)) & 0xfu);
    }
}
#endif

#if defined(W_F32) || defined(W_BF16) || defined(W_F16)
void weightRun8(uint n, uint k0, out float wv[8])
{
    for (uint i = 0u; i < 8u; ++i) wv[i] = weightAt(n, k0 + i);
}
#endif

#endif
