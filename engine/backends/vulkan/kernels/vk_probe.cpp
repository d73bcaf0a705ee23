#include "vk_probe.h"

#include "shaders/push_constants.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

namespace qs::backends::vulkan {

core::Result<ReadBandwidth> measureReadBandwidth(Device& device, uint64_t bytes, int repeats, uint32_t groups)
{
    const uint64_t words = std::max<uint64_t>(bytes / 16, 1) * 4;
    if (words > std::numeric_limits<uint32_t>::max() || repeats < 1 || groups < 1)
        return core::Error{core::ErrorCode::InvalidArgument,
                           "read-bandwidth probe: at most 2^32 - 1 words, at least one repeat and one group"};
    auto kernel = device.kernel({"read_bandwidth_vec4", 2, sizeof(shaders::ReadBandwidthPush)});
    if (!kernel) return kernel.error();
    // Device-local: the probe measures what a kernel reading device memory can reach, the
    // ceiling the GEMV's prepared weights are compared with.
    auto src = device.createBuffer(words * 4, BufferKind::DeviceLocal);
    if (!src) return src.error();
    auto partials = device.createBuffer(uint64_t(groups) * 4);
    if (!partials) return partials.error();
    std::vector<uint32_t> data(words);
    uint32_t x = 1u;
    for (auto& v : data) v = (x = x * 1664525u + 1013904223u); // every word differs
    const uint32_t expected = std::accumulate(data.begin(), data.end(), 0u);
    if (auto s = device.upload(*src, 0, std::as_bytes(std::span(data))); !s) return s.error();
    data.clear();
    data.shrink_to_fit(); // up to maxStorageBufferRange of host memory, not kept while timing
    Dispatch d;
    d.kernel = *kernel;
    d.buffers = {&*src, &*partials};
    d.setPush(shaders::ReadBandwidthPush{uint32_t(words)});
    d.groups[0] = groups;
    ReadBandwidth r;
    r.bytes = words * 4;
    r.bestGpuSeconds = r.bestWallSeconds = std::numeric_limits<double>::infinity();
    for (int i = 0; i < repeats; ++i) {
        auto t = device.run(d);
        if (!t) return t.error();
        const auto p = partials->as<uint32_t>();
        if (std::accumulate(p.begin(), p.end(), 0u) != expected)
            return core::Error{core::ErrorCode::Device, "read-bandwidth probe read wrong data on " + device.info().name};
        r.bestWallSeconds = std::min(r.bestWallSeconds, t->wallSeconds);
        r.bestGpuSeconds = t->gpuSeconds ? std::min(r.bestGpuSeconds, *t->gpuSeconds) : 0.0;
    }
    return r;
}

} // namespace qs::backends::vulkan
