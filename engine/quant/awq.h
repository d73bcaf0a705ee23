#pragma once
/// AWQ (Lin et al. 2023, "Activation-aware Weight Quantization"): scale every input channel of
/// the weights by s_j before quantizing, so that the channels that see large activations lose
/// less precision; the inverse scale folds into the previous operation.
///   s_x[j] = mean_n |x[n][j]| (or sqrt(importance[j]) from an imatrix)
///   for alpha in {0, 1/grid, ..., 1 - 1/grid}:
///     s = max(s_x^alpha, 1e-4); s /= sqrt(max(s) * min(s))
///     Q = RTN(W diag(s)) diag(1/s)
///     error = ||X W^T - X Q^T||_F  (with activations)
///           = sum_j importance[j] * sum_r (W - Q)[r][j]^2  (importance only)
///   keep the alpha with the smallest error (ties keep the smaller alpha). alpha = 0 is plain
///   RTN, so AWQ is never worse than RTN on its own calibration data.
#include "methods.h"

#include <span>
#include <vector>

namespace qs::quant {

core::Result<MethodResult> quantizeAwq(const Matrix& w, const Scheme& scheme,
                                       const Calibration& calib, const MethodOptions& options,
                                       core::Progress* progress = nullptr);

/// m diag(s): column j of every row multiplied by s[j] (s.size() == m.cols).
Matrix scaleColumns(const Matrix& m, std::span<const float> s);

} // namespace qs::quant
