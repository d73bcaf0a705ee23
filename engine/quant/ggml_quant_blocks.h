#pragma once
/// Internal to the ggml quantizers: one function per block type that quantizes one block of
/// floats (all finite) into the block's bytes, as ggml-common.h lays them out. Shared by
/// ggml_quant.cpp (the row driver), ggml_quant_legacy.cpp and ggml_quant_k.cpp.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qs::quant::ggml {

/// ggml's nearest_int(): adding 1.5 * 2^23 leaves the integer in the low mantissa bits,
/// rounded to nearest even. Reproduced bit for bit, including its wrap-around for |x| >= 2^22
/// (ggml asserts against that; a huge ratio can still reach it with tiny scales).
inline int nearestInt(float x)
{
    const float shifted = x + 12582912.f;
    const auto bits = std::bit_cast<int32_t>(shifted);
    return (bits & 0x007fffff) - 0x00400000;
}

/// What a C cast float -> small integer type does on x86-64 (cvttss2si, then the low bits):
/// truncation toward zero, and INT32_MIN for NaN or values outside int32. The C cast itself
/// is undefined there, so ggml's output for such inputs is this machine behaviour.
inline int32_t truncLikeX86(float x)
{
    if (!(x >= -2147483648.f && x < 2147483648.f)) return INT32_MIN;
    return static_cast<int32_t>(x);
}

/// Low 8 bits of a value, as C's conversion to an 8-bit type keeps them.
inline uint8_t low8(int32_t v)
{
    return static_cast<uint8_t>(static_cast<uint32_t>(v) & 0xFFu);
}

inline void storeU16(std::byte* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }
inline void storeU32(std::byte* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }

constexpr int kLegacyBlock = 32; ///< QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0
constexpr int kSuperBlock = 256; ///< QK_K

void quantizeQ8_0(const float* x, std::byte* out); ///< 34 bytes
void quantizeQ4_0(const float* x, std::byte* out); ///< 18 bytes
void quantizeQ4_1(const float* x, std::byte* out); ///< 20 bytes
void quantizeQ5_0(const float* x, std::byte* out); ///< 22 bytes
void quantizeQ5_1(const float* x, std::byte* out); ///< 24 bytes
void quantizeQ4K(const float* x, std::byte* out);  ///< 144 bytes
void quantizeQ5K(const float* x, std::byte* out);  ///< 176 bytes
void quantizeQ6K(const float* x, std::byte* out);  ///< 210 bytes

/// Two super-blocks at once, x0 -> out0 and x1 -> out1: the same bytes as two calls of the
/// one-block function, with the two scale searches interleaved.
void quantizeQ4KPair(const float* x0, const float* x1, std::byte* out0, std::byte* out1);
void quantizeQ5KPair(const float* x0, const float* x1, std::byte* out0, std::byte* out1);

} // namespace qs::quant::ggml
