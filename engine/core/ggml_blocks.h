#pragma once
/// Dequantization of the GGUF/ggml block types to f32, exactly as ggml-common.h lays the
/// blocks out and ggml's dequantize_row_* functions compute them (same operation order, so
/// results are bit-identical to ggml's reference C code).
#include "dtype.h"

#include <cstddef>
#include <cstdint>

namespace qs::core {

/// Dequantizes `blocks` consecutive blocks of type t (one of Q4_0 ... Q8_K) into
/// blocks * dtypeInfo(t).blockElems floats. Returns false if t is not a block type.
bool dequantizeGgmlBlocks(DType t, const std::byte* src, uint64_t blocks, float* dst);

} // namespace qs::core
