#pragma once
/// How the statistics and error-metric kernels cut their input into device buffers and size
/// their grids. Their chunks are HostVisible buffers (vk_device.h: streamed data stays
/// host-visible), so a chunk is also host memory the kernel's caller fills.
#include "backends/vulkan/vk_device.h"

#include <algorithm>
#include <cstdint>

namespace qs::backends::vulkan {

/// Default cap on one chunk buffer: large enough that the per-chunk dispatch overhead is
/// small, small enough to leave host memory for the model.
inline constexpr uint64_t kDefaultChunkBytes = uint64_t{256} << 20;

/// The bytes one input buffer of a kernel may hold: `requested` (0: kDefaultChunkBytes),
/// clamped to the device's maxStorageBufferRange and maxMemoryAllocationSize (when known) and
/// to 2^31 bytes (shaders index with 32-bit integers), rounded down to 1 KiB, at least 1 KiB.
inline uint64_t kernelChunkBytes(const Device& device, uint64_t requested)
{
    uint64_t bytes = requested ? requested : kDefaultChunkBytes;
    const auto& info = device.info();
    if (info.maxStorageBufferRange) bytes = std::min(bytes, info.maxStorageBufferRange);
    if (info.maxMemoryAllocationSize) bytes = std::min(bytes, info.maxMemoryAllocationSize);
    bytes = std::min(bytes, uint64_t{1} << 31);
    return std::max<uint64_t>(bytes / 1024 * 1024, 1024);
}

/// Workgroups for `items` items at about `perGroup` each: at least 1, at most the device's
/// maxComputeWorkGroupCount[0] (and 65535, the minimum every device offers); shaders
/// grid-stride over whatever is left.
inline uint32_t groupsFor(const Device& device, uint64_t items, uint64_t perGroup)
{
    uint64_t limit = 65535;
    if (device.info().maxComputeWorkGroupCount[0]) limit = std::min<uint64_t>(limit, device.info().maxComputeWorkGroupCount[0]);
    return static_cast<uint32_t>(std::clamp<uint64_t>((items + perGroup - 1) / perGroup, 1, limit));
}

} // namespace qs::backends::vulkan
