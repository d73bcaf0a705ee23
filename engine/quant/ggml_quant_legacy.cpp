// The 32-value ggml blocks. Each function follows the arithmetic of ggml's quantize_row_*_ref
// step by step (same float operations in the same order, same truncating casts), because the
// point is byte identity with files llama.cpp writes, not a better quantizer.
#include "ggml_quant.h"
#include "ggml_quant_blocks.h"

#include <algorithm>
#include <cfloat>

namespace qs::quant::ggml {

namespace {

constexpr int kHalf = kLegacyBlock / 2;

/// The value of largest magnitude, with its sign; the first one wins a tie, as in ggml.
float signedAbsMax(const float* x)
{
    float amax = 0.f;
    float max = 0.f;
    for (int j = 0; j < kLegacyBlock; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void minMax(const float* x, float& lo, float& hi)
{
    lo = FLT_MAX;
    hi = -FLT_MAX;
    for (int j = 0; j < kLegacyBlock; ++j) {
        lo = std::min(lo, x[j]);
        hi = std::max(hi, x[j]);
    }
}

/// Codes j and j + 16 share byte j: the first in the low nibble, the second in the high one.
/// For the 5-bit types bit 4 of code j goes to bit j of qh.
void packNibbles(const uint8_t* codes, std::byte* qs, uint32_t* qh)
{
    uint32_t high = 0;
    for (int j = 0; j < kHalf; ++j) {
        const uint8_t a = codes[j];
        const uint8_t b = codes[j + kHalf];
        qs[j] = static_cast<std::byte>((a & 0x0F) | ((b & 0x0F) << 4));
        high |= static_cast<uint32_t>((a & 0x10u) >> 4) << j;
        high |= static_cast<uint32_t>((b & 0x10u) >> 4) << (j + kHalf);
    }
    if (qh) *qh = high;
}

/// Symmetric types: d = max / -levels, codes min(top, trunc(x * (1/d) + levels + 0.5)).
/// The 4-bit type ORs whole bytes (a code above 15 cannot happen there after the min).
float symmetricCodes(const float* x, float levels, int top, uint8_t* codes)
{
    const float d = signedAbsMax(x) / -levels;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    const float offset = levels + 0.5f;
    for (int j = 0; j < kLegacyBlock; ++j) {
        const int8_t t = static_cast<int8_t>(low8(truncLikeX86(x[j] * id + offset)));
        codes[j] = low8(std::min(top, static_cast<int>(t)));
    }
    return d;
}

} // namespace

void quantizeQ8_0(const float* x, std::byte* out)
{
    float amax = 0.f;
    for (int j = 0; j < kLegacyBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    storeU16(out, f32ToF16RoundNearestEven(d));
    for (int j = 0; j < kLegacyBlock; ++j)
        out[2 + j] = static_cast<std::byte>(low8(truncLikeX86(std::round(x[j] * id))));
}

void quantizeQ4_0(const float* x, std::byte* out)
{
    uint8_t codes[kLegacyBlock];
    const float d = symmetricCodes(x, 8.f, 15, codes);
    storeU16(out, f32ToF16RoundNearestEven(d));
    // ggml ORs the high code into the byte without masking; codes are <= 15 here, except
    // for a negative truncation (only reachable with an infinite 1/d), whose bits it keeps.
    for (int j = 0; j < kHalf; ++j)
        out[2 + j] = static_cast<std::byte>(codes[j] | static_cast<uint8_t>(codes[j + kHalf] << 4));
}

void quantizeQ5_0(const float* x, std::byte* out)
{
    uint8_t codes[kLegacyBlock];
    const float d = symmetricCodes(x, 16.f, 31, codes);
    storeU16(out, f32ToF16RoundNearestEven(d));
    uint32_t qh = 0;
    packNibbles(codes, out + 6, &qh);
    storeU32(out + 2, qh);
}

namespace {

/// Asymmetric types: d = (hi - lo) / (2^bits - 1), m = lo, code trunc((x - lo) * (1/d) + 0.5).
void asymmetricCodes(const float* x, int bits, bool clampTop, uint8_t* codes, float& d, float& m)
{
    float lo = 0.f;
    float hi = 0.f;
    minMax(x, lo, hi);
    d = (hi - lo) / static_cast<float>((1 << bits) - 1);
    m = lo;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    for (int j = 0; j < kLegacyBlock; ++j) {
        const int32_t t = truncLikeX86((x[j] - lo) * id + 0.5f);
        // Q4_1 takes min(15, (int8_t)t); Q5_1 converts straight to uint8_t.
        codes[j] = clampTop ? low8(std::min(15, static_cast<int>(static_cast<int8_t>(low8(t)))))
                            : low8(t);
    }
}

} // namespace

void quantizeQ4_1(const float* x, std::byte* out)
{
    uint8_t codes[kLegacyBlock];
    float d = 0.f;
    float m = 0.f;
    asymmetricCodes(x, 4, true, codes, d, m);
    storeU16(out, f32ToF16RoundNearestEven(d));
    storeU16(out + 2, f32ToF16RoundNearestEven(m));
    for (int j = 0; j < kHalf; ++j)
        out[4 + j] = static_cast<std::byte>(codes[j] | static_cast<uint8_t>(codes[j + kHalf] << 4));
}

void quantizeQ5_1(const float* x, std::byte* out)
{
    uint8_t codes[kLegacyBlock];
    float d = 0.f;
    float m = 0.f;
    asymmetricCodes(x, 5, false, codes, d, m);
    storeU16(out, f32ToF16RoundNearestEven(d));
    storeU16(out + 2, f32ToF16RoundNearestEven(m));
    uint32_t qh = 0;
    packNibbles(codes, out + 8, &qh);
    storeU32(out + 4, qh);
}

} // namespace qs::quant::ggml
