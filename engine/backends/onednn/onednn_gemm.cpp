#include "onednn_gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <string>

namespace qs::backends::onednn {

core::Status OnednnGemm::sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                               float alpha, const float* a, int64_t lda, const float* b,
                               int64_t ldb, float beta, float* c, int64_t ldc) const
{
    if (auto st = core::checkGemmArguments(transA, transB, m, n, k, lda, ldb, ldc); !st) return st;
    if (m == 0 || n == 0) return core::Status::success();
    if (k == 0) {
        // dnnl_sgemm rejects K = 0 on some versions; the result is beta * C by definition.
        core::scaleMatrix(m, n, beta, c, ldc);
        return core::Status::success();
    }
    // The C API returns a status and throws nothing.
    const dnnl_status_t st = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a,
                                        lda, b, ldb, beta, c, ldc);
    if (st != dnnl_success) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "sgemm: oneDNN dnnl_sgemm failed with status " +
                                   std::to_string(static_cast<int>(st)));
    }
    return core::Status::success();
}

const core::Gemm& onednnGemm()
{
    static const OnednnGemm gemm;
    return gemm;
}

} // namespace qs::backends::onednn
