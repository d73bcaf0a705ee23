#pragma once
/// Round-to-nearest quantization of the block formats on a Vulkan device: MXFP4, MXFP8,
/// NVFP4 (block_float_codec) and the GGUF blocks Q8_0, Q4_0 and Q4_K (ggml_codec), with the same
/// codes, block scales, clip ranges and decoded values as quant::quantizeRtn, bit for bit.
///
/// What runs where: the GPU does the per-block and per-element work (block absmax, scale code,
/// element codes, decoded values; shaders/quantize_blocks/). The host validates the request
/// exactly as quantizeRtn does, sizes the result and computes the storage cost through the
/// scheme's codec, packs the GPU's word-aligned records into the codec's byte layout, and
/// computes NVFP4's one tensor scale (tensorAbsMax / (6 x 448), a per-tensor value).
///
/// Exactness by construction (shaders/common/exact_float.glsl): every float operation is
/// `precise`, quotients and square roots are settled to the correctly rounded value, and any
/// value that leaves {0} U [2^-100, 2^100] (where a GPU may flush subnormals) marks its block;
/// a marked GGUF block is quantized again by the codec's own block function on the host
/// (BlockQuantReport::hostBlocks counts them). MX scalings are done on the float bits and never
/// leave that range; NVFP4 is refused when its tensor scale lies outside [2^-60, 2^60].
#include "backends/vulkan/vk_device.h"

#include "core/progress.h"
#include "core/result.h"
#include "quant/codec.h"

#include <cstdint>

namespace qs::backends::vulkan {

/// What a run did besides the result.
struct BlockQuantReport {
    int64_t gpuBlocks = 0;  ///< blocks quantized on the device
    int64_t hostBlocks = 0; ///< GGUF blocks redone on the host (a value left the safe range)
    int dispatches = 0;     ///< one per chunk of rows
};

/// True for the schemes quantizeBlocksOnDevice runs: mxfp4, mxfp8, nvfp4, q8_0, q4_0, q4_k.
bool blockSchemeOnDevice(const quant::Scheme& scheme);

/// quant::quantizeRtn(w, scheme, range) computed on `device`: the same Quantized (codes,
/// params, clip, dequant, bytes) bit for bit. Bad input gives quantizeRtn's errors (matrix
/// size, a GGUF row length that is not a whole number of blocks, range options); another
/// scheme gives Unsupported "not supported by vulkan: SCHEME"; device failures are error
/// values. Rows are processed in chunks whose buffers stay within the device's
/// maxStorageBufferRange and maxMemoryAllocationSize (and `maxChunkBytes` when nonzero).
/// `progress` receives rows done of rows and is checked for cancellation between chunks.
core::Result<quant::Quantized> quantizeBlocksOnDevice(Device& device, const quant::Matrix& w,
                                                      const quant::Scheme& scheme,
                                                      const quant::RangeOptions& range = {},
                                                      core::Progress* progress = nullptr,
                                                      BlockQuantReport* report = nullptr,
                                                      uint64_t maxChunkBytes = 0);

} // namespace qs::backends::vulkan
