#pragma once
/// The scale-per-group quantizers: integer INT2..INT8 and FP8 (E4M3 / E5M2) with an F32 scale,
/// at tensor, output-channel, input-channel or group granularity.
///
/// Integer, symmetric (restricted range, as PyTorch's and oneDNN's symmetric weight
/// quantization): qmax = 2^(b-1) - 1, scale = clip / qmax, q = clamp(round(x / scale), -qmax,
/// qmax), x' = q * scale (so int8 uses [-127, 127], never -128).
/// Integer, asymmetric: the range [lo, hi] is first extended to include 0; levels 0..2^b - 1,
/// scale = (hi - lo) / (2^b - 1), zp = clamp(round_even(-lo / scale), 0, 2^b - 1),
/// q = clamp(round(x / scale) + zp, 0, 2^b - 1), x' = (q - zp) * scale.
/// round() is scheme.rounding; stochastic rounding is floor(v + u) with u drawn from a
/// std::mt19937_64 seeded by (scheme.seed, segment), a segment being one row of one group
/// (row * groupsPerRow + group; for tensor and inchannel granularity the whole row), so the
/// result does not depend on the thread count.
/// FP8: scale = clip / 448 (E4M3) or / 57344 (E5M2), x' = roundToMiniFloat(x / scale) * scale,
/// overflow per scheme.overflow.
/// Group granularity: groups of groupSize consecutive input channels of a row; the last group
/// of a row is shorter when cols % groupSize != 0. Group-wise int scales are stored (and used)
/// as IEEE half, as GPTQ/AWQ checkpoints do; a scale that half cannot hold (0 or Inf after
/// rounding) stays F32. All other scales are F32.
/// A group with no nonzero finite value gets scale 1 (zero point 0) and dequantizes to 0.
#include "quantize.h"

#include "core/progress.h"
#include "core/result.h"

#include <cstdint>
#include <functional>

namespace qs::quant {

/// Quantizes a scheme of family Int, Fp8E4M3 or Fp8E5M2 (see the file comment).
core::Result<Quantized> quantizeScaled(const Matrix& w, const Scheme& scheme,
                                       const RangeOptions& range, core::Progress* progress,
                                       Quantized* reuse = nullptr);

/// Runs fn(begin, end, thread) over [0, count) in chunks of `chunk` on the process-wide thread
/// pool (core::parallelChunks, chunkThreads() threads), reporting (doneBefore + finished, total) to `progress` after each chunk. Returns
/// Cancelled (naming `what`) when the progress asks to stop.
core::Status forChunks(int64_t count, int64_t chunk, core::Progress* progress,
                       uint64_t doneBefore, uint64_t total, const char* what,
                       const std::function<void(int64_t, int64_t, unsigned)>& fn);

/// Threads forChunks uses: every `thread` it passes is below this (for per-thread scratch).
unsigned chunkThreads();

} // namespace qs::quant
