#pragma once
/// SpQR-style outliers (Dettmers et al. 2023): quantize with RTN, then keep the k weights with
/// the largest |w - q| in 16 bit (IEEE half) as a sparse list, k = round(percent / 100 * N)
/// over the N finite weights. Each sparse entry is stored as a 64-bit position and a 16-bit
/// value (stored.h), so bytes = RTN bytes + 10 k.
#include "methods.h"

namespace qs::quant {

core::Result<MethodResult> quantizeSpqr(const Matrix& w, const Scheme& scheme,
                                        const MethodOptions& options,
                                        core::Progress* progress = nullptr);

} // namespace qs::quant
