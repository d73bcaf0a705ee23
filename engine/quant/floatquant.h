#pragma once
/// Small floating-point element formats and the block formats built on them:
///   E4M3 (OCP "E4M3FN": bias 7, no Inf, S.1111.111 = NaN, max 448, min subnormal 2^-9),
///   E5M2 (bias 15, IEEE-like Inf/NaN, max 57344, min subnormal 2^-16),
///   E2M1 (FP4: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives; no Inf or NaN),
/// as defined in the OCP 8-bit Floating Point Specification (OFP8) rev. 1.0 and the OCP
/// Microscaling Formats (MX) v1.0 specification; NVFP4 as NVIDIA describes it (Blackwell /
/// TensorRT Model Optimizer); NF4 from QLoRA (Dettmers et al. 2023, bitsandbytes).
/// The codecs (codecs/) build the formats on these element functions.
#include "scheme.h"
#include "rounding.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace qs::quant {

/// A sign-exponent-mantissa element format.
struct MiniFloat {
    int expBits;
    int mantBits;
    int bias;
    float maxFinite;
    bool hasInf; ///< E5M2 overflows to Inf in non-saturating mode; E4M3 to NaN
    bool hasNaN; ///< E2M1 has no NaN (and therefore always saturates)
};

inline constexpr MiniFloat kE4M3{4, 3, 7, 448.0f, false, true};
inline constexpr MiniFloat kE5M2{5, 2, 15, 57344.0f, true, true};
inline constexpr MiniFloat kE2M1{2, 1, 1, 6.0f, false, false};

/// x rounded to the nearest value of `f` (ties to even, subnormals included). Values whose
/// rounded magnitude exceeds maxFinite become +-maxFinite (Saturate, also +-Inf inputs) or
/// NaN / +-Inf for E5M2 (Overflow::NaN, OCP's non-saturating mode); E2M1 always saturates.
/// NaN stays NaN. Branch-free on purpose: it runs in vectorised element loops.
inline float roundToMiniFloat(float x, const MiniFloat& f, Overflow overflow)
{
    // Clamping first keeps a / quantum small (and Inf finite) for the magic-number rounding;
    // the comparison form keeps NaN.
    float a = std::fabs(x);
    a = a > 2.0f * f.maxFinite ? 2.0f * f.maxFinite : a;
    const int emin = 1 - f.bias;
    int e = int(std::bit_cast<uint32_t>(a) >> 23) - 127;
    e = e < emin ? emin : e;
    // quantum = 2^(e - mantBits): the spacing of the format's values in a's binade.
    const float quantum = std::bit_cast<float>(uint32_t(e - f.mantBits + 127) << 23);
    float q = roundHalfEven(a / quantum) * quantum;
    const bool saturate = overflow == Overflow::Saturate || !f.hasNaN;
    const float over = saturate ? f.maxFinite
                                : (f.hasInf ? std::numeric_limits<float>::infinity()
                                            : std::numeric_limits<float>::quiet_NaN());
    q = q > f.maxFinite ? over : q;
    return std::copysign(q, x);
}

/// The bit pattern (1 + expBits + mantBits bits, right-aligned) of roundToMiniFloat(x).
/// NaN encodes as S.1111.111 (E4M3) / S.11111.11 (E5M2); E2M1 has no NaN: it encodes NaN as +0.
uint8_t encodeMiniFloat(float x, const MiniFloat& f, Overflow overflow = Overflow::Saturate);

/// The value of a bit pattern of `f` (exact).
float decodeMiniFloat(uint8_t bits, const MiniFloat& f);

/// The 16 NF4 levels of bitsandbytes (functional.py, NF4 quantization map), ascending.
const std::array<float, 16>& nf4Levels();

/// Index of the NF4 level nearest to v (v = x / absmax); an exact midpoint goes to the lower
/// level, NaN to level 7 (0.0).
int nf4Index(float v);

/// The bit pattern of a value of `f` (what roundToMiniFloat returns), branch-free so element
/// loops vectorise; equal to encodeMiniFloat for every float (tested). NaN -> S.1111.111
/// (E4M3) / S.11111.11 (E5M2), +0 for E2M1; Inf (E5M2) -> S.11111.00.
[[gnu::always_inline]] inline uint8_t miniFloatBits(float value, const MiniFloat& f)
{
    const uint32_t bits = std::bit_cast<uint32_t>(value);
    const uint32_t sign = (bits >> 31) << (f.expBits + f.mantBits);
    const uint32_t mag = bits & 0x7fffffffu;
    const int e = int(mag >> 23) - 127;
    const int emin = 1 - f.bias;
    // Normal in f: rebias the exponent, keep the top mantBits of the mantissa (exact: the
    // value is on f's grid). Subnormal in f: the value in units of 2^(emin - mantBits).
    const uint32_t normal = (uint32_t(e + f.bias) << f.mantBits) | ((mag >> (23 - f.mantBits)) & ((1u << f.mantBits) - 1u));
    const float units = std::bit_cast<float>(e < emin ? mag : 0u) * std::bit_cast<float>(uint32_t(127 + f.mantBits - emin) << 23);
    const uint32_t sub = uint32_t(int32_t(units)); // an integer < 2^mantBits
    uint32_t code = e < emin ? sub : normal;
    const uint32_t expMax = (1u << f.expBits) - 1u;
    code = mag == 0x7f800000u ? expMax << f.mantBits : code;
    const uint32_t nan = f.hasNaN ? (1u << (f.expBits + f.mantBits)) - 1u : 0u;
    code = mag > 0x7f800000u ? nan : code;
    const uint32_t signBit = mag > 0x7f800000u && !f.hasNaN ? 0u : sign;
    return uint8_t(code | signBit);
}

} // namespace qs::quant
