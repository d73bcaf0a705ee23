// Float arithmetic that gives the CPU's IEEE single-precision results bit for bit, by
// construction (shaders/quantize_blocks). Vulkan guarantees correctly rounded 32-bit add, sub
// and mul, but not division or sqrt (2.5 ulp / inherited from inversesqrt), fma may be unfused,
// and denormals may be flushed. So:
//  - every value that must match is `precise` (no contraction into fma);
//  - every result is checked to lie in the safe range {0} U [2^-100, 2^100] (from its bits, not
//    by float comparisons, which may flush); a value outside it sets g_hazard, and the host
//    finishes that block with the CPU codec instead (a flushed subnormal could differ there);
//  - a quotient or square root starts from the GPU's estimate and is settled to the correctly
//    rounded one with an exact residual (Dekker's product, only correctly rounded mul/add).
#ifndef QS_EXACT_FLOAT_GLSL
#define QS_EXACT_FLOAT_GLSL

bool g_hazard = false;

/// The biased exponent field of v (0 for zero and subnormals, 255 for Inf/NaN).
uint expField(float v) { return (floatBitsToUint(v) >> 23) & 0xffu; }
bool isZeroBits(float v) { return (floatBitsToUint(v) & 0x7fffffffu) == 0u; }
bool isFiniteBits(float v) { return (floatBitsToUint(v) & 0x7fffffffu) < 0x7f800000u; }

/// 0 or |v| in [2^(-lim), 2^lim] (exponent fields 127 - lim .. 127 + lim).
bool inRange(float v, uint lim)
{
    uint e = expField(v);
    return isZeroBits(v) || (e >= 127u - lim && e <= 127u + lim);
}

void need(bool ok) { if (!ok) g_hazard = true; }

float sMul(float a, float b)
{
    precise float p = a * b;
    need(inRange(p, 100u) && (!isZeroBits(p) || isZeroBits(a) || isZeroBits(b)));
    return p;
}
float sAdd(float a, float b) { precise float s = a + b; need(inRange(s, 100u)); return s; }
float sSub(float a, float b) { precise float s = a - b; need(inRange(s, 100u)); return s; }

/// 2^e for e in [-126, 127], built from its bits.
float pow2(int e) { return uintBitsToFloat(uint(e + 127) << 23); }

/// Dekker's exact product: a * b = p + e with p = RN(a * b), for |a|, |b|, |p| far from
/// underflow and overflow (callers keep them within 2^+-76).
void twoProd(float a, float b, out float p, out float e)
{
    precise float ca = 4097.0 * a;
    precise float ah = ca - (ca - a);
    precise float al = a - ah;
    precise float cb = 4097.0 * b;
    precise float bh = cb - (cb - b);
    precise float bl = b - bh;
    precise float pp = a * b;
    precise float ee = ((ah * bh - pp) + ah * bl + al * bh) + al * bl;
    p = pp;
    e = ee;
}

float nextUp(float q) { return uintBitsToFloat(floatBitsToUint(q) + 1u); }   // q > 0
float nextDown(float q) { return uintBitsToFloat(floatBitsToUint(q) - 1u); } // q > 0
bool oddBits(float q) { return (floatBitsToUint(q) & 1u) != 0u; }

/// x / y correctly rounded (ties to even), as IEEE division on the CPU.
float crDiv(float x, float y)
{
    uint sign = (floatBitsToUint(x) ^ floatBitsToUint(y)) & 0x80000000u;
    if (isZeroBits(x) && !isZeroBits(y)) return uintBitsToFloat(sign);
    float a = abs(x), b = abs(y);
    precise float q = a / b;
    need(inRange(a, 76u) && inRange(b, 76u) && inRange(q, 76u) && !isZeroBits(q));
    if (g_hazard) return uintBitsToFloat(floatBitsToUint(q) | sign);
    bool done = false;
    for (int it = 0; it < 6 && !done; ++it) {
        float p, e;
        twoProd(q, b, p, e);
        precise float r1 = a - p;  // exact: p is within a factor 2 of a
        precise float r = r1 - e;  // exact once q is within an ulp; its sign is always right
        precise float hHi = (nextUp(q) - q) * 0.5 * b;
        precise float hLo = (q - nextDown(q)) * 0.5 * b;
        if (r > hHi || (r == hHi && oddBits(q))) q = nextUp(q);
        else if (r < -hLo || (r == -hLo && oddBits(q))) q = nextDown(q);
        else done = true;
    }
    need(done);
    return uintBitsToFloat(floatBitsToUint(q) | sign);
}

/// sqrt(v) correctly rounded for v >= 0 (no ties can occur for a square root).
float crSqrt(float v)
{
    if (isZeroBits(v)) return v;
    precise float r = sqrt(v);
    need(inRange(v, 70u) && floatBitsToUint(v) < 0x80000000u);
    if (g_hazard) return r;
    bool done = false;
    for (int it = 0; it < 6 && !done; ++it) {
        float p, e;
        twoProd(r, r, p, e);
        precise float res = (v - p) - e;             // v - r^2, exact once r is within an ulp
        precise float tHi = r * (nextUp(r) - r);     // 2 r h, h = half the gap above r
        precise float tLo = r * (r - nextDown(r));   // 2 r h' below
        if (res > tHi) r = nextUp(r);
        else if (res <= -tLo) r = nextDown(r);
        else done = true;
    }
    need(done);
    return r;
}

/// The integer ggml's nearest_int() returns: the low mantissa bits of v + 1.5 * 2^23.
int nearestInt(float v)
{
    precise float shifted = v + 12582912.0;
    return int(floatBitsToUint(shifted) & 0x007fffffu) - 0x00400000;
}

/// Round half to even for |v| <= 2^22 (rounding.h's roundHalfEven).
float roundHalfEven(float v)
{
    precise float t = (v + 12582912.0) - 12582912.0;
    return t;
}

/// IEEE half nearest to f, ties to even (ggml_quant.cpp's f32ToF16RoundNearestEven).
uint f32ToF16(float f)
{
    uint bits = floatBitsToUint(f);
    uint sign = (bits >> 16) & 0x8000u;
    uint mag = bits & 0x7fffffffu;
    if (mag > 0x7f800000u) return sign | 0x7e00u;
    if (mag >= 0x477ff000u) return sign | 0x7c00u;
    if (mag >= 0x38800000u) {
        uint h = (((mag >> 23) - 112u) << 10) | ((mag >> 13) & 0x3ffu);
        uint rest = mag & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) ++h;
        return sign | h;
    }
    need(mag == 0u || mag >= 0x00800000u); // an f32 subnormal input is not handled here
    precise float units = uintBitsToFloat(mag) * 16777216.0;
    precise float rounded = (units + 8388608.0) - 8388608.0;
    return sign | uint(rounded);
}

/// The f32 value of an IEEE half (exact; core::f16ToF32).
float f16ToF32(uint h)
{
    uint sign = (h >> 15) << 31;
    uint e = (h >> 10) & 0x1fu;
    uint man = h & 0x3ffu;
    if (e == 0x1fu) return uintBitsToFloat(sign | 0x7f800000u | (man << 13));
    if (e != 0u) return uintBitsToFloat(sign | ((e + 112u) << 23) | (man << 13));
    if (man == 0u) return uintBitsToFloat(sign);
    int p = findMSB(man);
    return uintBitsToFloat(sign | (uint(p + 103) << 23) | ((man << uint(23 - p)) & 0x7fffffu));
}

/// |v| as bits: the order of finite non-negative floats is the order of their bits.
uint absBits(float v) { return floatBitsToUint(v) & 0x7fffffffu; }

#endif
