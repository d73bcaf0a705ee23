#pragma once
/// The linear layer y = x W^T (backends/linear.h) on a Vulkan device: the same precisions and
/// the same definitions as backends::Backend::linear, with the weights decoded inside the
/// shaders (shaders/linear/).
///
///   F32         f32 weights; sums in f32 in the kernel's order (not the reference's).
///   BF16        x and W rounded to bf16 on the host (roundToBf16), W stored as 16-bit bf16;
///               the products are exact in f32, the sums in f32.
///   F16         x and W rounded to IEEE half on the host (quant::roundToHalf, the one
///               conversion), W stored as 16-bit halves and widened in the shader by bits
///               (exact for every half, subnormals included: no unpackHalf2x16, which a
///               device may flush); x sent as the rounded f32 values; sums in f32.
///   Int8        x quantized on the host (quantizeActivation), int8 codes, exact int32 sums,
///               y = float(sum) * (sx * sw[n]): bit-identical to the reference. K above 65793
///               could overflow int32 (255 * 128 * K > 2^31 - 1) and is refused.
///   WeightOnly  Int schemes (2..8 bits, any granularity, sym or asym): the codes packed as
///               the engine packs them (quant packBits; each row padded to whole 32-bit words)
///               and value = (code - zero point) * scale decoded in the shader, by a pipeline
///               specialised for the code width, sym/asym, the granularity and a power-of-two
///               group width (constants, not branches: linearKernelName); GGUF Q4_K: the
///               super-blocks as stored, decoded as dequantize_row_q4_K. Both decodes give
///               exactly the engine's dequantized weights. Any other scheme runs the F32
///               kernel on the quantizer's dequantized matrix (4 bytes per weight).
///
/// Batch 1..4 runs the GEMV kernel (a workgroup per weight row, subgroup sums), larger batches
/// the GEMM kernel (32 x 32 tiles of y through shared memory). Weights that need more than the
/// chunk limit are split by output rows into several dispatches.
///
/// Memory: the weights, scales and zero points are device-local (read once per row by a GEMV,
/// once per 32-row tile of x by a GEMM); x and y are host-visible (each written or read once).
/// linearOnDevice with LinearWeights packs and uploads the weights on every call through one
/// chunk buffer; prepareLinearOnDevice packs them once into one device-local buffer per chunk
/// for many calls of the prepared linearOnDevice (same kernels, chunks and values, bit for bit). Cooperative-matrix kernels
/// are not part of this: they would be untested on the machines the tests run on.
#include "backends/linear.h"
#include "backends/vulkan/vk_device.h"
#include "shaders/push_constants.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qs::backends::vulkan {

struct DeviceLinearOptions {
    /// Largest weight buffer of one dispatch in bytes; 0 = the device's limit
    /// (min(maxStorageBufferRange, maxMemoryAllocationSize)). Layers above it are split by
    /// output rows (a test sets a small limit to exercise the split).
    uint64_t maxChunkBytes = 0;
};

/// Weights as prepareLinearOnDevice laid them out for the kernels: what a call needs besides
/// the buffers (a plain value; the buffers may live elsewhere, e.g. Device::keepResident).
struct DeviceLinearLayout {
    LinearOptions options;   ///< as prepared (Int8: the activation range is in the scales)
    int64_t rows = 0;        ///< out features
    int64_t cols = 0;        ///< in features
    uint32_t rowWords = 0;   ///< 32-bit words per packed weight row
    int64_t rowsPerChunk = 0;
    std::string format;      ///< kernel suffix: "f32", "bf16", "f16", "int8", "wint", "q4k"
    shaders::LinearPush push{}; ///< the shapes and the group layout
    std::vector<uint32_t> constants; ///< "wint": the decode's specialisation (QS_LINEAR_SPEC_*), else empty
};

/// Prepared weights: the layout and its device-local buffers, in this order: scales, zero
/// points, then one weight buffer per chunk of layout.rowsPerChunk output rows.
struct DeviceLinearWeights {
    DeviceLinearLayout layout;
    std::vector<Buffer> buffers;
};

/// y = x W^T on `device` as backends::Backend::linear defines it for options.precision.
/// Errors: checkLinear's InvalidArgument, Unsupported for an Int8 layer whose K could
/// overflow int32 or a layer whose weight row alone exceeds the chunk limit, and the device's
/// errors (allocation, a lost device). `timing` receives the sum over the dispatches.
core::Result<quant::Matrix> linearOnDevice(Device& device, const quant::Matrix& x, const LinearWeights& weights,
                                           const LinearOptions& options, DispatchTiming* timing = nullptr,
                                           const DeviceLinearOptions& deviceOptions = {});

/// Packs and uploads the weights once (checkLinearWeights, then the errors of linearOnDevice
/// that do not depend on x). The buffers belong to `device`: use them only on it.
core::Result<DeviceLinearWeights> prepareLinearOnDevice(Device& device, const LinearWeights& weights,
                                                        const LinearOptions& options,
                                                        const DeviceLinearOptions& deviceOptions = {});

/// y = x W^T with prepared weights (`buffers` as in DeviceLinearWeights, made on `device`):
/// the same values as the unprepared call. InvalidArgument when x has not layout.cols columns.
core::Result<quant::Matrix> linearOnDevice(Device& device, const quant::Matrix& x, const DeviceLinearLayout& layout,
                                           std::span<const Buffer> buffers, DispatchTiming* timing = nullptr);

/// The shader variant linearOnDevice runs for these weights and batch, e.g. "linear_gemv_q4k",
/// "linear_gemm_f32" (the F32 fallback of a weight-only scheme without its own decoder), and
/// for Int weights the specialised decoder: "linear_gemv_wint" + bits + "_sym"/"_asym" +
/// "_tensor"/"_channel"/"_inchannel"/"_group", a group width that is a power of two 2^s
/// adding "_shift<s>", another width "_div" (e.g. "linear_gemv_wint4_sym_group_shift7" for g128).
std::string linearKernelName(const LinearWeights& weights, const LinearOptions& options, int64_t batch);

/// Bytes of the weights as the device reads them (packed codes, scales and zero points).
uint64_t linearWeightBytes(const LinearWeights& weights, const LinearOptions& options);

} // namespace qs::backends::vulkan
