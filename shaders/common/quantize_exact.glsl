// Exact IEEE binary32 arithmetic on bit patterns for the quantize shaders (shaders/quantize/).
// A GPU's division is not correctly rounded (Vulkan allows 2.5 ulp) and a driver may flush
// subnormals (lavapipe can neither promise to keep nor to flush them), while the CPU codecs
// divide and multiply with correctly rounded SSE/AVX instructions. qsDiv and qsMul compute the
// correctly rounded (ties to even) quotient and product in integer arithmetic, subnormals
// included, so a code or a decoded value is the CPU's bit for bit by construction. NaN
// operands give the first NaN quietened, as x86 does; Inf and zero follow IEEE 754.
#ifndef QS_QUANTIZE_EXACT_GLSL
#define QS_QUANTIZE_EXACT_GLSL

const uint kQsSign = 0x80000000u;
const uint kQsInf = 0x7f800000u;
const uint kQsQuiet = 0x00400000u;

bool qsIsNan(uint bits) { return (bits & 0x7fffffffu) > kQsInf; }
bool qsIsFinite(uint bits) { return (bits & 0x7fffffffu) < kQsInf; }

// A finite nonzero magnitude m as sig * 2^(e - 23) with sig in [2^23, 2^24).
void qsUnpack(uint m, out uint sig, out int e)
{
    uint field = m >> 23;
    uint frac = m & 0x7fffffu;
    if (field == 0u) {
        int shift = 23 - findMSB(frac);
        sig = frac << uint(shift);
        e = -126 - shift;
    } else {
        sig = frac | 0x800000u;
        e = int(field) - 127;
    }
}

// sign | the magnitude sig27 * 2^(e - 26) (sig27 in [2^26, 2^27)) plus `sticky` (nonzero bits
// below), rounded to nearest even: a normal, a subnormal, or Inf on overflow.
uint qsRoundPack(uint sign, int e, uint sig27, bool sticky)
{
    int biased = e + 127;
    uint s = sig27;
    if (biased < 1) { // subnormal: shift the significand to the fixed exponent -126
        uint shift = uint(1 - biased);
        if (shift >= 28u) {
            sticky = sticky || s != 0u;
            s = 0u;
        } else {
            sticky = sticky || (s & ((1u << shift) - 1u)) != 0u;
            s >>= shift;
        }
        biased = 0;
    }
    uint keep = s >> 3;
    uint low = s & 7u;
    if (low > 4u || (low == 4u && (sticky || (keep & 1u) != 0u))) keep += 1u;
    if (biased == 0) return sign | keep; // 2^23 after rounding up is the smallest normal
    if (keep >= 0x1000000u) {
        keep >>= 1;
        biased += 1;
    }
    if (biased >= 255) return sign | kQsInf;
    return sign | (uint(biased) << 23) | (keep & 0x7fffffu);
}

// a / b correctly rounded.
uint qsDiv(uint a, uint b)
{
    if (qsIsNan(a)) return a | kQsQuiet;
    if (qsIsNan(b)) return b | kQsQuiet;
    uint sign = (a ^ b) & kQsSign;
    uint ma = a & 0x7fffffffu, mb = b & 0x7fffffffu;
    if (ma == kQsInf) return mb == kQsInf ? 0xffc00000u : sign | kQsInf;
    if (mb == kQsInf) return sign;
    if (mb == 0u) return ma == 0u ? 0xffc00000u : sign | kQsInf;
    if (ma == 0u) return sign;
    uint sa, sb;
    int ea, eb;
    qsUnpack(ma, sa, ea);
    qsUnpack(mb, sb, eb);
    int e = ea - eb;
    if (sa < sb) { // quotient in (1/2, 1): one more bit from the dividend
        sa <<= 1;
        e -= 1;
    }
    // Restoring division: 27 quotient bits (the first is 1), the remainder says "sticky".
    uint q = 0u, rem = sa;
    for (int i = 0; i < 27; ++i) {
        bool bit = rem >= sb;
        if (bit) rem -= sb;
        q = (q << 1) | (bit ? 1u : 0u);
        rem <<= 1;
    }
    return qsRoundPack(sign, e, q, rem != 0u);
}

// a * b correctly rounded.
uint qsMul(uint a, uint b)
{
    if (qsIsNan(a)) return a | kQsQuiet;
    if (qsIsNan(b)) return b | kQsQuiet;
    uint sign = (a ^ b) & kQsSign;
    uint ma = a & 0x7fffffffu, mb = b & 0x7fffffffu;
    if (ma == kQsInf || mb == kQsInf) return (ma == 0u || mb == 0u) ? 0xffc00000u : sign | kQsInf;
    if (ma == 0u || mb == 0u) return sign;
    uint sa, sb;
    int ea, eb;
    qsUnpack(ma, sa, ea);
    qsUnpack(mb, sb, eb);
    uint hi, lo;
    umulExtended(sa, sb, hi, lo); // the exact product, in [2^46, 2^48)
    uint shift = hi >= 0x8000u ? 21u : 20u;
    uint sig27 = (hi << (32u - shift)) | (lo >> shift);
    bool sticky = (lo & ((1u << shift) - 1u)) != 0u;
    return qsRoundPack(sign, ea + eb + int(shift) - 20, sig27, sticky);
}

// Ties-to-even rounding of |v| <= 2^22 to an integer, as quant::roundHalfEven (the same magic
// constant, so a small negative v gives +0 as on the CPU). Additions are correctly rounded in
// Vulkan; `precise` keeps the compiler from reassociating or fusing them.
float qsRoundHalfEven(float v)
{
    precise float t = v + 12582912.0;
    precise float r = t - 12582912.0;
    return r;
}

#endif
