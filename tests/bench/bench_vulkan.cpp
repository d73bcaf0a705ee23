// bench_vulkan: the Vulkan linear kernels on the chosen device against its read bandwidth and
// against the CPU backends, in one run. Not a test: it prints numbers (on lavapipe they
// describe the CPU rasteriser, not a GPU, and are no targets).
//
//   bench_vulkan [--device N] [--quick | --gemm SIZE] [--repeats R] [--only gemv,quantize,gemm,sgemm]
//   (probe: 256 MiB or the largest buffer; --only: those sections, default all)
// Prints: the read-bandwidth probe (GB/s, over device-local memory); GEMV (batch 1) of int8,
// int4:g128 and Q4_K weights prepared once in device-local memory (prepareLinearOnDevice), on
// 4096 x 4096 and 8192 x 8192 as GB/s of weight bytes read and as a fraction of the probe,
// GPU timestamp time beside the submit-to-fence wall time; the same layers on the reference
// and oneDNN backends (where they run that precision); the workbench's quantize + error pass
// (int8, int4:g128, q4_k with metrics and a 256 x 256 map) on 4096^2 and 8192^2 as GB/s and
// fraction of the probe beside the CPU's fused pass; the f16 and the bf16 GEMM (linear, batch
// SIZE) and the f32 sgemm (VulkanBackend::gemm(), C = A B^T as GPTQ's updates) in TFLOP/s at
// SIZE^3, beside the reference and oneDNN backends, then one sgemm call of each shape GPTQ
// makes on a SIZE x SIZE layer (whole call, GPU time, the host's share, the cost of its buffers). SIZE is 4096 (the figure, meant for
// a GPU); --quick sets 1024, for a CPU device (lavapipe) where 4096^3 takes minutes; --gemm
// sets any size. The sizes that ran are printed first. Exit 1 when a kernel fails.
#include "backends/backend.h"
#include "backends/vulkan/kernels/vk_gemm.h"
#include "backends/vulkan/kernels/vk_linear.h"
#include "backends/vulkan/kernels/vk_metrics.h"
#include "backends/vulkan/kernels/vk_probe.h"
#include "backends/vulkan/kernels/vk_quantize.h"
#include "backends/vulkan/kernels/vk_quantize_blocks.h"
#include "quant/analysis.h"
#include "quant/quantize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>

using namespace qs;
using namespace qs::backends;
using namespace qs::backends::vulkan;

namespace {

quant::Matrix randomMatrix(int64_t rows, int64_t cols, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    quant::Matrix m{rows, cols, std::vector<float>(size_t(rows * cols))};
    for (float& v : m.data) v = u(rng);
    return m;
}

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Best {
    double gpu = std::numeric_limits<double>::infinity(); ///< inf: no timestamps
    double wall = std::numeric_limits<double>::infinity();
    double call = std::numeric_limits<double>::infinity();       ///< whole prepared call (x in, y out)
    double unprepared = std::numeric_limits<double>::infinity(); ///< whole call that packs the weights too
    bool ok = false;
};

/// Times linear() on weights prepared once (prepareLinearOnDevice, not timed): the dispatches
/// (gpu, wall) and the whole call; with `unprepared`, also the whole call that packs and
/// uploads the weights every time (what a layer run once costs).
Best timeDevice(Device& device, const quant::Matrix& x, const LinearWeights& w, const LinearOptions& o, int repeats,
                bool unprepared = false)
{
    Best b;
    auto prepared = prepareLinearOnDevice(device, w, o);
    if (!prepared) {
        std::printf("  vulkan: %s\n", prepared.error().message.c_str());
        return b;
    }
    for (int i = 0; i < repeats; ++i) {
        DispatchTiming t;
        const double t0 = now();
        auto y = linearOnDevice(device, x, prepared->layout, prepared->buffers, &t);
        const double t1 = now();
        if (!y) {
            std::printf("  vulkan: %s\n", y.error().message.c_str());
            return b;
        }
        b.call = std::min(b.call, t1 - t0);
        b.wall = std::min(b.wall, t.wallSeconds);
        if (t.gpuSeconds) b.gpu = std::min(b.gpu, *t.gpuSeconds);
        b.ok = true;
        if (unprepared) {
            const double u0 = now();
            if (!linearOnDevice(device, x, w, o)) return b;
            b.unprepared = std::min(b.unprepared, now() - u0);
        }
    }
    return b;
}

/// Best wall time of a CPU backend's linear(); a negative value when it does not run it.
double timeCpu(const Backend& backend, const quant::Matrix& x, const LinearWeights& w, const LinearOptions& o,
               int repeats)
{
    if (!backend.capabilities().has(o.precision)) return -1;
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < repeats; ++i) {
        const double t0 = now();
        auto y = backend.linear(x, w, o);
        if (!y) return -1;
        best = std::min(best, now() - t0);
    }
    return best;
}

