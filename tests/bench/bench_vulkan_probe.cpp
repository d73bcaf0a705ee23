// bench_vulkan_probe: the read-bandwidth probe (shaders/probe/read_bandwidth.comp, scalar and
// uvec4 loads) on the default Vulkan device: GB/s from the GPU timestamps around the dispatch
// and from the CPU wall time of submit-to-fence, best of 5, each run's sum checked against the
// host's. Not a test: it prints numbers (on lavapipe they measure the CPU running the shader).
//
//   bench_vulkan_probe [MiB] [GROUPS]   buffer size (default 64; at most the
//                                      device's maxStorageBufferRange, 128 MiB on lavapipe) and workgroups (default 256)
#include "backends/vulkan/vk_device.h"
#include "shaders/push_constants.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace qs::backends::vulkan;

namespace {

struct Best {
    double gpu = 0, wall = 1e30;
};

/// Runs `shader` `runs` times; false (after printing why) on any error or wrong sum.
bool measure(Device& device, const char* shader, const Buffer& src, Buffer& partials, uint32_t words, uint32_t groups,
             uint32_t expected, Best& best)
{
    auto kernel = device.kernel({shader, 2, sizeof(qs::shaders::ReadBandwidthPush)});
    if (!kernel) return std::fprintf(stderr, "%s\n", kernel.error().message.c_str()), false;
    Dispatch d;
    d.kernel = *kernel;
    d.buffers = {&src, &partials};
    d.setPush(qs::shaders::ReadBandwidthPush{words});
    d.groups[0] = groups;
    best.gpu = 1e30;
    for (int run = 0; run < 5; ++run) {
        auto t = device.run(d);
        if (!t) return std::fprintf(stderr, "%s\n", t.error().message.c_str()), false;
        uint32_t sum = 0;
        for (uint32_t p : partials.as<uint32_t>())
            sum += p;
        if (sum != expected) return std::fprintf(stderr, "%s: wrong sum %u, host %u\n", shader, sum, expected), false;
        best.wall = std::min(best.wall, t->wallSeconds);
        if (t->gpuSeconds) best.gpu = std::min(best.gpu, *t->gpuSeconds);
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    const uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64;
    const uint32_t groups = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 256;
    if (mib == 0 || mib > 2048 || groups == 0) return std::fprintf(stderr, "usage: bench_vulkan_probe [MiB 1..2048] [GROUPS >= 1]\n"), 2;
    auto options = instanceOptionsFromEnvironment();
    if (!options) return std::fprintf(stderr, "%s\n", options.error().message.c_str()), 2;
    auto instance = Instance::create(*options);
    if (!instance) return std::fprintf(stderr, "%s\n", instance.error().message.c_str()), 1;
    auto device = Device::create(*instance);
    if (!device) return std::fprintf(stderr, "%s\n", device.error().message.c_str()), 1;
    const uint64_t bytes = mib << 20;
    auto src = (*device)->createBuffer(bytes);
    auto partials = (*device)->createBuffer(groups * sizeof(uint32_t));
    if (!src || !partials) return std::fprintf(stderr, "%s\n", (!src ? src : partials).error().message.c_str()), 1;
    uint32_t x = 1, expected = 0;
    for (uint32_t& w : src->as<uint32_t>()) {
        w = x = x * 1664525u + 1013904223u;
        expected += w;
    }
    std::printf("device %s (%s), %llu MiB, %u workgroups of 256\n", (*device)->info().name.c_str(),
                (*device)->info().driverName.c_str(), (unsigned long long)mib, groups);
    for (const char* shader : {"read_bandwidth", "read_bandwidth_vec4"}) {
        Best best;
        if (!measure(**device, shader, *src, *partials, uint32_t(bytes / 4), groups, expected, best)) return 1;
        std::printf("%-20s  GPU timestamps %7.2f GB/s   wall %7.2f GB/s\n", shader,
                    best.gpu < 1e30 ? double(bytes) / best.gpu * 1e-9 : 0.0, double(bytes) / best.wall * 1e-9);
    }
    return 0;
}
