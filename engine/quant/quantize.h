#pragma once
/// Round-to-nearest quantization of a weight matrix under a Scheme through the scheme's codec
/// (codec.h), with a choice of range (clipping). The result holds the codes, the typed
/// parameters of every scale group, the clip of every group, the decoded matrix and the exact
/// bytes a file stores for it.
#include "codec.h"

#include <cstddef>
#include <functional>
#include <vector>

namespace qs::quant {

/// Quantizes `w` under `scheme`: codes = encode(w), dequant = decode(codes). Ranges exclude
/// NaN/Inf; a non-finite weight is stored as the code of 0 where the format has no NaN (int:
/// the zero point; MX/NVFP4 elements: code 0; GGUF blocks: 0; NF4: NaN -> level 0.0, +-Inf
/// -> +-1 x absmax) and as NaN/saturated in FP8. An all-zero group gets a nonzero scale (1)
/// and decodes to 0. GGUF schemes need cols to be a multiple of the block size (32 or 256):
/// otherwise an InvalidArgument error says so.
///
/// `reuse`: an earlier result whose buffers (dequant, codes) the new one takes over, so that
/// recomputing a layer while the user drags a slider does not fault in fresh memory each
/// time; it is left empty. `rowsDone` is called from worker threads for every finished block
/// of rows with the result being written (the codes and dequant of those rows are final; the
/// parameters and clip ranges may not be yet), for fused consumers such as analysis.h.
using FinishedRows = std::function<void(const Quantized& q, int64_t r0, int64_t r1)>;
core::Result<Quantized> quantizeRtn(const Matrix& w, const Scheme& scheme,
                                    const RangeOptions& range = {},
                                    core::Progress* progress = nullptr,
                                    Quantized* reuse = nullptr, const FinishedRows& rowsDone = {});

/// Exact bytes a file stores for a `rows x cols` tensor under `scheme` (the codec's layout):
///   Int       codes I8/U8 [R, C] (8 bit) or U8 [R, ceil(C*b/8)] (rows start on a byte);
///             scale F32 per tensor / channel / inchannel, F16 per group; zero point U8 (asym)
///   FP8       codes F8 [R, C]; scale F32 per group
///   MXFP4/8   codes U8 [R, ceil(C/2)] / F8_E4M3 [R, C]; E8M0 scale U8 per block of 32
///   NVFP4     codes U8 [R, ceil(C/2)]; E4M3 scale per block of 16; F32 tensor scale
///   NF4       codes U8 [R, ceil(C/2)]; F32 absmax per block, or with dq I8 per block + F32
///             per 256 blocks + the F32 mean
///   GGUF      the blocks (core::byteSizeFor)
/// 0 for an empty matrix; UINT64_MAX if the count overflows or the scheme is invalid.
uint64_t storageBytes(const Scheme& scheme, int64_t rows, int64_t cols);

/// InvalidArgument when `range` asks for a clip (MSE, percentile) that `scheme`'s codec does
/// not apply (Codec::clips): "quantize 'nf4': clipping 'mse' does not apply ...". quantizeRtn
/// and quantizeWithMethod check it, so a clip is honoured or refused, never dropped.
core::Status checkClip(const Scheme& scheme, const RangeOptions& range);
/// checkClip for a codec already made.
core::Status clipApplies(const Codec& codec, const RangeOptions& range);

/// Decodes q's codes again (independently of the dequant buffer the quantizer wrote).
Matrix decodeCodes(const Codec& codec, const Quantized& q);

} // namespace qs::quant
