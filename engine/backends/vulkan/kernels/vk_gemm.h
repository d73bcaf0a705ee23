#pragma once
/// The f32 GEMM of core::Gemm on a Vulkan device: C = alpha * op(A) op(B) + beta * C, row-major
/// with leading dimensions, exactly the contract of core/gemm.h (checkGemmArguments first;
/// M or N of 0 does nothing; K = 0 is beta * C on the host, as every implementation does).
///
/// The products and their sums run on the device (shaders/gemm/sgemm.comp: 64 x 64 tiles of
/// P = op(A) op(B), sums in f32 in k order, possibly fused multiply-adds). The host copies the
/// operands into the kernel's buffers (compact rows, transposes kept: the shader reads either
/// layout) and, while it copies P out into C's strided rows, applies the epilogue
///     C[i][j] = alpha * P[i][j]                    (beta == 0: C is never read, NaN included)
///     C[i][j] = alpha * P[i][j] + beta * C[i][j]   (otherwise)
/// That pass over C is needed anyway (C has its own row stride and lives in host memory), so
/// alpha and beta cost nothing there and C never has to be uploaded.
///
/// Error: each element is within (K + 2) * 2^-24 * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|)
/// (plus K * 2^-126 on a device that flushes subnormal products) of the exact value: K
/// roundings of the products and sums in any order, one for alpha, one for the final add.
///
/// Chunks: op(A), B and P each go in one buffer of at most the chunk limit (kernelChunkBytes of
/// DeviceGemmOptions::maxChunkBytes). Large problems are split by rows of C (A's rows with
/// their rows of P) and, when B alone is larger than the limit, by columns of C too; K is
/// never split, so a K whose single row exceeds the limit is Unsupported.
#include "backends/vulkan/vk_device.h"

#include "core/result.h"

#include <cstdint>

namespace qs::backends::vulkan {

/// The arguments of core::Gemm::sgemm, as one value.
struct GemmCall {
    bool transA = false, transB = false;
    int64_t m = 0, n = 0, k = 0;
    float alpha = 1.0f;
    const float* a = nullptr;
    int64_t lda = 0;
    const float* b = nullptr;
    int64_t ldb = 0;
    float beta = 0.0f;
    float* c = nullptr;
    int64_t ldc = 0;
};

struct DeviceGemmOptions {
    /// Largest buffer of one dispatch in bytes; 0: kernelChunkBytes' default, always clamped
    /// to the device's limits (a test sets a small one to exercise the split).
    uint64_t maxChunkBytes = 0;
    /// Set to true as soon as any element of C has been written: a caller that retries after
    /// an error must not retry once C is partly updated (beta would be applied twice).
    bool* wroteC = nullptr;
};

/// Runs `call` on `device`. Errors: checkGemmArguments' InvalidArgument, Unsupported when one
/// row of op(A) or column of op(B) exceeds the chunk limit, and the device's errors
/// (allocation, a lost device: C may then hold a part of the result). `timing` receives the
/// sum over the dispatches.
core::Status sgemmOnDevice(Device& device, const GemmCall& call, const DeviceGemmOptions& options = {},
                           DispatchTiming* timing = nullptr);

} // namespace qs::backends::vulkan
