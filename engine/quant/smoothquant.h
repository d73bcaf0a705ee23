#pragma once
/// SmoothQuant (Xiao et al. 2022): migrate activation outliers into the weights with a
/// per-input-channel scale
///   s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)   (s_j = 1 when either maximum is 0)
/// so that X' = X diag(1/s) and W' = W diag(s) give the same product. W' is quantized with the
/// scheme; the result is reported in the original space as Q' diag(1/s), which is exact since
/// X' Q'^T = X (Q' diag(1/s))^T. With only an imatrix, max|X_j| is replaced by the channel's
/// RMS sqrt(importance[j]) and the note says so.
#include "methods.h"

#include <vector>

namespace qs::quant {

core::Result<MethodResult> quantizeSmoothQuant(const Matrix& w, const Scheme& scheme,
                                               const Calibration& calib,
                                               const MethodOptions& options,
                                               core::Progress* progress = nullptr);

/// The migration scales s_j for activation magnitudes `act` and weight column maxima `wmax`.
std::vector<float> smoothQuantScales(const std::vector<float>& act, const std::vector<float>& wmax,
                                     double alpha);

} // namespace qs::quant
