#include "dtype.h"

#include "checked.h"
#include "ggml_blocks.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace qs::core {

namespace {

constexpr std::array<DTypeInfo, 27> kInfo = {{
    {"F64", 1, 8, true, false},
    {"F32", 1, 4, true, false},
    {"F16", 1, 2, true, false},
    {"BF16", 1, 2, true, false},
    {"F8_E4M3", 1, 1, true, false},
    {"F8_E5M2", 1, 1, true, false},
    {"I64", 1, 8, false, false},
    {"I32", 1, 4, false, false},
    {"I16", 1, 2, false, false},
    {"I8", 1, 1, false, false},
    {"U64", 1, 8, false, false},
    {"U32", 1, 4, false, false},
    {"U16", 1, 2, false, false},
    {"U8", 1, 1, false, false},
    {"BOOL", 1, 1, false, false},
    // GGUF blocks: elements per block, bytes per block (ggml-common.h block_* structs).
    {"Q4_0", 32, 18, true, true},
    {"Q4_1", 32, 20, true, true},
    {"Q5_0", 32, 22, true, true},
    {"Q5_1", 32, 24, true, true},
    {"Q8_0", 32, 34, true, true},
    {"Q2_K", 256, 84, true, true},
    {"Q3_K", 256, 110, true, true},
    {"Q4_K", 256, 144, true, true},
    {"Q5_K", 256, 176, true, true},
    {"Q6_K", 256, 210, true, true},
    {"Q8_K", 256, 292, true, true},
    {"unsupported", 1, 0, false, false},
}};
static_assert(kInfo.size() == size_t(DType::Unsupported) + 1);

template <class T> T load(const std::byte* p)
{
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

template <class T> void convertScalars(const std::byte* src, uint64_t n, float* dst)
{
#pragma omp simd
    for (uint64_t i = 0; i < n; ++i)
        dst[i] = static_cast<float>(load<T>(src + i * sizeof(T)));
}

template <class F> void convertBits16(const std::byte* src, uint64_t n, float* dst, F f)
{
    for (uint64_t i = 0; i < n; ++i)
        dst[i] = f(load<uint16_t>(src + 2 * i));
}

/// Decodes a small float with `expBits` exponent bits, `manBits` mantissa bits and `bias`.
/// Exact: every value is a small integer times a power of two, which ldexp represents.
float decodeMinifloat(uint32_t sign, uint32_t exp, uint32_t man, int manBits, int bias)
{
    const float v = exp == 0 ? std::ldexp(float(man), 1 - bias - manBits)
                             : std::ldexp(float(man | (1u << manBits)), int(exp) - bias - manBits);
    return sign ? -v : v;
}

} // namespace

const DTypeInfo& dtypeInfo(DType t)
{
    const auto i = static_cast<size_t>(t);
    return kInfo[i < kInfo.size() ? i : kInfo.size() - 1];
}

DType dtypeFromName(std::string_view name)
{
    for (size_t i = 0; i + 1 < kInfo.size(); ++i)
        if (kInfo[i].name == name) return static_cast<DType>(i);
    return DType::Unsupported;
}

std::optional<uint64_t> byteSizeFor(DType t, uint64_t elems)
{
    const auto& info = dtypeInfo(t);
    if (t == DType::Unsupported || elems % info.blockElems != 0) return std::nullopt;
    return checkedMul(elems / info.blockElems, info.blockBytes);
}

float f16ToF32(uint16_t h)
{
    const uint32_t sign = uint32_t(h >> 15) << 31;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t man = h & 0x3ff;
    if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13)); // Inf, NaN
    if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
    if (man == 0) return std::bit_cast<float>(sign); // +-0
    // Subnormal half man * 2^-24 is an f32 normal: with its top set bit at position p (0..9),
    // it is 2^(p - 24) * 1.f, so the f32 exponent field is p + 103 and f = man without that bit.
    const int p = std::bit_width(man) - 1;
    return std::bit_cast<float>(sign | uint32_t(p + 103) << 23 | ((man << (23 - p)) & 0x7fffffu));
}

float bf16ToF32(uint16_t bits)
{
    return std::bit_cast<float>(uint32_t(bits) << 16);
}

float e4m3ToF32(uint8_t b)
{
    if ((b & 0x7f) == 0x7f)
        return std::numeric_limits<float>::quiet_NaN(); // S.1111.111: the only NaN, no Inf
    return decodeMinifloat(b >> 7, (b >> 3) & 0xf, b & 0x7, 3, 7);
}

float e5m2ToF32(uint8_t b)
{
    const uint32_t exp = (b >> 2) & 0x1f, man = b & 0x3;
    if (exp == 0x1f)
        return man ? std::numeric_limits<float>::quiet_NaN()
                   : ((b & 0x80) ? -std::numeric_limits<float>::infinity()
                                 : std::numeric_limits<float>::infinity());
    return decodeMinifloat(b >> 7, exp, man, 2, 15);
}

bool convertToF32(DType t, const std::byte* src, uint64_t n, float* dst)
{
    switch (t) {
    case DType::F64:
        convertScalars<double>(src, n, dst);
        return true;
    case DType::F32:
        if (n) std::memcpy(dst, src, n * 4); // an empty tensor may come with null pointers
        return true;
    case DType::F16:
        convertBits16(src, n, dst, f16ToF32);
        return true;
    case DType::BF16:
#pragma omp simd
        for (uint64_t i = 0; i < n; ++i)
            dst[i] = std::bit_cast<float>(uint32_t(load<uint16_t>(src + 2 * i)) << 16);
        return true;
    case DType::F8_E4M3:
        for (uint64_t i = 0; i < n; ++i)
            dst[i] = e4m3ToF32(uint8_t(src[i]));
        return true;
    case DType::F8_E5M2:
        for (uint64_t i = 0; i < n; ++i)
            dst[i] = e5m2ToF32(uint8_t(src[i]));
        return true;
    case DType::I64:
        convertScalars<int64_t>(src, n, dst);
        return true;
    case DType::I32:
        convertScalars<int32_t>(src, n, dst);
        return true;
    case DType::I16:
        convertScalars<int16_t>(src, n, dst);
        return true;
    case DType::I8:
        convertScalars<int8_t>(src, n, dst);
        return true;
    case DType::U64:
        convertScalars<uint64_t>(src, n, dst);
        return true;
    case DType::U32:
        convertScalars<uint32_t>(src, n, dst);
        return true;
    case DType::U16:
        convertScalars<uint16_t>(src, n, dst);
        return true;
    case DType::U8:
        convertScalars<uint8_t>(src, n, dst);
        return true;
    case DType::BOOL:
        for (uint64_t i = 0; i < n; ++i)
            dst[i] = src[i] != std::byte{0} ? 1.0f : 0.0f;
        return true;
    case DType::Unsupported:
        return false;
    default: {
        const auto& info = dtypeInfo(t);
        if (n % info.blockElems != 0) return false;
        return dequantizeGgmlBlocks(t, src, n / info.blockElems, dst);
    }
    }
}

} // namespace qs::core
