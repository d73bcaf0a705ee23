#pragma once
/// Single-precision matrix multiply behind one interface, so that the dense algebra of the
/// quantization methods (GPTQ's Hessian, Cholesky and updates, AWQ's output error) runs on
/// whichever backend the caller holds. core provides the plain C++ reference; a backend
/// (backends/onednn) provides its own. Code below backends/ only ever sees this interface.
#include "result.h"

#include <cstdint>
#include <string_view>

namespace qs::core {

/// C = alpha * op(A) * op(B) + beta * C, row-major, with op(X) = X or X^T.
/// op(A) is M x K, op(B) is K x N, C is M x N; lda, ldb, ldc are the row strides (in elements)
/// of A, B and C as stored (A is M x K, or K x M when transposed). M, N or K of 0 is a valid
/// no-op; K = 0 sets C = beta * C (beta == 0 writes zeros, whatever C held, NaN included).
class Gemm {
public:
    virtual ~Gemm() = default;
    /// Short name of the implementation ("reference", "onednn").
    virtual std::string_view name() const = 0;
    /// Returns InvalidArgument for negative sizes or strides too small for the stored shapes
    /// (checkGemmArguments), or the implementation's own failure.
    virtual Status sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc) const = 0;
};

/// The argument check every implementation runs first: sizes >= 0, lda >= max(1, cols of A as
/// stored), ldb >= max(1, cols of B as stored), ldc >= N. The message starts with "sgemm: ".
Status checkGemmArguments(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                          int64_t lda, int64_t ldb, int64_t ldc);

/// C = beta * C over M x N (the K = 0 case); beta == 0 writes zeros.
void scaleMatrix(int64_t m, int64_t n, float beta, float* c, int64_t ldc);

/// The plain C++ GEMM: cache-blocked (B panels of kKc x kNc and A blocks of kMc x kKc packed
/// into contiguous buffers), a register-tiled inner kernel the compiler vectorises (AVX-512,
/// AVX2 and baseline clones, no FMA contraction), and row blocks spread over
/// core::defaultThreadCount() threads. Sums run in f32 in a fixed order per element, so a
/// result does not depend on the thread count.
class ReferenceGemm final : public Gemm {
public:
    std::string_view name() const override { return "reference"; }
    Status sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) const override;
};

/// The process-wide reference GEMM (stateless; safe to share between threads).
const Gemm& referenceGemm();

} // namespace qs::core