struct Layer {
    const char* what;
    LinearOptions options;
    LinearWeights weights;
};

void gemvRow(Device& device, const std::vector<const Backend*>& cpus, const Layer& l, int64_t size, double probe,
             int repeats)
{
    const quant::Matrix x = randomMatrix(1, size, 11);
    const double bytes = double(linearWeightBytes(l.weights, l.options));
    const Best b = timeDevice(device, x, l.weights, l.options, repeats, true);
    if (!b.ok) return;
    const bool gpu = std::isfinite(b.gpu);
    const double t = gpu ? b.gpu : b.wall;
    std::printf("%-10s %5lld  %-34s %9.3f %9.3f %8.2f %6.3f   call %.3f ms, unprepared %.3f ms", l.what,
                static_cast<long long>(size), linearKernelName(l.weights, l.options, 1).c_str(),
                gpu ? b.gpu * 1e3 : -1.0, b.wall * 1e3, bytes / t * 1e-9, bytes / t * 1e-9 / probe, b.call * 1e3,
                b.unprepared * 1e3);
    for (const Backend* cpu : cpus) {
        const double c = timeCpu(*cpu, x, l.weights, l.options, repeats);
        if (c < 0) std::printf("   %s: -", std::string(cpu->name()).c_str());
        else std::printf("   %s: %.3f ms %.2f GB/s", std::string(cpu->name()).c_str(), c * 1e3, bytes / c * 1e-9);
    }
    std::printf("\n");
}

int gemvSection(Device& device, const std::vector<const Backend*>& cpus, int64_t size, double probe, int repeats)
{
    const quant::Matrix w = randomMatrix(size, size, 7);
    std::vector<int8_t> codes(size_t(size * size));
    std::vector<float> scales(size_t(size), 1.0f / 127.0f);
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = int8_t(int(i * 2654435761u >> 24) - 128);
    auto int4 = quant::quantizeRtn(w, *quant::parseScheme("int4:g128"));
    auto q4k = quant::quantizeRtn(w, *quant::parseScheme("q4_k"));
    if (!int4 || !q4k) {
        std::fprintf(stderr, "quantization failed: %s\n", (!int4 ? int4 : q4k).error().message.c_str());
        return 1;
    }
    const Int8Weights int8{codes, scales, size, size};
    const Layer layers[] = {
        {"int8", {LinearPrecision::Int8, {1.0f, false}}, LinearWeights::fromInt8(int8)},
        {"int4:g128", {LinearPrecision::WeightOnly, {}}, LinearWeights::fromQuantized(*int4)},
        {"q4_k", {LinearPrecision::WeightOnly, {}}, LinearWeights::fromQuantized(*q4k)},
    };
    for (const Layer& l : layers) gemvRow(device, cpus, l, size, probe, repeats);
    return 0;
}

/// The f16 and bf16 GEMM at n^3; false when one of them fails on the device.
/// The workbench's recompute on the device: quantize + dequantize, then the metrics and the
/// 256 x 256 max |error| map, as wall time (submit to fence, host packing included) against the
/// reference backend's fused pass (quant::quantizeAndMeasure) on the CPU. GB/s counts 8 bytes
/// per weight (the weights read and the decoded values written), as bench_quant does.
bool quantizePassSection(Device& device, int64_t size, double probe, int repeats)
{
    const quant::Matrix w = randomMatrix(size, size, 11);
    const double bytes = 8.0 * double(size) * double(size);
    for (const char* spec : {"int8", "int4:g128", "q4_k"}) {
        const auto scheme = *quant::parseScheme(spec);
        double gpu = std::numeric_limits<double>::infinity(), cpu = gpu;
        for (int i = 0; i < repeats; ++i) {
            const double t0 = now();
            auto q = blockSchemeOnDevice(scheme)
                         ? quantizeBlocksOnDevice(device, w, scheme, {}, nullptr, nullptr, device.maxChunkBytes())
                         : quantizeOnDevice(device, w, scheme);
            if (!q) {
                std::printf("%-10s %5lld  vulkan: %s\n", spec, static_cast<long long>(size), q.error().message.c_str());
                return false;
            }
            ErrorMapOptions map;
            map.gridRows = map.gridCols = 256;
            auto e = errorMetricsOnDevice(device, w, q->dequant, map, device.maxChunkBytes());
            if (!e) {
                std::printf("%-10s %5lld  vulkan metrics: %s\n", spec, static_cast<long long>(size), e.error().message.c_str());
                return false;
            }
            gpu = std::min(gpu, now() - t0);
            const double c0 = now();
            if (!quant::quantizeAndMeasure(w, scheme)) return false;
            cpu = std::min(cpu, now() - c0);
        }
        std::printf("%-10s %5lld  vulkan %9.1f ms %8.2f GB/s %6.3f of probe   reference (CPU, fused) %8.1f ms\n", spec,
                    static_cast<long long>(size), gpu * 1e3, bytes / gpu * 1e-9, bytes / gpu * 1e-9 / probe, cpu * 1e3);
    }
    return true;
}

