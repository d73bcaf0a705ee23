#version 450
// Q8_0 / Q4_0 (variant Q8_0 or Q4_0): one invocation per 32-value block, ggml's
// quantize_row_q8_0_ref / quantize_row_q4_0_ref step by step (ggml_quant_legacy.cpp) with
// exactly rounded division (exact_float.glsl), after the codec's cleaning (a non-finite weight
// counts as 0). Writes the block's bytes into a word-aligned record (the host copies the
// 34 / 18 bytes out), its 32 decoded values (core's GGUF dequantizer: q * d, (q - 8) * d), and
// per block the finite absmax (the clip) and the hazard flag (the host redoes such blocks).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

#include "push_quantize_blocks.h"
#include "exact_float.glsl"

#ifdef Q8_0
#define REC_WORDS 9
#else
#define REC_WORDS 5
#endif

layout(std430, binding = 0) readonly buffer Src { float xs[]; };
layout(std430, binding = 1) writeonly buffer Records { uint records[]; };
layout(std430, binding = 2) writeonly buffer Dequant { float dequant[]; };
layout(std430, binding = 3) writeonly buffer Info { uint info[]; }; // [absmax bits, hazard] per block

uint rec[REC_WORDS];

void setByte(uint i, uint v) { rec[i >> 2] |= (v & 0xffu) << ((i & 3u) * 8u); }

/// What a C cast to a small integer type keeps on x86-64 for |v| < 2^31: trunc, low 8 bits.
uint low8Trunc(float v) { return uint(int(trunc(v))) & 0xffu; }

/// std::round: half away from zero (|v| small).
float roundHalfAway(float v)
{
    precise float a = abs(v);
    precise float t = trunc(a);
    precise float r = (a - t) >= 0.5 ? t + 1.0 : t;
    return v < 0.0 ? -r : r;
}

void main()
{
    uint b = gl_GlobalInvocationID.x;
    if (b >= pc.blocks) return;
    float x[32];
    uint amaxBits = 0u;
    for (uint j = 0u; j < 32u; ++j) {
        float v = xs[b * 32u + j];
        bool finite = isFiniteBits(v);
        if (finite) amaxBits = max(amaxBits, absBits(v));
        x[j] = finite ? v : 0.0;
        need(inRange(x[j], 100u));
    }
    for (uint w = 0u; w < REC_WORDS; ++w) rec[w] = 0u;
    float y[32];
#ifdef Q8_0
    float d = crDiv(uintBitsToFloat(amaxBits), 127.0);
    float id = isZeroBits(d) ? 0.0 : crDiv(1.0, d);
    uint dh = f32ToF16(d);
    float dq = f16ToF32(dh);
    setByte(0u, dh);
    setByte(1u, dh >> 8);
    for (uint j = 0u; j < 32u; ++j) {
        // The product only feeds round(): below 2^-100 (flushed or not) it rounds to 0.
        precise float p = x[j] * id;
        uint c = low8Trunc(roundHalfAway(p));
        setByte(2u + j, c);
        precise float v = float(int(c << 24) >> 24) * dq;
        y[j] = v;
    }
#else
    float amax = 0.0, mx = 0.0;
    for (uint j = 0u; j < 32u; ++j) {
        if (amax < abs(x[j])) { amax = abs(x[j]); mx = x[j]; }
    }
    float d = crDiv(mx, -8.0);
    float id = isZeroBits(d) ? 0.0 : crDiv(1.0, d);
    uint dh = f32ToF16(d);
    float dq = f16ToF32(dh);
    setByte(0u, dh);
    setByte(1u, dh >> 8);
    uint codes[32];
    for (uint j = 0u; j < 32u; ++j) {
        precise float p = x[j] * id; // only feeds the truncation, as above
        precise float s = p + 8.5;
        int t = int(low8Trunc(s) << 24) >> 24; // (int8_t)
        codes[j] = uint(min(15, t)) & 0xffu;
    }
    for (uint j = 0u; j < 16u; ++j) {
        uint byteV = (codes[j] | (codes[j + 16u] << 4)) & 0xffu;
        setByte(2u + j, byteV);
        precise float v0 = float(int(byteV & 15u) - 8) * dq;
        precise float v1 = float(int(byteV >> 4) - 8) * dq;
        y[j] = v0;
        y[j + 16u] = v1;
    }
#endif
    for (uint w = 0u; w < REC_WORDS; ++w) records[b * REC_WORDS + w] = rec[w];
    for (uint j = 0u; j < 32u; ++j) dequant[b * 32u + j] = y[j];
    info[2u * b] = amaxBits;
    info[2u * b + 1u] = g_hazard ? 1u : 0u;
}
