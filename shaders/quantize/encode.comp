#version 450
// Codes and decoded values of a chunk of rows under per-group parameters fitted on the host,
// bit for bit what quant::quantizeRtn's codecs write (codecs/scaled_codec.cpp,
// codecs/nf4_codec.cpp). Each invocation codes four consecutive weights and writes their four
// code bytes as one word. Every division and product goes through quantize_exact.glsl, every
// comparison that may meet an Inf, a NaN or a signed zero through bits or integers, so neither
// the GPU's division error nor its freedom to ignore NaN/Inf/-0 or flush subnormals changes
// a result. Variants (one define each):
//   INT  scale, zero point: level = clamp(round(x / s) + z, qmin, qmax) (non-finite x: z),
//        value = (level - z) * s; rounding to nearest even, half away, or stochastic
//        (floor(x / s + u), u from the splitmix64 stream of the weight's position)
//   FP8  scale: element = roundToMiniFloat(x / s), value = element * s
//   NF4  absmax: the nearest of the 16 levels to x / absmax (a midpoint goes down; NaN: 0.0),
//        value = level * absmax; absmax <= 0: code 7, value 0
// Bindings: 0 weights (f32 bits), 1 per-group scale (f32 bits), 2 INT: per-group zero
// point (f32) / NF4: the 16 levels (quant::nf4Levels, uploaded by the host), 3 codes (four
// bytes a word), 4 decoded values (f32 bits).
#extension GL_GOOGLE_include_directive : require

#define QS_WG_SIZE 64
layout(local_size_x = QS_WG_SIZE) in;

#define QS_QUANTIZE_ENCODE_PUSH
#include "push_quantize.h"
#include "quantize_exact.glsl"
#include "quantize_keys.glsl"
#include "quantize_random.glsl"

layout(std430, binding = 0) readonly buffer Weights { uint weights[]; };
layout(std430, binding = 1) readonly buffer Scales { uint scales[]; };
layout(std430, binding = 2) readonly buffer Extra { float extra[]; };
layout(std430, binding = 3) writeonly buffer Codes { uint codes[]; };
layout(std430, binding = 4) writeonly buffer Values { uint values[]; };

uint groupOf(uint r, uint c)
{
    if (pc.groupMode == QS_QUANT_GROUP_CHANNEL) return r;
    if (pc.groupMode == QS_QUANT_GROUP_INCHANNEL) return c;
    if (pc.groupMode == QS_QUANT_GROUP_BLOCK) return r * pc.perRow + c / pc.width;
    return 0u;
}

#ifdef INT
const uint kRoundLimitBits = 0x4a800000u; // 2^22, quant's kRoundLimit

// The integer nearest to v (|v| <= 2^22, finite) under the push constants' rounding.
int roundLevel(uint vBits, uint index)
{
    float v = uintBitsToFloat(vBits);
    bool negative = (vBits & kQsSign) != 0u;
    if (pc.rounding == QS_QUANT_ROUND_EVEN) return int(qsRoundHalfEven(v));
    if (pc.rounding == QS_QUANT_ROUND_AWAY) {
        precise float a = uintBitsToFloat(vBits & 0x7fffffffu);
        precise float t = qsRoundHalfEven(a);
        t = t > a ? t - 1.0 : t;
        precise float frac = a - t;
        int r = int(frac >= 0.5 ? t + 1.0 : t);
        return negative ? -r : r;
    }
    uvec2 position = qsAdd64(uvec2(pc.baseLo, pc.baseHi), uvec2(index, 0u));
    uint top24 = qsSplitmixAt(uvec2(pc.seedLo, pc.seedHi), position).y >> 8;
    precise float u = float(top24) * (1.0 / 16777216.0); // exact: an integer times 2^-24
    if ((vBits & 0x7fffffffu) < 0x00800000u) {
        // A subnormal (or zero) v: v + u is u for u > 0 and v itself for u = 0; decided on the
        // bits, as a device may flush the subnormal.
        return (top24 == 0u && negative && (vBits & 0x7fffffffu) != 0u) ? -1 : 0;
    }
    precise float s = v + u;
    precise float t = qsRoundHalfEven(s);
    return int(t > s ? t - 1.0 : t);
}

void encode(uint x, uint g, uint index, out uint code, out uint value)
{
    uint s = scales[g];
    int z = int(extra[g]);
    int level = z;
    if (qsIsFinite(x)) {
        uint v = qsDiv(x, s);
        if ((v & 0x7fffffffu) > kRoundLimitBits) v = (v & kQsSign) | kRoundLimitBits;
        level = clamp(roundLevel(v, index) + z, int(pc.qmin), int(pc.qmax));
    }
    code = uint(level) & 0xffu;
    value = qsMul(floatBitsToUint(float(level - z)), s);
}
#endif

