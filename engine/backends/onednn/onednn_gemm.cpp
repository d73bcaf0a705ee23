#include "onednn_gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <string>

namespace qs::backends::onednn {

namespace {

core::Error gemmError(const std::string& what)
{
    return core::makeError(core::ErrorCode::InvalidArgument, "sgemm: " + what);
}

} // namespace

core::Status sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc)
{
    if (m < 0 || n < 0 || k < 0) {
        return gemmError("negative size M=" + std::to_string(m) + " N=" + std::to_string(n) +
                         " K=" + std::to_string(k));
    }
    if (m == 0 || n == 0) return core::Status::success();
    // Row-major storage: A is M x K (or K x M when transposed), so its row length is K (or M).
    const int64_t aCols = transA ? m : k;
    const int64_t bCols = transB ? k : n;
    if (lda < std::max<int64_t>(1, aCols) || ldb < std::max<int64_t>(1, bCols) || ldc < n) {
        return gemmError("leading dimension too small (lda=" + std::to_string(lda) +
                         " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc) + ")");
    }
    if (k == 0) {
        // dnnl_sgemm rejects K = 0 on some versions; the result is beta * C by definition.
        for (int64_t i = 0; i < m; ++i) {
            float* row = c + i * ldc;
            for (int64_t j = 0; j < n; ++j)
                row[j] = beta == 0.0f ? 0.0f : beta * row[j];
        }
        return core::Status::success();
    }
    const dnnl_status_t st = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a,
                                        lda, b, ldb, beta, c, ldc);
    if (st != dnnl_success) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "sgemm: oneDNN dnnl_sgemm failed with status " +
                                   std::to_string(static_cast<int>(st)));
    }
    return core::Status::success();
}

} // namespace qs::backends::onednn
