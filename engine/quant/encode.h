#pragma once
/// The stored form of a quantized tensor: the codes and scales a file holds, recovered from a
/// Quantized result. Layout (README "Saved models"; R rows = output channels, C input
/// channels, G scale groups per row):
///   Int, 8 bit        NAME I8 (sym) / U8 (asym) [R, C]
///   Int, 2..7 bit     NAME U8 [R, ceil(C*b/8)]: each row a little-endian bit stream, code c
///                     at bits [c*b, c*b+b); sym codes two's complement, asym unsigned
///                     NAME.scale F32 ([1] tensor, [R,1] channel, [1,C] inchannel) or F16 [R,G]
///                     (group); NAME.zero_point U8, same shape (asym); w = scale * (q - zp)
///   FP8               NAME F8_E4M3 / F8_E5M2 [R, C]; NAME.scale F32 ([1] or [R,1])
///   MXFP4 / MXFP8     NAME U8 [R, ceil(C/2)] (two E2M1, low nibble first) / F8_E4M3 [R, C];
///                     NAME.scale U8 [R, G]: E8M0, the block scale is 2^(byte - 127)
///   NVFP4             NAME U8 [R, ceil(C/2)] E2M1; NAME.scale F8_E4M3 [R, G];
///                     NAME.scale_2 F32 [1]: w = e2m1 * (scale * scale_2)
///   NF4               NAME U8 [R, ceil(C/2)]: level indices (0..15, low nibble first);
///                     NAME.absmax F32 [R, G]; with dq: NAME.absmax I8 [R, G],
///                     NAME.absmax_scale F32 [ceil(R*G/256)], NAME.absmax_mean F32 [1]:
///                     absmax = code * absmax_scale[i / 256] + absmax_mean
///   Ggml (q8_0 ...)   NAME in its GGUF block type [R, C] (GGUF files only)
///   AWQ/SmoothQuant   the above describe W diag(s); NAME.smooth F32 [C] = s (divide the input
///                     by s before the layer)
///   LLM.int8          the above for the other columns [R, C - k]; NAME.outlier_columns I64 [k]
///                     (ascending) and NAME.outlier_weights F16 [R, k] hold the kept columns
///   SpQR              the above for the RTN weights; NAME.outlier_index I64 [k] (row-major
///                     positions, ascending) and NAME.outlier_values F16 [k] replace them there
/// Codes are recovered from the dequantized values and the reported scales; the recovery is
/// exact because every reconstruction step is within a few float ulps of a code.
#include "methods.h"

#include "core/dtype.h"

#include <span>
#include <string>
#include <vector>

namespace qs::quant {

struct StoredPart {
    std::string suffix; ///< "" for the codes, ".scale", ".zero_point", ...
    core::DType dtype = core::DType::U8;
    std::vector<int64_t> shape;
    std::vector<std::byte> data;
};

/// The stored parts of `q` under `scheme`. `smooth` (AWQ / SmoothQuant per-input-channel
/// scales) is empty for other methods. Fails with InvalidArgument when q's scales do not match the
/// scheme (a result from a method whose stored form has no codes, such as LLM.int8).
core::Result<std::vector<StoredPart>> encodeStored(const Quantized& q, const Scheme& scheme,
                                                   std::span<const float> smooth = {});

/// The stored parts of a method's result: encodeStored of its weights (with the smoothing
/// scales of AWQ / SmoothQuant), or of `part` plus the fp16 outliers for LLM.int8 and SpQR.
core::Result<std::vector<StoredPart>> encodeResult(const MethodResult& r, const Scheme& scheme, Method method);

} // namespace qs::quant
