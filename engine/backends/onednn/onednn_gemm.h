#pragma once
/// Single-precision matrix multiply through oneDNN's BLAS-like dnnl_sgemm, for the dense
/// algebra of the quantization methods (GPTQ's Hessian and updates, output errors). Keeping the
/// oneDNN header out of this file lets the rest of the engine stay free of oneDNN types.
#include "core/result.h"

#include <cstdint>

namespace qs::backends::onednn {

/// C = alpha * op(A) * op(B) + beta * C, row-major, with op(X) = X or X^T.
/// op(A) is M x K, op(B) is K x N, C is M x N; lda, ldb, ldc are the row strides (in elements)
/// of A, B and C as stored. Returns InvalidArgument for negative sizes or strides too small for
/// the stored shapes, and the oneDNN status otherwise. M, N or K of 0 is a valid no-op
/// (K = 0 scales C by beta).
core::Status sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc);

} // namespace qs::backends::onednn
