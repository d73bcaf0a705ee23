#pragma once
/// GGUF-native quantization: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (blocks of 32) and Q4_K, Q5_K, Q6_K
/// (super-blocks of 256), producing the same bytes as ggml's reference quantizers
/// (quantize_row_*_ref in ggml-quants.c) evaluated in strict IEEE single precision without
/// fused multiply-add contraction, so a file we write is one llama.cpp would have written.
///
/// Legacy formats (x = a value of a block of 32, amax = the value of largest magnitude, kept
/// with its sign as `max`):
///   Q8_0  d = |amax| / 127,          q = round(x / d)             in [-127, 127], x' = q d
///   Q4_0  d = max / -8,              q = min(15, trunc(x / d + 8.5)), x' = (q - 8) d
///   Q5_0  d = max / -16,             q = min(31, trunc(x / d + 16.5)), x' = (q - 16) d
///   Q4_1  d = (hi - lo) / 15, m = lo, q = min(15, trunc((x - m) / d + 0.5)), x' = q d + m
///   Q5_1  d = (hi - lo) / 31, m = lo, q = trunc((x - m) / d + 0.5),          x' = q d + m
/// d and m are stored as IEEE half (round to nearest even), the codes use the unrounded d.
/// K-quants search each sub-block's scale (and min) for the smallest weighted squared error
/// and store those as 6-bit (Q4_K/Q5_K) or 8-bit (Q6_K) multiples of a half super-scale.

#include "core/dtype.h"

#include <cstddef>
#include <cstdint>

namespace qs::quant {

/// True for the block types the GGUF codec writes.
bool isGgmlQuantizable(core::DType type);

/// ggml's reference quantizer of one block of `type` (all inputs finite) writing the block's
/// bytes; null for a type that is not one of the eight above.
using GgmlBlockFn = void (*)(const float*, std::byte*);
GgmlBlockFn ggmlBlockFunction(core::DType type);

/// Two blocks of `type` at once, x0 -> out0 and x1 -> out1: the same bytes as two calls of the
/// block function, faster where the type's scale search runs both side by side (Q4_K, Q5_K:
/// one block's dependent additions fill the other's latency); null for the other types.
using GgmlBlockPairFn = void (*)(const float* x0, const float* x1, std::byte* out0, std::byte* out1);
GgmlBlockPairFn ggmlBlockPairFunction(core::DType type);

/// The IEEE half nearest to f (ties to even; overflow to Inf; NaN to the quiet NaN 0x7E00 with
/// f's sign), as ggml's GGML_FP32_TO_FP16 stores scales.
uint16_t f32ToF16RoundNearestEven(float f);

/// f rounded to the nearest IEEE half (ties to even), back as a float:
/// core::f16ToF32(f32ToF16RoundNearestEven(f)). Every finite half is an f32 normal, so the
/// result is exact in f32; |f| >= 65520 gives Inf.
float roundToHalf(float f);

} // namespace qs::quant
