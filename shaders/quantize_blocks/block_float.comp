#version 450
// MXFP4 / MXFP8 / NVFP4 (variants MXFP4, MXFP8, NVFP4): one invocation per block (32 or 16
// columns of one row; the last block of a row may be shorter), the codec's arithmetic
// (block_float_codec.cpp, floatquant.h) bit for bit:
//   MX: E8M0 scale 2^e, e = clamp(floor(log2 amax) - emax_elem, -127, 127); x / 2^e and the
//       decoded value (elem x 2^e) are exact power-of-two scalings, done on the bits, so
//       subnormal weights and the subnormal scale 2^-127 cost nothing.
//   NV: scale code = e4m3(amax / 6 / tensorScale), s = e4m3(code) x tensorScale, element
//       e2m1(x / s), value e2m1 x s, with correctly rounded quotients (exact_float.glsl);
//       the host keeps tensorScale within 2^+-60 so every value stays normal.
// Codes and values are written to a layout padded to whole blocks per row (the host drops
// the padding); per block: [scale code, clip bits, hazard].
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

#include "push_quantize_blocks.h"
#include "exact_float.glsl"

#if defined(NVFP4)
#define BLOCK 16u
#define EXP_BITS 2
#define MANT_BITS 1
#define BIAS 1
#define MAX_FINITE 6.0
#elif defined(MXFP8)
#define BLOCK 32u
#define EXP_BITS 4
#define MANT_BITS 3
#define BIAS 7
#define MAX_FINITE 448.0
#define EMAX_ELEM 8
#else
#define BLOCK 32u
#define EXP_BITS 2
#define MANT_BITS 1
#define BIAS 1
#define MAX_FINITE 6.0
#define EMAX_ELEM 2
#endif

layout(std430, binding = 0) readonly buffer Src { uint xs[]; };  // f32 bits
layout(std430, binding = 1) writeonly buffer Codes { uint codes[]; };
layout(std430, binding = 2) writeonly buffer Dequant { uint dequant[]; }; // f32 bits
layout(std430, binding = 3) writeonly buffer Info { uint info[]; };

/// roundToMiniFloat(a) for a >= 0 finite, Saturate (floatquant.h), in a format of `mant`
/// mantissa bits, exponent bias `bias` and largest value `maxFinite`: a / quantum is a
/// power-of-two scaling, exact in f32, so it is a product here.
float roundMiniF(float a, int mant, int bias, float maxFinite)
{
    a = a > 2.0 * maxFinite ? 2.0 * maxFinite : a;
    int e = max(int(expField(a)) - 127, 1 - bias);
    precise float scaled = a * pow2(mant - e);
    precise float q = roundHalfEven(scaled) * pow2(e - mant);
    return q > maxFinite ? maxFinite : q;
}

/// miniFloatBits for a non-negative value of the format (sign added by the caller).
uint miniBitsF(float q, int mant, int bias)
{
    uint mag = floatBitsToUint(q);
    int e = int(mag >> 23) - 127;
    int emin = 1 - bias;
    uint normal = (uint(e + bias) << mant) | ((mag >> (23 - mant)) & ((1u << mant) - 1u));
    precise float units = uintBitsToFloat(e < emin ? mag : 0u) * pow2(mant - emin);
    return e < emin ? uint(int(units)) : normal;
}

float roundMini(float a) { return roundMiniF(a, MANT_BITS, BIAS, MAX_FINITE); }
uint miniBits(float q) { return miniBitsF(q, MANT_BITS, BIAS); }

#ifdef NVFP4
/// NVFP4's E4M3 block scale code of a block of largest magnitude amax (> tensorScale / 512).
uint miniBitsE4M3(float amax, float ts)
{
    return miniBitsF(roundMiniF(crDiv(crDiv(amax, 6.0), ts), 3, 7, 448.0), 3, 7);
}

/// The value of a (non-negative, non-NaN) E4M3 code, exact.
float e4m3Value(uint c)
{
    uint e = (c >> 3) & 15u, m = c & 7u;
    if (e == 0u) return float(m) * pow2(-9);
    return uintBitsToFloat(((e + 120u) << 23) | (m << 20));
}
#endif

