#pragma once
/// Branch-free rounding and float helpers shared by the quantizers. They are plain inline
/// functions on float so that element loops (`#pragma omp simd`) vectorise without calls into
/// libm (std::nearbyint and std::round are library calls on baseline x86-64).
#include "scheme.h"

#include "core/random.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace qs::quant {

/// Rounds to the nearest integer, ties to even, for |v| <= 2^22 (callers clamp first).
/// Adding and subtracting 1.5 * 2^23 leaves no fraction bits, and the hardware rounds that
/// addition to nearest even: the classic "magic number" rounding, exact in IEEE single.
inline float roundHalfEven(float v)
{
    constexpr float magic = 12582912.0f; // 1.5 * 2^23
    return (v + magic) - magic;
}

/// Rounds to the nearest integer, ties away from zero (std::round), for |v| <= 2^22.
inline float roundHalfAway(float v)
{
    const float a = std::fabs(v);
    // t = trunc(a) through the magic constant; the subtraction a - t is exact.
    float t = roundHalfEven(a);
    t = t > a ? t - 1.0f : t;
    const float r = (a - t) >= 0.5f ? t + 1.0f : t;
    return std::copysign(r, v);
}

/// floor(v) for |v| <= 2^22.
inline float floorSmall(float v)
{
    const float t = roundHalfEven(v);
    return t > v ? t - 1.0f : t;
}

/// True for a finite float; a bit test so that it survives vectorisation.
inline bool isFiniteBits(float v)
{
    return (std::bit_cast<uint32_t>(v) & 0x7fffffffu) < 0x7f800000u;
}

/// The uniform draw of stochastic rounding for the weight at `position` (row * cols + col of
/// the [out, in] matrix): output `position` of the splitmix64 stream of `seed`
/// (core/random.h), its top 24 bits scaled to [0, 1).
/// Counter-based, so RTN, GPTQ (which codes columns out of order) and a GPU kernel draw the
/// same number for the same weight whatever the order or the thread count. The one
/// definition of the stream.
[[gnu::always_inline]] inline float stochasticUniform(uint64_t seed, uint64_t position)
{
    return float(core::splitmixAt(seed, position) >> 40) * (1.0f / 16777216.0f);
}

} // namespace qs::quant
