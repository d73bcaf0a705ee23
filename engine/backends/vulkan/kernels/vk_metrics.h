#pragma once
/// Error metrics and the pooled error map on a Vulkan device: the ErrorReport of
/// Backend::errorMetrics (quant::compareValues and quant::errorMap), computed by
/// shaders/metrics/metric_sums.comp and shaders/metrics/error_map.comp.
///
/// Exact, the same bits as the reference backend: count, skipped, maxAbsErr (the largest
/// |w - q| is found by exact comparison of TwoSum pairs and rebuilt in double on the host), and
/// the Max-pooled map of the Absolute and Signed errors (the same element wins, first in
/// row-major order among equals; its fl(w - q) is what the CPU's double error rounds to).
/// Within a reduction tolerance: the sums behind mse, rmse, sqnrDb, cosine and relFro (f32 on
/// the device, one partial per workgroup, the partials added in double in workgroup order:
/// each sum of k terms has |error| <= (k + 3) 2^-24 sum |terms|), Mean-pooled maps (each
/// cell's f32 sum of n errors has |error| <= (n + 1) 2^-24 sum |errors|; the division by n is
/// done in double on the host), and Relative errors (a GPU's f32 division is within 2.5 ulp,
/// not correctly rounded). Exactness assumes a device that keeps f32 subnormals; one that
/// flushes them changes only pairs whose difference is below 2^-126.
#include "backends/backend.h"
#include "backends/vulkan/vk_device.h"

#include "core/result.h"
#include "quant/matrix.h"

#include <cstdint>

namespace qs::backends::vulkan {

/// Backend::errorMetrics on `device`: the metrics of every pair of `reference` and `quantized`
/// (same shape) and their map at options' grid, kind and pooling. `maxChunkBytes` bounds one
/// device buffer (0: kernelChunkBytes' default). Errors: InvalidArgument for different shapes
/// or a grid below 1 x 1 (the reference backend's messages), Unsupported when one map row of
/// cells needs more than a chunk (ask for more grid rows), and the device's errors.
core::Result<ErrorReport> errorMetricsOnDevice(Device& device, const quant::Matrix& reference,
                                               const quant::Matrix& quantized, const ErrorMapOptions& options = {},
                                               uint64_t maxChunkBytes = 0);

} // namespace qs::backends::vulkan
