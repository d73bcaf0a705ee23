#include "llmint8.h"

#include "ggml_quant.h"

#include "core/dtype.h"

#include <algorithm>
#include <cmath>

namespace qs::quant {

namespace {

std::vector<bool> outlierColumns(const Matrix& m, double threshold)
{
    std::vector<bool> out(size_t(m.cols), false);
    for (int64_t r = 0; r < m.rows; ++r) {
        const float* row = m.row(r);
        for (int64_t c = 0; c < m.cols; ++c) {
            if (std::fabs(row[c]) > threshold) out[c] = true;
        }
    }
    return out;
}

} // namespace

core::Result<MethodResult> quantizeLlmInt8(const Matrix& w, const Scheme& scheme,
                                           const Calibration* calib, const MethodOptions& options,
                                           core::Progress* progress)
{
    const bool byActivation = calib && calib->hasActivations();
    const std::vector<bool> keep =
        outlierColumns(byActivation ? calib->x : w, options.outlierThreshold);
    std::vector<int64_t> rest;
    MethodResult result;
    for (int64_t c = 0; c < w.cols; ++c) {
        if (!keep[c]) rest.push_back(c);
        else result.outlierIndex.push_back(c);
    }
    const int64_t kept = w.cols - int64_t(rest.size());
    result.keptChannels = kept;
    result.keptWeights = kept * w.rows;
    Matrix effective;
    effective.rows = w.rows;
    effective.cols = w.cols;
    effective.data.resize(w.data.size());
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t c : result.outlierIndex) {
            const uint16_t half = f32ToF16RoundNearestEven(w.row(r)[c]);
            result.outlierValues.push_back(half);
            effective.row(r)[c] = core::f16ToF32(half);
        }
    }
    Matrix part;
    part.rows = w.rows;
    part.cols = int64_t(rest.size());
    part.data.resize(size_t(part.rows * part.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
        for (size_t k = 0; k < rest.size(); ++k) part.row(r)[k] = w.row(r)[rest[k]];
    }
    auto pq = quantizeRtn(part, scheme, options.range, progress);
    if (!pq) return pq.error();
    for (int64_t r = 0; r < w.rows; ++r) {
        for (size_t k = 0; k < rest.size(); ++k) effective.row(r)[rest[k]] = pq->dequant.row(r)[k];
    }
    result.quantized = std::move(*pq);
    result.effective = std::move(effective);
    result.note = "LLM.int8: " + std::to_string(kept) + " of " + std::to_string(w.cols) +
                  " input channels kept in fp16 (max |" + (byActivation ? "activation" : "weight") +
                  "| > " + std::to_string(options.outlierThreshold) + ")";
    return result;
}

} // namespace qs::quant
