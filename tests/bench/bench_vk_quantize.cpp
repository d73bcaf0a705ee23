// bench_vk_quantize: quantizeOnDevice (Vulkan) against quant::quantizeRtn (CPU, all threads)
// on the same 4096 x 4096 Gaussian matrix in the same run, per scheme: wall seconds of each
// and their ratio, after one warm-up call (pipeline creation). Not a test: it prints numbers.
// On lavapipe the "device" is the CPU too; the ratio says what the exact integer division
// costs there, not what a GPU does.
//
//   bench_vk_quantize [ROWS COLS]
#include "backends/vulkan/kernels/vk_quantize.h"

#include "quant/quantize.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

using namespace qs;
using namespace qs::backends::vulkan;

namespace {

double seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

} // namespace

int main(int argc, char** argv)
{
    const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 4096, cols = argc > 2 ? std::atoll(argv[2]) : 4096;
    auto options = instanceOptionsFromEnvironment();
    if (!options) return std::fprintf(stderr, "%s\n", options.error().message.c_str()), 1;
    auto instance = Instance::create(*options);
    if (!instance) return std::fprintf(stderr, "%s\n", instance.error().message.c_str()), 1;
    auto device = Device::create(*instance);
    if (!device) return std::fprintf(stderr, "%s\n", device.error().message.c_str()), 1;
    std::printf("device: %s (%s), matrix %lld x %lld\n", (*device)->info().name.c_str(),
                (*device)->info().driverName.c_str(), (long long)rows, (long long)cols);
    quant::Matrix w{rows, cols, std::vector<float>(size_t(rows * cols))};
    std::mt19937 gen(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (float& x : w.data) x = normal(gen);
    std::printf("%-22s %10s %10s %8s\n", "scheme", "cpu s", "vulkan s", "cpu/vk");
    for (const char* spec : {"int8:channel", "int4:g128:asym", "int4:tensor", "fp8_e4m3:channel", "nf4:dq"}) {
        auto scheme = quant::parseScheme(spec);
        if (!scheme) return std::fprintf(stderr, "%s\n", scheme.error().message.c_str()), 1;
        if (auto warm = quantizeOnDevice(**device, w, *scheme); !warm)
            return std::fprintf(stderr, "%s: %s\n", spec, warm.error().message.c_str()), 1;
        double t0 = seconds();
        auto cpu = quant::quantizeRtn(w, *scheme);
        const double cpuSeconds = seconds() - t0;
        t0 = seconds();
        auto gpu = quantizeOnDevice(**device, w, *scheme);
        const double gpuSeconds = seconds() - t0;
        if (!cpu || !gpu) return std::fprintf(stderr, "%s failed\n", spec), 1;
        const bool same = cpu->codes == gpu->codes;
        std::printf("%-22s %10.3f %10.3f %8.2f%s\n", spec, cpuSeconds, gpuSeconds, cpuSeconds / gpuSeconds,
                    same ? "" : "  (codes differ!)");
    }
    return 0;
}
