#pragma once
/// The stored form of a method's result: what a file holds for one quantized tensor. The
/// codec names the parts of the codes and their scales (quantize.h lists them; README "Saved
/// models" has the table); the methods add theirs:
///   AWQ/SmoothQuant   the codec parts describe W diag(s); NAME.smooth F32 [C] = s (divide
///                     the input by s before the layer)
///   LLM.int8          the codec parts for the other columns [R, C - k];
///                     NAME.outlier_columns I64 [k] (ascending), NAME.outlier_weights F16 [R, k]
///   SpQR              the codec parts for the RTN weights; NAME.outlier_index I64 [k]
///                     (row-major positions, ascending), NAME.outlier_values F16 [k] replace them
/// The reported bytes of a result are the sizes of exactly these parts.
#include "methods.h"

#include <vector>

namespace qs::quant {

/// The parts with their bytes.
core::Result<std::vector<StoredPart>> storedParts(const MethodResult& r);

/// The parts' names, dtypes and shapes (no data).
std::vector<StoredPart> storedLayout(const MethodResult& r);

/// Sets r.bytes and r.bitsPerWeight from storedLayout(r), over `weights` weights.
void setStoredCost(MethodResult& r, int64_t weights);

} // namespace qs::quant
