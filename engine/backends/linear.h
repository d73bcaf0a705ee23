#pragma once
/// The linear layer every backend runs: y = x W^T, x [batch, in], W [out, in], y [batch, out].
///   F32         f32 products, f32 accumulation.
///   BF16        x and W rounded to bf16 (nearest even), products accumulated in f32.
///   F16         x and W rounded to IEEE half (nearest even, quant::roundToHalf: |v| >= 65520
///               becomes Inf, small values become half subnormals or zero), the products and
///               their sums in f32 (a product of two halves has at most 22 significant bits,
///               so it is exact in f32 unless it falls below 2^-126).
///   Int8        W as int8 codes q[n][k] with per-output-channel scales sw[n]; x quantized with
///               the fixed scale sx = absmax / 127 (s8) or absmax / 255 (u8 when x >= 0):
///               qx = saturate(nearest_even(x * (1 / sx))); y[b][n] = (sx * sw[n]) * sum qx qw
///               with the sum exact in int32 (quantizeActivation is that definition).
///   WeightOnly  W as a quantizer's result (any scheme): x times its dequantized weights in f32.
#include "quant/quantize.h"

#include <cstdint>
#include <span>

namespace qs::backends {

enum class LinearPrecision : uint8_t { F32, BF16, F16, Int8, WeightOnly };

/// "f32", "bf16", "f16", "int8", "weight-only".
std::string_view precisionName(LinearPrecision p);

struct Int8Weights {
    std::span<const int8_t> codes; ///< rows * cols, row-major [out, in]
    std::span<const float> scales; ///< one per output channel
    int64_t rows = 0;
    int64_t cols = 0;
};

struct ActivationRange {
    float absmax = 1.0f;      ///< calibration: largest |x| expected (values beyond saturate)
    bool nonNegative = false; ///< every x >= 0 (after ReLU): use u8, else s8
};

/// The weights of a linear layer; which member is used depends on the precision.
struct LinearWeights {
    const quant::Matrix* f32 = nullptr;         ///< F32, BF16, F16 (rounded by the backend)
    Int8Weights int8;                           ///< Int8
    const quant::Quantized* quantized = nullptr; ///< WeightOnly

    static LinearWeights fromF32(const quant::Matrix& w) { return {&w, {}, nullptr}; }
    static LinearWeights fromInt8(const Int8Weights& w) { return {nullptr, w, nullptr}; }
    static LinearWeights fromQuantized(const quant::Quantized& q) { return {nullptr, {}, &q}; }
};

struct LinearOptions {
    LinearPrecision precision = LinearPrecision::F32;
    ActivationRange range; ///< Int8 only
};

/// The activation scale sx of an int8 layer (absmax / 127, or / 255 for u8).
float activationScale(const ActivationRange& range);

/// qx = saturate(nearest_even(x * (1 / sx))) to [-128, 127] (s8) or [0, 255] (u8).
int32_t quantizeActivation(float x, const ActivationRange& range);

/// x rounded to the nearest bf16 (ties to even), returned as f32; NaN stays NaN, Inf stays Inf.
float roundToBf16(float x);

/// Checks the shapes and values of a linear call: x [batch, in] with batch >= 1, weights of the
/// precision present with in columns, Int8 codes rows*cols and one scale per row, a positive
/// finite activation range. InvalidArgument naming the problem otherwise.
core::Status checkLinear(const quant::Matrix& x, const LinearWeights& weights,
                         const LinearOptions& options);

/// The weights-and-options half of checkLinear (everything but x), for preparing weights
/// before any activation exists.
core::Status checkLinearWeights(const LinearWeights& weights, const LinearOptions& options);

/// The input columns (in features) of the weights under `precision`; -1 when absent.
int64_t linearInFeatures(const LinearWeights& weights, LinearPrecision precision);

/// The output rows (out features) of the weights under `precision`.
int64_t linearOutFeatures(const LinearWeights& weights, LinearPrecision precision);

} // namespace qs::backends
