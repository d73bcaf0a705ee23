#pragma once
/// LLM.int8()-style decomposition (Dettmers et al. 2022): input channels whose activations
/// reach above a threshold (max_n |x[n][j]| > threshold; without activations, max_r |w[r][j]|
/// > threshold, and the note says which) stay in 16 bit (IEEE half, round to nearest even);
/// the other channels, gathered into a [rows, in - kept] matrix, are quantized with the scheme.
/// Storage: 2 bytes per kept weight + the quantized part's bytes + a 32-bit index per kept
/// channel, so bits per weight = (16 rows kept + 8 quantizedBytes + 32 kept) / (rows cols).
/// `clip` and `groupsPerRow` describe the quantized part; `packed`, `scales` and `zeroPoints`
/// are cleared because its columns no longer line up with the tensor's.
#include "methods.h"

namespace qs::quant {

core::Result<MethodResult> quantizeLlmInt8(const Matrix& w, const Scheme& scheme,
                                           const Calibration* calib, const MethodOptions& options,
                                           core::Progress* progress = nullptr);

/// f rounded to the nearest IEEE half (ties to even), back as a float.
float roundToHalf(float f);

} // namespace qs::quant
