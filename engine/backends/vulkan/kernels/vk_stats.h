#pragma once
/// Tensor statistics on a Vulkan device: the same TensorStats as core::computeStats (the
/// figures `quantscope-cli inspect --stats` prints), computed by shaders/stats/tensor_stats.comp.
///
/// The tensor is read front to back (Storage::openStream) in chunks of at most
/// kernelChunkBytes; F32, F16 and BF16 go to the device as stored (16-bit values are widened in
/// the shader, exactly, with integer operations), every other dtype is converted to f32 on the
/// host first (core::convertToF32). Per chunk the device returns one partial per workgroup,
/// merged on the host in double with Pébay's pairwise formulas, like core's chunk merge.
///
/// Exact, the same bits as core::computeStats: count, nan, inf, zeros, min, max, absmax, the
/// fine histogram and therefore the histogram (FineHistogram::rebin, the one definition of the
/// bins), and the per-channel absmax vectors. Within a reduction tolerance: mean, std and
/// kurtosis (f32 moments of x - K on the device, K near the data, combined around the combined
/// mean at every level, never from raw power sums; a chunk whose f32 moments overflow, |x - K|
/// beyond ~1e9, is run again on x scaled by a power of two); the tests state the bound.
#include "backends/vulkan/vk_device.h"

#include "core/progress.h"
#include "core/result.h"
#include "core/stats.h"
#include "core/tensor.h"

#include <cstdint>

namespace qs::backends::vulkan {

/// core::computeStats on `device`. options.bins and options.scale shape the histogram as in
/// core; options.threads has no effect (the host only converts and merges, in one thread).
/// `maxChunkBytes` bounds one device buffer (0: kernelChunkBytes' default; tests use small
/// values to exercise the chunk merge). Errors: those of computeStats (unsupported dtype, byte
/// count not matching the shape, storage errors, Cancelled between chunks), Unsupported for a
/// role axis whose stride reaches 2^31 elements, and the device's errors.
core::Result<core::TensorStats> statisticsOnDevice(Device& device, const core::TensorInfo& tensor,
                                                   const core::StatsOptions& options = {},
                                                   core::Progress* progress = nullptr,
                                                   uint64_t maxChunkBytes = 0);

} // namespace qs::backends::vulkan