#ifdef FP8
// quant::roundToMiniFloat of the value with bits v, as bits.
uint roundToMiniFloat(uint v)
{
    uint sign = v & kQsSign;
    uint mag = v & 0x7fffffffu;
    if (qsIsNan(v)) return sign | 0x7fc00000u;
    uint twiceMax = floatBitsToUint(2.0 * pc.maxFinite);
    if (mag > twiceMax) mag = twiceMax; // also +-Inf: finite from here on
    int emin = 1 - pc.bias;
    int e = max(int(mag >> 23) - 127, emin);
    int quantumExp = e - int(pc.mantBits);
    // mag / 2^quantumExp and back: products with powers of two, exact for normal results (a
    // subnormal product rounds to 0 whether or not the device flushes it).
    precise float scaled = uintBitsToFloat(mag) * uintBitsToFloat(uint(127 - quantumExp) << 23);
    precise float q = qsRoundHalfEven(scaled) * uintBitsToFloat(uint(127 + quantumExp) << 23);
    if (q > pc.maxFinite) {
        if (pc.saturate != 0u) return sign | floatBitsToUint(pc.maxFinite);
        return sign | (pc.hasInf != 0u ? kQsInf : 0x7fc00000u);
    }
    return sign | floatBitsToUint(q);
}

// quant::miniFloatBits: the bit pattern of a value of the format (NaN: all ones, Inf: the
// all-ones exponent).
uint miniFloatBits(uint v)
{
    uint width = pc.expBits + pc.mantBits;
    uint sign = (v >> 31) << width;
    uint mag = v & 0x7fffffffu;
    if (mag > kQsInf) return sign | ((1u << width) - 1u);
    if (mag == kQsInf) return sign | (((1u << pc.expBits) - 1u) << pc.mantBits);
    if (mag == 0u) return sign;
    int e = int(mag >> 23) - 127;
    int emin = 1 - pc.bias;
    if (e < emin) {
        // A subnormal of the format: the value in units of 2^(emin - mantBits), exactly.
        uint sig = (mag & 0x7fffffu) | 0x800000u;
        return sign | (sig >> uint(23 + emin - int(pc.mantBits) - e));
    }
    return sign | (uint(e + pc.bias) << pc.mantBits) | ((mag >> (23u - pc.mantBits)) & ((1u << pc.mantBits) - 1u));
}

void encode(uint x, uint g, uint index, out uint code, out uint value)
{
    uint s = scales[g];
    uint element = roundToMiniFloat(qsDiv(x, s));
    code = miniFloatBits(element);
    value = qsIsNan(element) ? (element & kQsSign) | 0x7fc00000u : qsMul(element, s);
}
#endif

#ifdef NF4
shared float nf4Mids[15]; // the codec's midpoints (l[k] + l[k+1]) / 2, filled once a workgroup

void loadMids()
{
    if (gl_LocalInvocationIndex < 15u) {
        precise float mid = (extra[gl_LocalInvocationIndex] + extra[gl_LocalInvocationIndex + 1u]) * 0.5;
        nf4Mids[gl_LocalInvocationIndex] = mid;
    }
    barrier();
}

void encode(uint x, uint g, uint index, out uint code, out uint value)
{
    uint a = scales[g];
    if ((a & kQsSign) != 0u || a == 0u || qsIsNan(a)) { // absmax <= 0 (bits: no flush)
        code = 7u;
        value = 0u;
        return;
    }
    uint vKey = qsKey(qsDiv(x, a));
    uint idx = 0u;
    for (uint k = 0u; k < 15u; ++k) idx += vKey > qsKey(floatBitsToUint(nf4Mids[k])) ? 1u : 0u;
    if (qsIsNan(x)) idx = 7u;
    code = idx;
    value = qsMul(floatBitsToUint(extra[idx]), a);
}
#endif

void main()
{
#ifdef NF4
    loadMids();
#endif
    uint count = pc.rows * pc.cols;
    uint words = (count + 3u) / 4u;
    for (uint w = gl_GlobalInvocationID.x; w < words; w += gl_NumWorkGroups.x * QS_WG_SIZE) {
        uint packed = 0u;
        for (uint k = 0u; k < 4u; ++k) {
            uint i = w * 4u + k;
            if (i >= count) break;
            uint r = i / pc.cols, c = i % pc.cols;
            uint code, value;
            encode(weights[i], groupOf(r, c), i, code, value);
            packed |= code << (8u * k);
            values[i] = value;
        }
        codes[w] = packed;
    }
}
