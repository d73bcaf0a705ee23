#pragma once
/// GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative
/// Pre-trained Transformers"), following the reference gptq.py `fasterquant`:
///   H = 2 X^T X / n; dead inputs (H_ii = 0) get H_ii = 1 and a zero weight column;
///   H += lambda I with lambda = damp * mean(diag H); optional act-order (columns in decreasing
///   H_ii); U = upper Cholesky factor of H^-1 (U^T U = H^-1); then in blocks of `block` columns,
///   column by column: q = quant(w), err = (w - q) / U_ii, W[:, later in block] -= err U_i,;
///   after a block, W[:, rest] -= Err_block U[block, rest] (one sgemm).
/// Quantizers: the scale of a per-tensor or per-channel scheme comes from the whole (dead-
/// zeroed) matrix before the first column; a group's scale is fitted when its first column is
/// reached, on the current, already updated weights of the group. With act-order, groups stay
/// the contiguous groups of the file layout, so their scales are fitted once on the original
/// weights before the loop (the reference's `static_groups`).
#include "methods.h"

#include <cstdint>
#include <vector>

namespace qs::quant {

/// Runs GPTQ on `w` with calibration activations `x` [n, w.cols]. Supported: Int with tensor,
/// channel or group granularity; NF4 without double quantization; FP8 E4M3/E5M2 per tensor or
/// channel (always saturating, so that an overflow cannot turn the error feedback into NaN).
/// Other schemes return Unsupported naming the scheme. Non-finite weights or activations are
/// InvalidArgument.
core::Result<MethodResult> quantizeGptq(const Matrix& w, const Scheme& scheme, const Matrix& x,
                                        const MethodOptions& options,
                                        core::Progress* progress = nullptr);

/// For a symmetric positive definite `a` (n x n, row-major), replaces it by the upper
/// triangular U with U^T U = a^-1 and a positive diagonal (zeros below the diagonal).
/// Computed as a blocked Cholesky of the index-reversed matrix J a J = L L^T followed by a
/// blocked triangular inverse: then U = J L^-1 J. InvalidArgument when a is not positive
/// definite (a non-positive or non-finite pivot).
core::Status upperCholeskyOfInverse(std::vector<float>& a, int64_t n,
                                    const core::Gemm& gemm = core::referenceGemm());

} // namespace qs::quant
