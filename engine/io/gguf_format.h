#pragma once
/// GGUF facts shared by the reader: metadata value types and the ggml tensor type table
/// (ids, names, block sizes as in ggml.h / ggml-common.h).
#include "core/dtype.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qs::io {

/// GGUF metadata value type ids (gguf_type).
enum GgufValueType : uint32_t {
    kGgufUint8 = 0,
    kGgufInt8 = 1,
    kGgufUint16 = 2,
    kGgufInt16 = 3,
    kGgufUint32 = 4,
    kGgufInt32 = 5,
    kGgufFloat32 = 6,
    kGgufBool = 7,
    kGgufString = 8,
    kGgufArray = 9,
    kGgufUint64 = 10,
    kGgufInt64 = 11,
    kGgufFloat64 = 12,
};

/// Bytes of a fixed-size value type; 0 for string, array and unknown ids.
uint64_t ggufScalarSize(uint32_t type);
/// The fewest bytes a value of this type can take (a string is at least its u64 length, an
/// array its u32 type and u64 count); 0 for an unknown id.
uint64_t ggufMinValueSize(uint32_t type);
/// "uint8", "float32", "string", ...; "unknown" for an unknown id.
std::string_view ggufValueTypeName(uint32_t type);
/// A fixed-size value as text: integers in decimal, floats in the shortest form that reads
/// back to the same value, bools as true/false. `bytes` holds ggufScalarSize(type) bytes.
std::string renderGgufScalar(uint32_t type, const std::byte* bytes);

/// One ggml tensor type: its GGUF id, ggml name and block geometry. Types we cannot convert
/// (IQ*, TQ*, MXFP4, ...) have dtype Unsupported but known sizes, so their data ranges are
/// still checked.
struct GgmlTypeInfo {
    uint32_t id;
    std::string_view name;
    core::DType dtype;
    uint32_t blockElems;
    uint32_t blockBytes;
};

/// The entry for a ggml type id, or nullptr for an id this table does not know.
const GgmlTypeInfo* ggmlTypeInfo(uint32_t id);

} // namespace qs::io
