#pragma once
/// LLM.int8()-style decomposition (Dettmers et al. 2022): input channels whose activations
/// reach above a threshold (max_n |x[n][j]| > threshold; without activations, max_r |w[r][j]|
/// > threshold, and the note says which) stay in 16 bit (IEEE half, round to nearest even);
/// the other channels, gathered into a [rows, in - kept] matrix, are quantized with the scheme.
/// Stored (stored.h): the quantized part, the kept columns' indices (I64) and their fp16
/// weights; `quantized` is the part [rows, in - kept], `effective` the whole layer.
#include "methods.h"

namespace qs::quant {

core::Result<MethodResult> quantizeLlmInt8(const Matrix& w, const Scheme& scheme,
                                           const Calibration* calib, const MethodOptions& options,
                                           core::Progress* progress = nullptr);

} // namespace qs::quant
