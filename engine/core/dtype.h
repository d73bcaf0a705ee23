#pragma once
/// Element types of the tensors we read, and their exact conversion to f32.
/// Block types (the GGUF quantizations) store `blockElems` values in `blockBytes` bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qs::core {

enum class DType : uint8_t {
    F64, F32, F16, BF16, F8_E4M3, F8_E5M2,
    I64, I32, I16, I8, U64, U32, U16, U8, BOOL,
    // GGUF block types (ggml-common.h)
    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
    Unsupported, ///< listed with its format's own type name; data cannot be read
};

struct DTypeInfo {
    std::string_view name; ///< "F32", "BF16", "Q4_K", ...
    uint32_t blockElems;   ///< 1 for scalar types
    uint32_t blockBytes;   ///< bytes per block (element size for scalar types)
    bool isFloat;          ///< floating point scalar or block-quantized float
    bool isBlock;          ///< a GGUF block type
};

const DTypeInfo& dtypeInfo(DType t);
inline std::string_view dtypeName(DType t) { return dtypeInfo(t).name; }
/// Parses the names dtypeName() returns (and the safetensors spellings). Unsupported on no match.
DType dtypeFromName(std::string_view name);

/// Bytes that `elems` elements take; nullopt on overflow, on Unsupported, or when a block type's
/// element count is not a whole number of blocks.
std::optional<uint64_t> byteSizeFor(DType t, uint64_t elems);

// Exact scalar conversions (every bit pattern, NaN/Inf/subnormal/-0 preserved).
float f16ToF32(uint16_t bits);
float bf16ToF32(uint16_t bits);
float e4m3ToF32(uint8_t bits); ///< OCP E4M3FN: bias 7, no Inf, S.1111.111 = NaN, max 448
float e5m2ToF32(uint8_t bits); ///< bias 15, IEEE-like Inf and NaN, max 57344

/// Converts `elems` elements starting at `src` (little-endian, as stored) to f32.
/// For block types `elems` must be a multiple of blockElems. Integer and F64 values are
/// rounded to the nearest f32 (exact for every type up to 24 bits). Returns false for
/// Unsupported or a partial block.
bool convertToF32(DType t, const std::byte* src, uint64_t elems, float* dst);

} // namespace qs::core
