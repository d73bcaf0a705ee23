// Element formats E4M3 / E5M2 / E2M1 and the block formats MXFP4, MXFP8, NVFP4 and NF4.
#include "floatquant.h"


#include <algorithm>
#include <cmath>

namespace qs::quant {

uint8_t encodeMiniFloat(float x, const MiniFloat& f, Overflow overflow)
{
    const int width = f.expBits + f.mantBits;
    const auto sign = uint8_t(std::signbit(x) ? 1u << width : 0u);
    const uint8_t allOnes = uint8_t((1u << width) - 1u);
    const float q = std::fabs(roundToMiniFloat(x, f, overflow));
    if (std::isnan(q)) return f.hasNaN ? uint8_t(sign | allOnes) : 0; // E4M3 S.1111.111
    if (std::isinf(q)) return uint8_t(sign | (((1u << f.expBits) - 1u) << f.mantBits));
    if (q == 0.0f) return sign;
    const int emin = 1 - f.bias;
    const int e = std::ilogb(q);
    if (e < emin) {
        // Subnormal: q is a multiple of 2^(emin - mantBits).
        const auto mant = uint8_t(std::ldexp(q, f.mantBits - emin));
        return uint8_t(sign | mant);
    }
    const auto mant = uint8_t(std::ldexp(q, f.mantBits - e) - float(1u << f.mantBits));
    return uint8_t(sign | (uint32_t(e + f.bias) << f.mantBits) | mant);
}

float decodeMiniFloat(uint8_t bits, const MiniFloat& f)
{
    const int width = f.expBits + f.mantBits;
    const bool negative = ((bits >> width) & 1u) != 0;
    const uint32_t expField = (bits >> f.mantBits) & ((1u << f.expBits) - 1u);
    const uint32_t mant = bits & ((1u << f.mantBits) - 1u);
    const uint32_t expMax = (1u << f.expBits) - 1u;
    float v;
    if (f.hasInf && expField == expMax) {
        v = mant == 0 ? std::numeric_limits<float>::infinity()
                      : std::numeric_limits<float>::quiet_NaN();
    } else if (!f.hasInf && f.hasNaN && expField == expMax && mant == (1u << f.mantBits) - 1u) {
        v = std::numeric_limits<float>::quiet_NaN(); // E4M3FN: only S.1111.111 is NaN
    } else if (expField == 0) {
        v = std::ldexp(float(mant), 1 - f.bias - f.mantBits);
    } else {
        v = std::ldexp(float(mant + (1u << f.mantBits)), int(expField) - f.bias - f.mantBits);
    }
    return negative ? -v : v;
}

const std::array<float, 16>& nf4Levels()
{
    // bitsandbytes functional.py, the NF4 data table (QLoRA, appendix E).
    static const std::array<float, 16> levels{
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
        0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
        0.7229568362236023f, 1.0f};
    return levels;
}

namespace {

/// Midpoints between neighbouring NF4 levels: the decision boundaries of nearest-level search.
const std::array<float, 15>& nf4Midpoints()
{
    static const std::array<float, 15> mids = [] {
        std::array<float, 15> m{};
        const auto& l = nf4Levels();
        for (size_t k = 0; k < m.size(); ++k) m[k] = (l[k] + l[k + 1]) * 0.5f;
        return m;
    }();
    return mids;
}

} // namespace

int nf4Index(float v)
{
    if (std::isnan(v)) return 7;
    int idx = 0;
    for (float m : nf4Midpoints()) idx += v > m ? 1 : 0;
    return idx;
}

} // namespace qs::quant