/// " NAME: T ms X TFLOP/s" for each CPU time (negative: the backend does not run it).
void printCpuFlops(const std::vector<const Backend*>& cpus, const std::vector<double>& seconds, double flop)
{
    for (size_t i = 0; i < cpus.size(); ++i) {
        if (seconds[i] < 0) std::printf("   %s: -", std::string(cpus[i]->name()).c_str());
        else std::printf("   %s: %.1f ms %.4f TFLOP/s", std::string(cpus[i]->name()).c_str(), seconds[i] * 1e3,
                         flop / seconds[i] * 1e-12);
    }
    std::printf("\n");
}

bool gemmSection(Device& device, const std::vector<const Backend*>& cpus, int64_t n, int repeats)
{
    const quant::Matrix x = randomMatrix(n, n, 3), w = randomMatrix(n, n, 4);
    const double flop = 2.0 * double(n) * double(n) * double(n);
    bool ok = true;
    for (LinearPrecision p : {LinearPrecision::F16, LinearPrecision::BF16}) {
        const LinearOptions options{p, {}};
        const Best b = timeDevice(device, x, LinearWeights::fromF32(w), options, repeats);
        if (!b.ok) {
            ok = false;
            continue;
        }
        std::printf("%-4s GEMM %lld^3 (%s): gpu %.1f ms, wall %.1f ms, %.4f TFLOP/s\n",
                    std::string(precisionName(p)).c_str(), static_cast<long long>(n),
                    linearKernelName(LinearWeights::fromF32(w), options, n).c_str(),
                    std::isfinite(b.gpu) ? b.gpu * 1e3 : -1.0, b.wall * 1e3,
                    flop / (std::isfinite(b.gpu) ? b.gpu : b.wall) * 1e-12);
        std::vector<double> cpu;
        for (const Backend* c : cpus) cpu.push_back(timeCpu(*c, x, LinearWeights::fromF32(w), options, repeats));
        std::printf("     CPU backends (wall):");
        printCpuFlops(cpus, cpu, flop);
    }
    return ok;
}

/// The f32 sgemm C = A B^T (n^3, as GPTQ's column updates and AWQ's outputs call it) on the
/// device (sgemmOnDevice: host packing and the alpha/beta pass included in the wall time)
/// beside each CPU backend's core::Gemm.
bool sgemmSection(Device& device, const std::vector<const Backend*>& cpus, int64_t n, int repeats)
{
    const quant::Matrix a = randomMatrix(n, n, 5), b = randomMatrix(n, n, 6);
    std::vector<float> c(size_t(n * n));
    const GemmCall call{false, true, n, n, n, 1.0f, a.data.data(), n, b.data.data(), n, 0.0f, c.data(), n};
    const double flop = 2.0 * double(n) * double(n) * double(n);
    Best best;
    for (int i = 0; i < repeats; ++i) {
        DispatchTiming t;
        const double t0 = now();
        if (auto st = sgemmOnDevice(device, call, {}, &t); !st) {
            std::printf("f32 sgemm %lld^3: vulkan: %s\n", static_cast<long long>(n), st.error().message.c_str());
            return false;
        }
        best.wall = std::min(best.wall, now() - t0);
        if (t.gpuSeconds) best.gpu = std::min(best.gpu, *t.gpuSeconds);
    }
    std::printf("f32 sgemm %lld^3 NT (sgemm_f32): gpu %.1f ms, wall %.1f ms (with host packing), %.4f TFLOP/s\n",
                static_cast<long long>(n), std::isfinite(best.gpu) ? best.gpu * 1e3 : -1.0, best.wall * 1e3,
                flop / (std::isfinite(best.gpu) ? best.gpu : best.wall) * 1e-12);
    std::vector<double> cpu;
    for (const Backend* g : cpus) {
        double s = std::numeric_limits<double>::infinity();
        for (int i = 0; i < repeats; ++i) {
            const double t0 = now();
            if (!g->gemm().sgemm(false, true, n, n, n, 1.0f, a.data.data(), n, b.data.data(), n, 0.0f, c.data(), n)) {
                s = -1;
                break;
            }
            s = std::min(s, now() - t0);
        }
        cpu.push_back(s);
    }
    std::printf("     CPU backends (wall):");
    printCpuFlops(cpus, cpu, flop);
    return true;
}

