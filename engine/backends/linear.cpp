#include "linear.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace qs::backends {

using core::Error;
using core::ErrorCode;

std::string_view precisionName(LinearPrecision p)
{
    switch (p) {
    case LinearPrecision::F32: return "f32";
    case LinearPrecision::BF16: return "bf16";
    case LinearPrecision::F16: return "f16";
    case LinearPrecision::Int8: return "int8";
    case LinearPrecision::WeightOnly: return "weight-only";
    }
    return "?";
}

float activationScale(const ActivationRange& range)
{
    return range.absmax / (range.nonNegative ? 255.0f : 127.0f);
}

int32_t quantizeActivation(float x, const ActivationRange& range)
{
    const float inverse = 1.0f / activationScale(range);
    const float lo = range.nonNegative ? 0.0f : -128.0f;
    const float hi = range.nonNegative ? 255.0f : 127.0f;
    const float v = std::nearbyint(x * inverse); // the default rounding mode: nearest even
    if (std::isnan(v)) return 0;
    return int32_t(std::clamp(v, lo, hi));
}

float roundToBf16(float x)
{
    uint32_t bits = std::bit_cast<uint32_t>(x);
    if (std::isnan(x)) return std::bit_cast<float>((bits | 0x00400000u) & 0xffff0000u);
    bits += 0x7fffu + ((bits >> 16) & 1u); // ties to even; overflow carries into Inf correctly
    return std::bit_cast<float>(bits & 0xffff0000u);
}

int64_t linearOutFeatures(const LinearWeights& weights, LinearPrecision precision)
{
    switch (precision) {
    case LinearPrecision::F32:
    case LinearPrecision::BF16:
    case LinearPrecision::F16: return weights.f32 ? weights.f32->rows : 0;
    case LinearPrecision::Int8: return weights.int8.rows;
    case LinearPrecision::WeightOnly: return weights.quantized ? weights.quantized->dequant.rows : 0;
    }
    return 0;
}

namespace {

Error bad(const std::string& what) { return Error{ErrorCode::InvalidArgument, "linear: " + what}; }

int64_t weightCols(const LinearWeights& w, LinearPrecision p)
{
    switch (p) {
    case LinearPrecision::F32:
    case LinearPrecision::BF16:
    case LinearPrecision::F16: return w.f32 ? w.f32->cols : -1;
    case LinearPrecision::Int8: return w.int8.cols;
    case LinearPrecision::WeightOnly: return w.quantized ? w.quantized->dequant.cols : -1;
    }
    return -1;
}

} // namespace

core::Status checkLinearWeights(const LinearWeights& weights, const LinearOptions& options)
{
    const LinearPrecision p = options.precision;
    const int64_t cols = weightCols(weights, p);
    if (cols < 0)
        return bad(std::string("no weights given for precision ") + std::string(precisionName(p)));
    if (linearOutFeatures(weights, p) <= 0 || cols <= 0)
        return bad("the weights are [" + std::to_string(linearOutFeatures(weights, p)) + ", " +
                   std::to_string(cols) + "]: both sizes must be positive");
    if (p == LinearPrecision::Int8) {
        const Int8Weights& w = weights.int8;
        if (w.codes.size() != size_t(w.rows) * size_t(w.cols) || w.scales.size() != size_t(w.rows))
            return bad("int8 codes must be rows*cols and scales one per row");
        if (!(options.range.absmax > 0.0f) || !std::isfinite(options.range.absmax))
            return bad("the int8 activation range must be positive and finite");
    }
    return core::Status::success();
}

int64_t linearInFeatures(const LinearWeights& weights, LinearPrecision precision)
{
    return weightCols(weights, precision);
}

core::Status checkLinear(const quant::Matrix& x, const LinearWeights& weights,
                         const LinearOptions& options)
{
    const LinearPrecision p = options.precision;
    if (x.rows <= 0 || x.cols <= 0 || x.data.size() != size_t(x.rows) * size_t(x.cols))
        return bad("the activations must be a non-empty [batch, in] matrix");
    const int64_t cols = weightCols(weights, p);
    if (cols < 0)
        return bad(std::string("no weights given for precision ") + std::string(precisionName(p)));
    if (linearOutFeatures(weights, p) <= 0 || cols != x.cols)
        return bad("the weights are [" + std::to_string(linearOutFeatures(weights, p)) + ", " +
                   std::to_string(cols) + "], the activations have " + std::to_string(x.cols) +
                   " input features");
    return checkLinearWeights(weights, options);
}

} // namespace qs::backends
