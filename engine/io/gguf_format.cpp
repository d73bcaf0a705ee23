#include "gguf_format.h"

#include <array>
#include <charconv>
#include <cstring>

namespace qs::io {

using core::DType;

namespace {

// ids 4, 5 (Q4_2, Q4_3), 31-33 and 36-38 (repacked layouts) were removed from ggml and are
// not in GGUF files; an id missing here is listed as "ggml type N".
constexpr std::array<GgmlTypeInfo, 35> kGgmlTypes{{
    {0, "F32", DType::F32, 1, 4},
    {1, "F16", DType::F16, 1, 2},
    {2, "Q4_0", DType::Q4_0, 32, 18},
    {3, "Q4_1", DType::Q4_1, 32, 20},
    {6, "Q5_0", DType::Q5_0, 32, 22},
    {7, "Q5_1", DType::Q5_1, 32, 24},
    {8, "Q8_0", DType::Q8_0, 32, 34},
    {9, "Q8_1", DType::Unsupported, 32, 36},
    {10, "Q2_K", DType::Q2_K, 256, 84},
    {11, "Q3_K", DType::Q3_K, 256, 110},
    {12, "Q4_K", DType::Q4_K, 256, 144},
    {13, "Q5_K", DType::Q5_K, 256, 176},
    {14, "Q6_K", DType::Q6_K, 256, 210},
    {15, "Q8_K", DType::Q8_K, 256, 292},
    {16, "IQ2_XXS", DType::Unsupported, 256, 66},
    {17, "IQ2_XS", DType::Unsupported, 256, 74},
    {18, "IQ3_XXS", DType::Unsupported, 256, 98},
    {19, "IQ1_S", DType::Unsupported, 256, 50},
    {20, "IQ4_NL", DType::Unsupported, 32, 18},
    {21, "IQ3_S", DType::Unsupported, 256, 110},
    {22, "IQ2_S", DType::Unsupported, 256, 82},
    {23, "IQ4_XS", DType::Unsupported, 256, 136},
    {24, "I8", DType::I8, 1, 1},
    {25, "I16", DType::I16, 1, 2},
    {26, "I32", DType::I32, 1, 4},
    {27, "I64", DType::I64, 1, 8},
    {28, "F64", DType::F64, 1, 8},
    {29, "IQ1_M", DType::Unsupported, 256, 56},
    {30, "BF16", DType::BF16, 1, 2},
    {34, "TQ1_0", DType::Unsupported, 256, 54},
    {35, "TQ2_0", DType::Unsupported, 256, 66},
    {39, "MXFP4", DType::Unsupported, 32, 17},
    {40, "NVFP4", DType::Unsupported, 64, 36},
    {41, "Q1_0", DType::Unsupported, 128, 18},
    {42, "Q2_0", DType::Unsupported, 64, 18},
}};

template <class T> T load(const std::byte* p)
{
    T v{};
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <class T> std::string toText(T v)
{
    std::array<char, 64> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return std::string(buf.data(), r.ptr);
}

} // namespace

uint64_t ggufScalarSize(uint32_t type)
{
    switch (type) {
    case kGgufUint8:
    case kGgufInt8:
    case kGgufBool:
        return 1;
    case kGgufUint16:
    case kGgufInt16:
        return 2;
    case kGgufUint32:
    case kGgufInt32:
    case kGgufFloat32:
        return 4;
    case kGgufUint64:
    case kGgufInt64:
    case kGgufFloat64:
        return 8;
    default:
        return 0;
    }
}

uint64_t ggufMinValueSize(uint32_t type)
{
    if (type == kGgufString) return 8;
    if (type == kGgufArray) return 4 + 8;
    return ggufScalarSize(type);
}

std::string_view ggufValueTypeName(uint32_t type)
{
    static constexpr std::array<std::string_view, 13> kNames{
        "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
        "bool",  "string", "array",  "uint64", "int64",  "float64"};
    return type < kNames.size() ? kNames[type] : "unknown";
}

std::string renderGgufScalar(uint32_t type, const std::byte* p)
{
    switch (type) {
    case kGgufUint8:
        return toText(load<uint8_t>(p));
    case kGgufInt8:
        return toText(load<int8_t>(p));
    case kGgufUint16:
        return toText(load<uint16_t>(p));
    case kGgufInt16:
        return toText(load<int16_t>(p));
    case kGgufUint32:
        return toText(load<uint32_t>(p));
    case kGgufInt32:
        return toText(load<int32_t>(p));
    case kGgufFloat32:
        return toText(load<float>(p));
    case kGgufBool:
        return load<uint8_t>(p) != 0 ? "true" : "false";
    case kGgufUint64:
        return toText(load<uint64_t>(p));
    case kGgufInt64:
        return toText(load<int64_t>(p));
    case kGgufFloat64:
        return toText(load<double>(p));
    default:
        return {};
    }
}

const GgmlTypeInfo* ggmlTypeInfo(uint32_t id)
{
    for (const GgmlTypeInfo& t : kGgmlTypes)
        if (t.id == id) return &t;
    return nullptr;
}

} // namespace qs::io
