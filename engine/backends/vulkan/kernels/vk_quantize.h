#pragma once
/// Round-to-nearest quantization on a Vulkan device: the scale-per-group formats (INT2..INT8
/// symmetric and asymmetric, FP8 E4M3 / E5M2; per tensor, output channel, input channel or
/// group) and NF4 (block absmax, with or without double quantization), giving the same
/// quant::Quantized as quant::quantizeRtn bit for bit: codes, parameters, clip ranges, decoded
/// values and storage cost.
///
/// What runs where:
///   GPU  the finite min/max of every group (shaders/quantize/range.comp), and every weight's
///        code and decoded value (shaders/quantize/encode.comp), with divisions and products
///        done exactly in integer arithmetic (shaders/common/quantize_exact.glsl).
///   CPU  the parameters of each group from its [lo, hi] (one value per group: the codec's own
///        fit, see vk_quantize.cpp), percentile clip ranges (quant::percentileRange over the
///        group's values), NF4 double quantization, the storage cost (quant::setStorageCost).
/// Refused (ErrorCode::Unsupported, "not supported by vulkan: ..."): the MX, NVFP4 and GGUF
/// families (their own kernels), and MSE clipping of INT and FP8 (its search evaluates the
/// format's error for every candidate ratio on the CPU). NF4 ignores the clipping options, as
/// its codec does (the block absmax is the range). Rounding: nearest even, half away and
/// stochastic (the splitmix64 stream of core/random.h, drawn by weight position) all run on
/// the device.
#include "backends/vulkan/vk_device.h"

#include "quant/codec.h"

#include <cstdint>

namespace qs::backends::vulkan {

struct QuantizeOptions {
    /// Largest buffer a chunk of rows may use (the weights of the chunk, f32); 0: the device's
    /// limit (maxStorageBufferRange and maxMemoryAllocationSize, at most 256 MiB). Rows are
    /// never split: a single row above the limit is an error.
    uint64_t chunkBytes = 0;
};

/// True when quantizeOnDevice handles `scheme` under `range` (else it returns Unsupported).
bool quantizeOnDeviceSupports(const quant::Scheme& scheme, const quant::RangeOptions& range);

/// quant::quantizeRtn(w, scheme, range) computed on `device`, in chunks of whole rows.
/// Errors: InvalidArgument for what quantizeRtn refuses (shape, scheme, range options),
/// Unsupported for the schemes listed above, Cancelled when `progress` asks, and the device's
/// errors (out of memory, device lost) as values.
core::Result<quant::Quantized> quantizeOnDevice(Device& device, const quant::Matrix& w, const quant::Scheme& scheme,
                                                const quant::RangeOptions& range = {},
                                                core::Progress* progress = nullptr,
                                                const QuantizeOptions& options = {});

} // namespace qs::backends::vulkan
