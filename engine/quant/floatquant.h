#pragma once
/// Small floating-point element formats and the block formats built on them:
///   E4M3 (OCP "E4M3FN": bias 7, no Inf, S.1111.111 = NaN, max 448, min subnormal 2^-9),
///   E5M2 (bias 15, IEEE-like Inf/NaN, max 57344, min subnormal 2^-16),
///   E2M1 (FP4: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives; no Inf or NaN),
/// as defined in the OCP 8-bit Floating Point Specification (OFP8) rev. 1.0 and the OCP
/// Microscaling Formats (MX) v1.0 specification; NVFP4 as NVIDIA describes it (Blackwell /
/// TensorRT Model Optimizer); NF4 from QLoRA (Dettmers et al. 2023, bitsandbytes).
/// FP8 with a per-tensor/channel scale runs through the scale-group driver of intquant.h.
#include "quantize.h"
#include "rounding.h"

#include "core/progress.h"
#include "core/result.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace qs::quant {

/// A sign-exponent-mantissa element format.
struct MiniFloat {
    int expBits;
    int mantBits;
    int bias;
    float maxFinite;
    bool hasInf; ///< E5M2 overflows to Inf in non-saturating mode; E4M3 to NaN
    bool hasNaN; ///< E2M1 has no NaN (and therefore always saturates)
};

inline constexpr MiniFloat kE4M3{4, 3, 7, 448.0f, false, true};
inline constexpr MiniFloat kE5M2{5, 2, 15, 57344.0f, true, true};
inline constexpr MiniFloat kE2M1{2, 1, 1, 6.0f, false, false};

/// x rounded to the nearest value of `f` (ties to even, subnormals included). Values whose
/// rounded magnitude exceeds maxFinite become +-maxFinite (Saturate, also +-Inf inputs) or
/// NaN / +-Inf for E5M2 (Overflow::NaN, OCP's non-saturating mode); E2M1 always saturates.
/// NaN stays NaN. Branch-free on purpose: it runs in vectorised element loops.
inline float roundToMiniFloat(float x, const MiniFloat& f, Overflow overflow)
{
    // Clamping first keeps a / quantum small (and Inf finite) for the magic-number rounding;
    // the comparison form keeps NaN.
    float a = std::fabs(x);
    a = a > 2.0f * f.maxFinite ? 2.0f * f.maxFinite : a;
    const int emin = 1 - f.bias;
    int e = int(std::bit_cast<uint32_t>(a) >> 23) - 127;
    e = e < emin ? emin : e;
    // quantum = 2^(e - mantBits): the spacing of the format's values in a's binade.
    const float quantum = std::bit_cast<float>(uint32_t(e - f.mantBits + 127) << 23);
    float q = roundHalfEven(a / quantum) * quantum;
    const bool saturate = overflow == Overflow::Saturate || !f.hasNaN;
    const float over = saturate ? f.maxFinite
                                : (f.hasInf ? std::numeric_limits<float>::infinity()
                                            : std::numeric_limits<float>::quiet_NaN());
    q = q > f.maxFinite ? over : q;
    return std::copysign(q, x);
}

/// The bit pattern (1 + expBits + mantBits bits, right-aligned) of roundToMiniFloat(x).
/// NaN encodes as S.1111.111 (E4M3) / S.11111.11 (E5M2); E2M1 has no NaN: it encodes NaN as +0.
uint8_t encodeMiniFloat(float x, const MiniFloat& f, Overflow overflow = Overflow::Saturate);

/// The value of a bit pattern of `f` (exact).
float decodeMiniFloat(uint8_t bits, const MiniFloat& f);

/// The 16 NF4 levels of bitsandbytes (functional.py, NF4 quantization map), ascending.
const std::array<float, 16>& nf4Levels();

/// Index of the NF4 level nearest to v (v = x / absmax); an exact midpoint goes to the lower
/// level, NaN to level 7 (0.0).
int nf4Index(float v);

/// MXFP4 / MXFP8 (OCP MX v1.0, section 6.3): per row, blocks of 32 consecutive input channels
/// (the last block of a row is shorter when cols % 32 != 0) share X = 2^(floor(log2(amax)) -
/// emax_elem), emax_elem = 2 (E2M1) or 8 (E4M3), the exponent clamped to E8M0's [-127, 127]
/// (an all-zero block gets 2^-127); elements are x / X rounded to nearest even, saturating.
/// clip = the block's largest representable magnitude (max element * X).
/// Bits: element bits per weight + 8 per block (4.25 / 8.25 for whole blocks).
core::Result<Quantized> quantizeMx(const Matrix& w, const Scheme& scheme, core::Progress* progress,
                                   Quantized* reuse = nullptr);

/// NVFP4: a per-tensor F32 scale t = amax / (6 * 448) (1 for an all-zero tensor); per row,
/// blocks of 16 (the last shorter when cols % 16 != 0) store s = E4M3(block amax / 6 / t)
/// (nearest even, saturating); elements are E2M1(x / (s * t)) nearest even, saturating, and
/// dequantize to e * (s * t). A block whose s rounds to 0 dequantizes to 0.
/// clip = 6 * s * t per block; scales = {t}. Bits: 4 per weight + 8 per block + 32 per tensor.
core::Result<Quantized> quantizeNvFp4(const Matrix& w, const Scheme& scheme,
                                      core::Progress* progress, Quantized* reuse = nullptr);

/// NF4 (QLoRA): per row, blocks of scheme.groupSize (64 by default; the last block of a row is
/// shorter when cols is not a multiple) scaled by their absmax, each x / absmax mapped to the
/// nearest of the 16 levels (nf4Index). Without double quantization the absmax is an F32:
/// 4 + 32 / groupSize bits per weight (4.5 for 64). With `dq` (QLoRA's double quantization) the
/// block absmax values of the tensor, minus their F32 mean, are quantized in chunks of 256
/// blocks; bitsandbytes uses its 8-bit dynamic float map there, we use int8 symmetric absmax
/// (code = round_even(c / s), s = max|c| / 127 per chunk, F32): 8 bits per block + 32 per chunk
/// + 32 for the mean (4 + 8/64 + 32/16384 = 4.127 bits per weight for 64, plus 32 / weights).
/// Elements use the dequantized absmax; one that is <= 0 (possible only for a block whose
/// absmax is below half a second-level step) dequantizes its block to 0.
/// clip = the absmax each block dequantizes with.
core::Result<Quantized> quantizeNf4(const Matrix& w, const Scheme& scheme,
                                    core::Progress* progress, Quantized* reuse = nullptr);

} // namespace qs::quant
