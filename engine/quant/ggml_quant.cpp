// The ggml block quantizers' table and the IEEE half conversion ggml stores scales with; the
// row driver is the GGUF codec (codecs/ggml_codec.cpp).
#include "ggml_quant.h"
#include "ggml_quant_blocks.h"

#include <bit>

namespace qs::quant {

uint16_t f32ToF16RoundNearestEven(float f)
{
    const auto bits = std::bit_cast<uint32_t>(f);
    const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t mag = bits & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return sign | 0x7E00u;  // NaN
    if (mag >= 0x477FF000u) return sign | 0x7C00u; // >= 65520 rounds (ties to even) to Inf
    if (mag >= 0x38800000u) {
        // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits;
        // a carry out of the mantissa correctly bumps the exponent.
        uint32_t h = ((mag >> 23) - 112u) << 10 | ((mag >> 13) & 0x3FFu);
        const uint32_t rest = mag & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    // Subnormal half: the value in units of 2^-24 is exact in f32 (a power-of-two scaling);
    // adding 2^23 rounds it to an integer, ties to even, in the default rounding mode.
    const float units = std::bit_cast<float>(mag) * 0x1p24f;
    const float rounded = (units + 0x1p23f) - 0x1p23f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(rounded));
}

bool isGgmlQuantizable(core::DType type)
{
    using core::DType;
    switch (type) {
    case DType::Q8_0: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1:
    case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
        return true;
    default:
        return false;
    }
}

GgmlBlockFn ggmlBlockFunction(core::DType type)
{
    using core::DType;
    switch (type) {
    case DType::Q8_0: return ggml::quantizeQ8_0;
    case DType::Q4_0: return ggml::quantizeQ4_0;
    case DType::Q4_1: return ggml::quantizeQ4_1;
    case DType::Q5_0: return ggml::quantizeQ5_0;
    case DType::Q5_1: return ggml::quantizeQ5_1;
    case DType::Q4_K: return ggml::quantizeQ4K;
    case DType::Q5_K: return ggml::quantizeQ5K;
    case DType::Q6_K: return ggml::quantizeQ6K;
    default: return nullptr;
    }
}

GgmlBlockPairFn ggmlBlockPairFunction(core::DType type)
{
    switch (type) {
    case core::DType::Q4_K: return ggml::quantizeQ4KPair;
    case core::DType::Q5_K: return ggml::quantizeQ5KPair;
    default: return nullptr;
    }
}

float roundToHalf(float f)
{
    return core::f16ToF32(f32ToF16RoundNearestEven(f));
}

} // namespace qs::quant