/// The bits of m x 2^k for a non-negative m (normal or 0), RNE into the subnormal range.
uint ldexpBits(float m, int k)
{
    uint bits = floatBitsToUint(m);
    if (bits == 0u) return 0u;
    int e = int(bits >> 23) + k; // biased exponent of the result
    if (e >= 1) return (uint(e) << 23) | (bits & 0x7fffffu);
    uint mant = (bits & 0x7fffffu) | 0x800000u;
    uint shift = uint(1 - e);
    if (shift > 25u) return 0u;
    uint units = mant >> shift;
    uint rest = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (units & 1u) != 0u)) ++units;
    return units;
}

/// |x| x 2^k (|x| finite, possibly subnormal) when that is >= 2^-126; else 0 (it then rounds
/// to 0 in every element format, as the CPU's subnormal quotient does).
float scaleAbs(uint xbits, int k)
{
    uint mag = xbits & 0x7fffffffu;
    if (mag == 0u) return 0.0;
    int e = int(mag >> 23);
    uint mant = mag & 0x7fffffu;
    if (e == 0) { // subnormal: normalise
        int p = findMSB(mant);
        e = p - 22;
        mant = (mant << uint(23 - p)) & 0x7fffffu;
    }
    int r = e + k;
    return r >= 1 ? uintBitsToFloat((uint(r) << 23) | mant) : 0.0;
}

void main()
{
    uint blockIndex = gl_GlobalInvocationID.x;
    if (blockIndex >= pc.blocks) return;
    uint r = blockIndex / pc.perRow, g = blockIndex % pc.perRow;
    uint c0 = g * BLOCK;
    uint n = min(BLOCK, pc.cols - c0);
    uint base = r * pc.cols + c0;
    uint amaxBits = 0u;
    for (uint j = 0u; j < n; ++j) {
        uint b = xs[base + j];
        if ((b & 0x7fffffffu) < 0x7f800000u) amaxBits = max(amaxBits, b & 0x7fffffffu);
    }
#ifdef NVFP4
    float amax = uintBitsToFloat(amaxBits);
    float ts = pc.tensorScale;
    uint scaleCode = 0u;
    precise float lim = ts * (1.0 / 512.0);
    if (amax > lim) scaleCode = miniBitsE4M3(amax, ts);
    precise float s = e4m3Value(scaleCode) * ts;
    precise float keep = MAX_FINITE * s;
    uint keepBits = floatBitsToUint(keep);
#else
    int fl = -1000;
    if (amaxBits != 0u) fl = (amaxBits >> 23) != 0u ? int(amaxBits >> 23) - 127 : findMSB(amaxBits) - 149;
    int e = amaxBits == 0u ? -127 : clamp(fl - EMAX_ELEM, -127, 127);
    uint scaleCode = uint(e + 127);
    uint keepBits = ldexpBits(MAX_FINITE, e);
#endif
    uint words[BLOCK / 4u];
    for (uint w = 0u; w < BLOCK / 4u; ++w) words[w] = 0u;
    uint outBase = (r * pc.perRow + g) * BLOCK;
    for (uint j = 0u; j < BLOCK; ++j) {
        uint code = 0u, value = 0u;
        uint xb = j < n ? xs[base + j] : 0u;
        uint sign = xb & 0x80000000u;
        if (j < n && (xb & 0x7fffffffu) < 0x7f800000u) {
#ifdef NVFP4
            if (s > 0.0) {
                float a = uintBitsToFloat(xb & 0x7fffffffu);
                precise float tiny = s * 0.125;
                float q = a <= tiny ? 0.0 : roundMini(crDiv(a, s));
                precise float v = q * s;
                code = miniBits(q) | (sign != 0u ? (1u << (EXP_BITS + MANT_BITS)) : 0u);
                value = floatBitsToUint(v) | sign;
            }
#else
            float q = roundMini(scaleAbs(xb, -e));
            code = miniBits(q) | (sign != 0u ? (1u << (EXP_BITS + MANT_BITS)) : 0u);
            value = ldexpBits(q, e) | sign;
#endif
        }
        words[j >> 2] |= code << ((j & 3u) * 8u);
        dequant[outBase + j] = value;
    }
    for (uint w = 0u; w < BLOCK / 4u; ++w) codes[outBase / 4u + w] = words[w];
    info[3u * blockIndex] = scaleCode;
    info[3u * blockIndex + 1u] = keepBits;
    info[3u * blockIndex + 2u] = g_hazard ? 1u : 0u;
}
