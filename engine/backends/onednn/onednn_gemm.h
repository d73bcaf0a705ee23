#pragma once
/// core::Gemm through oneDNN's BLAS-like dnnl_sgemm. Keeping the oneDNN header out of this
/// file lets callers stay free of oneDNN types.
#include "core/gemm.h"

namespace qs::backends::onednn {

class OnednnGemm final : public core::Gemm {
public:
    std::string_view name() const override { return "onednn"; }
    /// core::Gemm::sgemm; a oneDNN failure is an InvalidArgument error naming its status.
    core::Status sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                       float* c, int64_t ldc) const override;
};

/// The process-wide oneDNN GEMM (stateless).
const core::Gemm& onednnGemm();

} // namespace qs::backends::onednn
