#pragma once
/// Round-to-nearest quantization of a weight matrix under a Scheme, with a choice of range
/// (clipping). Every format's quantizer returns the dequantized matrix, the exact storage cost,
/// and the clip it chose for every scale group, so metrics and plots need nothing else.
#include "matrix.h"
#include "scheme.h"

#include <cstddef>
#include <vector>

namespace qs::quant {

enum class ClipMethod : uint8_t {
    MinMax,     ///< the group's own min/max (absmax for symmetric formats)
    Percentile, ///< the `percentile` quantile of |x| (symmetric) or of x at both tails
    Mse,        ///< the clip ratio in {1.0, 0.99, ..., 0.50} minimising the group's MSE
};

struct RangeOptions {
    ClipMethod method = ClipMethod::MinMax;
    double percentile = 99.9; ///< Percentile: in (0, 100]
    int mseSteps = 50;        ///< Mse: ratios 1 - k/100 for k < mseSteps
};

struct Quantized {
    Matrix dequant;             ///< same shape as the input
    uint64_t bytes = 0;         ///< payload + every scale, zero point and second-level scale
    double bitsPerWeight = 0;   ///< bytes * 8 / weights, exact (not the nominal width)
    /// The clip (largest magnitude kept, or [lo, hi] as two entries for asymmetric int) of
    /// every scale group, in row-major group order. Ggml formats report each block's absmax.
    std::vector<float> clip;
    int64_t groupsPerRow = 0;   ///< groups along a row (1 for channel, cols for InChannel ...)
    /// Ggml family: the blocks exactly as a GGUF file stores them (rows * cols / blockElems
    /// blocks). Int with bits == 8 and symmetric: the int8 codes, row-major. Empty otherwise.
    std::vector<std::byte> packed;
    /// Int/Fp8: the scale of every group (dequant = scale*(q - zp)); NVFP4: the F32 tensor
    /// scale; NF4 with dq: the second-level scale of every 256-block chunk, then the mean.
    std::vector<float> scales;
    std::vector<int32_t> zeroPoints; ///< Int asymmetric: the zero point of every group
};

/// Quantizes and dequantizes `w` under `scheme`. NaN/Inf inputs stay NaN/Inf in the output and
/// are excluded from ranges; an all-zero group gets a nonzero scale (1) and dequantizes to 0.
/// Ggml schemes need cols to be a multiple of the block size (32 or 256): otherwise an
/// InvalidArgument error says so.
///
/// `reuse`: an earlier result whose buffers (dequant, packed) the new one takes over, so that
/// recomputing a layer while the user drags a slider does not fault in a fresh 64 MiB each
/// time; it is left empty. Every value of the new result is written, whatever the buffers held.
core::Result<Quantized> quantizeRtn(const Matrix& w, const Scheme& scheme,
                                    const RangeOptions& range = {},
                                    core::Progress* progress = nullptr,
                                    Quantized* reuse = nullptr);

/// For the quantizers: a result of w's shape with a dequant buffer of w's size (contents
/// unspecified) and an empty packed buffer, taking over `reuse`'s buffers when given.
Quantized startResult(const Matrix& w, Quantized* reuse);

/// Exact storage cost of `rows x cols` weights under `scheme`, as quantizeRtn reports it.
/// Convention: all bits of the tensor are summed and rounded up to whole bytes once (codes are
/// packed densely across rows).
///   Int     b bits per weight + per scale group: an F32 scale (tensor / channel / inchannel)
///           or an FP16 scale (group-wise, as GPTQ/AWQ checkpoints store them), plus a b-bit
///           zero point when asymmetric. int8 per channel: 8 + 32/cols bits per weight;
///           int4:g128 4.125; int4:g128:asym 4.15625.
///   FP8     8 bits per weight + an F32 scale per group.
///   MXFP4/8 4/8 bits per weight + an 8-bit E8M0 scale per 32 (4.25 / 8.25).
///   NVFP4   4 bits per weight + an 8-bit E4M3 scale per 16 + one F32 tensor scale (~4.5).
///   NF4     4 bits per weight + an F32 absmax per block (4.5 for 64); with dq an 8-bit code
///           per block + an F32 scale per 256 blocks + the F32 mean (~4.127 for 64).
///   Ggml    the GGUF block size (core::byteSizeFor).
/// 0 for an empty matrix; UINT64_MAX if the count overflows.
uint64_t storageBytes(const Scheme& scheme, int64_t rows, int64_t cols);

} // namespace qs::quant