/// One sgemm call of each shape GPTQ makes on a `layer` x `layer` weight (quant/gptq.cpp, blocks
/// of 128: the Cholesky's trailing update and panel, the triangular inverse's block row, the
/// lazy-batch update after the middle block), best of `repeats`: the whole call, its GPU time,
/// the host's share (packing, epilogue, buffers, descriptor pool, submit, fence wait), and
/// making and freeing the call's three buffers alone, which scratch buffers kept between calls
/// would save.
bool sgemmCallsSection(Device& device, int64_t layer, int repeats)
{
    struct Shape {
        const char* what;
        int64_t m, n, k;
        bool transB;
    };
    const int64_t b = 128, rest = layer - b;
    const Shape shapes[] = {{"cholesky update", b, b, b, true}, {"cholesky panel", rest, b, b, true},
                            {"inverse block row", b, b, rest, false}, {"lazy-batch update", layer, layer / 2, b, false}};
    std::printf("f32 sgemm calls as GPTQ makes them on a %lld^2 layer, best of %d:\n", static_cast<long long>(layer),
                repeats);
    for (const Shape& s : shapes) {
        const int64_t ldb = s.transB ? s.k : s.n;
        const quant::Matrix a = randomMatrix(s.m, s.k, 7), bm = randomMatrix(s.transB ? s.n : s.k, ldb, 8);
        std::vector<float> c(size_t(s.m * s.n));
        const GemmCall call{false, s.transB, s.m, s.n, s.k, 1.0f, a.data.data(), s.k, bm.data.data(), ldb, 0.0f,
                            c.data(), s.n};
        Best best;
        double buffers = std::numeric_limits<double>::infinity();
        for (int i = 0; i < repeats; ++i) {
            DispatchTiming t;
            const double t0 = now();
            if (auto st = sgemmOnDevice(device, call, {}, &t); !st) {
                std::printf("  %s: vulkan: %s\n", s.what, st.error().message.c_str());
                return false;
            }
            best.call = std::min(best.call, now() - t0);
            if (t.gpuSeconds) best.gpu = std::min(best.gpu, *t.gpuSeconds);
            const double b0 = now();
            for (uint64_t floats : {s.m * s.k, s.n * s.k, s.m * s.n})
                if (!device.createBuffer(floats * 4)) return false;
            buffers = std::min(buffers, now() - b0);
        }
        const double gpu = std::isfinite(best.gpu) ? best.gpu : best.call;
        std::printf("  %-18s %5lld x %5lld x %5lld %s: call %9.3f ms, gpu %9.3f ms, host %4.1f%%; 3 buffers made "
                    "and freed %.3f ms (%.2f%% of the call)\n",
                    s.what, static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k),
                    s.transB ? "NT" : "NN", best.call * 1e3, gpu * 1e3, 100.0 * (best.call - gpu) / best.call,
                    buffers * 1e3, 100.0 * buffers / best.call);
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    std::optional<uint32_t> index;
    int64_t gemmSize = 0;
    int repeats = 3;
    bool quick = false;
    std::string only; ///< comma-separated sections; empty: all
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 < argc && a == "--device") index = uint32_t(std::atoi(argv[++i]));
        else if (i + 1 < argc && a == "--gemm") gemmSize = std::atoll(argv[++i]);
        else if (i + 1 < argc && a == "--repeats") repeats = std::max(1, std::atoi(argv[++i]));
        else if (a == "--quick") quick = true;
        else if (i + 1 < argc && a == "--only") only = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_vulkan [--device N] [--quick | --gemm SIZE] [--repeats R] [--only LIST]\n"
                                 "  --quick: GEMM and sgemm at 1024^3 instead of 4096^3 (for lavapipe)\n"
                                 "  --only: comma-separated sections of gemv, quantize, gemm, sgemm (default: all)\n");
            return 2;
        }
    }
    if (quick && gemmSize > 0) {
        std::fprintf(stderr, "bench_vulkan: --quick and --gemm both set the GEMM size; give one\n");
        return 2;
    }
    if (gemmSize <= 0) gemmSize = quick ? 1024 : 4096;
    for (size_t at = 0; !only.empty() && at <= only.size();) {
        const size_t end = std::min(only.find(',', at), only.size());
        const std::string section = only.substr(at, end - at);
        if (section != "gemv" && section != "quantize" && section != "gemm" && section != "sgemm") {
            std::fprintf(stderr, "bench_vulkan: --only: unknown section '%s' (gemv, quantize, gemm, sgemm)\n", section.c_str());
            return 2;
        }
        at = end + 1;
    }
    auto instance = Instance::create({false});
    if (!instance) {
        std::fprintf(stderr, "%s\n", instance.error().message.c_str());
        return 1;
    }
    auto device = Device::create(*instance, {index, std::chrono::milliseconds(600000)});
    if (!device) {
        std::fprintf(stderr, "%s\n", device.error().message.c_str());
        return 1;
    }
    Device& dev = **device;
    const auto& info = dev.info();
    std::printf("device: %s (%s, %s), subgroup %u, timestamps %s\n", info.name.c_str(),
                std::string(deviceTypeName(info.type)).c_str(), info.driverName.c_str(), info.subgroupSize,
                info.timestampValidBits ? "yes" : "no");
    const uint64_t probeBytes = std::min({uint64_t(256) << 20, info.maxStorageBufferRange, info.maxMemoryAllocationSize});
    auto probe = measureReadBandwidth(dev, probeBytes, 5);
    if (!probe) {
        std::fprintf(stderr, "probe: %s\n", probe.error().message.c_str());
        return 1;
    }
    std::printf("sizes: GEMV and quantize pass 4096^2 and 8192^2; GEMM and sgemm %lld^3%s; sections: %s\n",
                static_cast<long long>(gemmSize), gemmSize == 4096 ? "" : " (the issue's figure is 4096^3)",
                only.empty() ? "all" : only.c_str());
    std::printf("read-bandwidth probe: %.2f GB/s (%llu MiB, best of 5, gpu %.2f ms, wall %.2f ms)\n",
                probe->gbPerSecond(), static_cast<unsigned long long>(probe->bytes >> 20), probe->bestGpuSeconds * 1e3,
                probe->bestWallSeconds * 1e3);
    auto reference = createBackend("reference");
    auto onednn = createBackend("onednn");
    std::vector<const Backend*> cpus;
    if (reference) cpus.push_back(reference->get());
    if (onednn) cpus.push_back(onednn->get());
    const auto runs = [&](const char* section) { return only.empty() || ("," + only + ",").find(std::string(",") + section + ",") != std::string::npos; };
    if (runs("gemv")) {
        std::printf("\nGEMV (batch 1) on weights prepared once (device-local), best of %d; GB/s = weight bytes read / "
                    "time (gpu timestamps, else wall); call = the whole prepared call, unprepared = a call that packs "
                    "and uploads the weights too\n",
                    repeats);
        std::printf("%-10s %5s  %-34s %9s %9s %8s %6s   CPU backends (wall)\n", "weights", "size", "kernel", "gpu ms",
                    "wall ms", "GB/s", "/probe");
        for (int64_t size : {4096, 8192})
            if (gemvSection(dev, cpus, size, probe->gbPerSecond(), repeats) != 0) return 1;
    }
    if (runs("quantize")) {
        std::printf("\nquantize + error pass (metrics and 256 x 256 max map), best of %d, wall time\n", std::min(repeats, 2));
        for (int64_t size : {4096, 8192})
            if (!quantizePassSection(dev, size, probe->gbPerSecond(), std::min(repeats, 2))) return 1;
    }
    bool gemmOk = true, sgemmOk = true;
    if (runs("gemm") || runs("sgemm")) std::printf("\nGEMM, best of %d\n", std::min(repeats, 2));
    if (runs("gemm")) gemmOk = gemmSection(dev, cpus, gemmSize, std::min(repeats, 2));
    if (runs("sgemm")) sgemmOk = sgemmSection(dev, cpus, gemmSize, std::min(repeats, 2)) &&
                                 sgemmCallsSection(dev, gemmSize, std::max(repeats, 5));
    return gemmOk && sgemmOk ? 0 : 1;
}
