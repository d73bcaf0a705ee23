#pragma once
/// The device's read bandwidth, measured with the probe kernel (shaders/probe/read_bandwidth,
/// the uvec4 variant) over a device-local buffer: the ceiling a bandwidth-bound kernel reading
/// device memory (a GEMV on prepared weights) is compared with.
#include "backends/vulkan/vk_device.h"

#include <cstdint>

namespace qs::backends::vulkan {

struct ReadBandwidth {
    uint64_t bytes = 0;         ///< bytes read by one dispatch
    double bestGpuSeconds = 0;  ///< fastest dispatch by GPU timestamps (0 without timestamps)
    double bestWallSeconds = 0; ///< fastest dispatch submit-to-fence on the CPU
    /// bytes / bestGpuSeconds * 1e-9, or over the wall time without timestamps.
    double gbPerSecond() const { return double(bytes) / (bestGpuSeconds > 0 ? bestGpuSeconds : bestWallSeconds) * 1e-9; }
};

/// Reads a `bytes` buffer (rounded down to whole 16-byte words, at least 16) `repeats` times
/// with `groups` workgroups and checks each dispatch's sum against the host's (an Io error
/// "read-bandwidth probe read wrong data" otherwise, so a broken read is never reported as
/// speed).
core::Result<ReadBandwidth> measureReadBandwidth(Device& device, uint64_t bytes, int repeats = 5,
                                                 uint32_t groups = 1024);

} // namespace qs::backends::vulkan
