#include "vk_gemm.h"

#include "vk_chunking.h"

#include "core/gemm.h"
#include "shaders/push_constants.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace qs::backends::vulkan {

namespace {

constexpr int64_t kTile = 64; ///< sgemm.comp's TM = TN

/// Rows and columns of C per dispatch: every buffer within `floats` values, whole tiles where
/// a chunk holds more than one, and grids within the device's workgroup counts.
struct ChunkPlan {
    int64_t rows = 0, cols = 0;
};

int64_t wholeTiles(int64_t v) { return v >= kTile ? v / kTile * kTile : v; }

core::Result<ChunkPlan> planChunks(const Device& device, const GemmCall& g, uint64_t floats)
{
    if (uint64_t(g.k) > floats) {
        return core::Error{core::ErrorCode::Unsupported,
                           "sgemm on vulkan: K = " + std::to_string(g.k) + " values do not fit in one buffer (" +
                               std::to_string(floats * 4) + " bytes)"};
    }
    const auto& info = device.info();
    const auto groupLimit = [](uint32_t count) { return int64_t(count ? std::min<uint32_t>(count, 65535u) : 65535u); };
    ChunkPlan p;
    const int64_t perBuffer = int64_t(floats);
    p.cols = std::min<int64_t>(g.n, perBuffer / g.k);
    if (p.cols < g.n) p.cols = wholeTiles(p.cols);
    p.cols = std::min(p.cols, groupLimit(info.maxComputeWorkGroupCount[0]) * kTile);
    p.rows = std::min({g.m, perBuffer / g.k, perBuffer / p.cols});
    if (p.rows < g.m) p.rows = wholeTiles(p.rows);
    p.rows = std::min(p.rows, groupLimit(info.maxComputeWorkGroupCount[1]) * kTile);
    return p;
}

/// op(A)[i0, i0 + rows) into `out` as stored (rows x K, or K x rows when transposed); the
/// row stride the shader reads.
uint32_t packA(const GemmCall& g, int64_t i0, int64_t rows, float* out)
{
    if (g.transA) {
        for (int64_t p = 0; p < g.k; ++p) std::memcpy(out + p * rows, g.a + p * g.lda + i0, size_t(rows) * 4);
        return uint32_t(rows);
    }
    for (int64_t i = 0; i < rows; ++i) std::memcpy(out + i * g.k, g.a + (i0 + i) * g.lda, size_t(g.k) * 4);
    return uint32_t(g.k);
}

/// Columns [j0, j0 + cols) of op(B) into `out` as stored (K x cols, or cols x K when
/// transposed); the row stride the shader reads.
uint32_t packB(const GemmCall& g, int64_t j0, int64_t cols, float* out)
{
    if (g.transB) {
        for (int64_t j = 0; j < cols; ++j) std::memcpy(out + j * g.k, g.b + (j0 + j) * g.ldb, size_t(g.k) * 4);
        return uint32_t(g.k);
    }
    for (int64_t p = 0; p < g.k; ++p) std::memcpy(out + p * cols, g.b + p * g.ldb + j0, size_t(cols) * 4);
    return uint32_t(cols);
}

/// C[i0 + i][j0 + j] = alpha * P[i][j] (+ beta * C[i0 + i][j0 + j] unless beta == 0).
void applyEpilogue(const GemmCall& g, int64_t i0, int64_t rows, int64_t j0, int64_t cols, const float* product)
{
    for (int64_t i = 0; i < rows; ++i) {
        const float* pr = product + i * cols;
        float* cr = g.c + (i0 + i) * g.ldc + j0;
        if (g.beta == 0.0f) {
            for (int64_t j = 0; j < cols; ++j) cr[j] = g.alpha * pr[j];
        } else {
            for (int64_t j = 0; j < cols; ++j) cr[j] = g.alpha * pr[j] + g.beta * cr[j];
        }
    }
}

void addTiming(DispatchTiming& total, const DispatchTiming& t)
{
    total.wallSeconds += t.wallSeconds;
    total.gpuSeconds = (total.gpuSeconds && t.gpuSeconds) ? std::optional(*total.gpuSeconds + *t.gpuSeconds)
                                                          : std::nullopt;
}

} // namespace

core::Status sgemmOnDevice(Device& device, const GemmCall& g, const DeviceGemmOptions& options,
                           DispatchTiming* timing)
{
    if (auto st = core::checkGemmArguments(g.transA, g.transB, g.m, g.n, g.k, g.lda, g.ldb, g.ldc); !st) return st;
    if (timing) *timing = DispatchTiming{0.0, 0.0};
    if (g.m == 0 || g.n == 0) return core::Status::success();
    if (g.k == 0) {
        if (options.wroteC) *options.wroteC = true;
        core::scaleMatrix(g.m, g.n, g.beta, g.c, g.ldc);
        return core::Status::success();
    }
    auto plan = planChunks(device, g, kernelChunkBytes(device, options.maxChunkBytes) / 4);
    if (!plan) return plan.error();
    auto kernel = device.kernel({"sgemm_f32", 3, sizeof(shaders::SgemmPush)});
    if (!kernel) return kernel.error();
    // Every allocation comes before the first write to C, so running out of memory leaves C as it was.
    auto aBuf = device.createBuffer(uint64_t(plan->rows) * uint64_t(g.k) * 4);
    auto bBuf = device.createBuffer(uint64_t(plan->cols) * uint64_t(g.k) * 4);
    auto pBuf = device.createBuffer(uint64_t(plan->rows) * uint64_t(plan->cols) * 4);
    for (auto* b : {&aBuf, &bBuf, &pBuf})
        if (!*b) return b->error();
    DispatchTiming total{0.0, 0.0};
    for (int64_t j0 = 0; j0 < g.n; j0 += plan->cols) {
        const int64_t cols = std::min(plan->cols, g.n - j0);
        shaders::SgemmPush push{};
        push.ldb = packB(g, j0, cols, bBuf->as<float>().data());
        push.n = uint32_t(cols);
        push.k = uint32_t(g.k);
        push.transA = g.transA ? 1u : 0u;
        push.transB = g.transB ? 1u : 0u;
        for (int64_t i0 = 0; i0 < g.m; i0 += plan->rows) {
            const int64_t rows = std::min(plan->rows, g.m - i0);
            push.lda = packA(g, i0, rows, aBuf->as<float>().data());
            push.m = uint32_t(rows);
            Dispatch d;
            d.kernel = *kernel;
            d.buffers = {&*aBuf, &*bBuf, &*pBuf};
            d.setPush(push);
            d.groups[0] = uint32_t((cols + kTile - 1) / kTile);
            d.groups[1] = uint32_t((rows + kTile - 1) / kTile);
            auto t = device.run(d);
            if (!t) return t.error();
            addTiming(total, *t);
            if (options.wroteC) *options.wroteC = true;
            applyEpilogue(g, i0, rows, j0, cols, pBuf->as<float>().data());
        }
    }
    if (timing) *timing = total;
    return core::Status::success();
}

} // namespace qs::backends::vulkan
