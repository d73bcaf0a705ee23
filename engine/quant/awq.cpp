#include "awq.h"
#include "metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::quant {

Matrix scaleColumns(const Matrix& m, std::span<const float> s)
{
    Matrix out = m;
    for (int64_t r = 0; r < m.rows; ++r) {
        float* row = out.row(r);
        for (int64_t c = 0; c < m.cols; ++c)
            row[c] *= s[size_t(c)];
    }
    return out;
}


namespace {

/// Per-input-channel activation magnitude: mean |x| from activations, else sqrt(importance).
std::vector<float> activationMagnitude(const Calibration& calib, int64_t cols)
{
    std::vector<float> mag(size_t(cols), 0.0f);
    if (calib.hasActivations()) {
        std::vector<double> sum(size_t(cols), 0.0);
        for (int64_t r = 0; r < calib.x.rows; ++r) {
            const float* row = calib.x.row(r);
            for (int64_t c = 0; c < cols; ++c)
                sum[c] += std::fabs(row[c]);
        }
        for (int64_t c = 0; c < cols; ++c)
            mag[c] = float(sum[c] / double(calib.x.rows));
    } else {
        for (int64_t c = 0; c < cols; ++c)
            mag[c] = std::sqrt(std::max(calib.importance[c], 0.0f));
    }
    return mag;
}

std::vector<float> awqScales(const std::vector<float>& mag, double alpha)
{
    std::vector<float> s(mag.size());
    float lo = std::numeric_limits<float>::infinity(), hi = 0.0f;
    for (size_t j = 0; j < mag.size(); ++j) {
        s[j] = std::max(float(std::pow(double(mag[j]), alpha)), 1e-4f);
        lo = std::min(lo, s[j]);
        hi = std::max(hi, s[j]);
    }
    // Normalising by the geometric middle keeps W diag(s) in the same numeric range as W.
    const float norm = std::sqrt(hi * lo);
    if (norm > 0.0f && std::isfinite(norm)) {
        for (float& v : s)
            v /= norm;
    }
    return s;
}

core::Result<double> candidateError(const Matrix& w, const Matrix& q, const Calibration& calib,
                                    const core::Gemm& gemm)
{
    if (calib.hasActivations()) {
        auto n = outputNorms(calib.x, w, q, gemm);
        if (!n) return n.error();
        return n->error;
    }
    double sum = 0.0;
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t c = 0; c < w.cols; ++c) {
            const double d = double(w.row(r)[c]) - q.row(r)[c];
            if (std::isfinite(d)) sum += double(calib.importance[c]) * d * d;
        }
    }
    return sum;
}

} // namespace

core::Result<MethodResult> quantizeAwq(const Matrix& w, const Scheme& scheme,
                                       const Calibration& calib, const MethodOptions& options,
                                       core::Progress* progress)
{
    const std::vector<float> mag = activationMagnitude(calib, w.cols);
    const int grid = std::max(1, options.awqGrid);
    MethodResult best;
    double bestError = std::numeric_limits<double>::infinity(), rtnError = 0.0, bestAlpha = 0.0;
    for (int k = 0; k < grid; ++k) {
        if (progress && progress->cancelled()) {
            return core::makeError(core::ErrorCode::Cancelled, "AWQ: cancelled");
        }
        const double alpha = double(k) / grid;
        const std::vector<float> s = awqScales(mag, alpha);
        auto q = quantizeRtn(scaleColumns(w, s), scheme, options.range);
        if (!q) return q.error();
        std::vector<float> inv(s.size());
        for (size_t j = 0; j < s.size(); ++j)
            inv[j] = 1.0f / s[j];
        Matrix effective = scaleColumns(q->dequant, inv);
        auto err = candidateError(w, effective, calib, gemmOf(options));
        if (!err) return err.error();
        if (k == 0) rtnError = *err;
        // Alpha 0 (plain RTN) is always a candidate, even when an error is NaN.
        if (k == 0 || *err < bestError) {
            bestError = *err;
            bestAlpha = alpha;
            best.quantized = std::move(q.value());
            best.effective = std::move(effective);
            best.channelScales = s;
        }
        if (progress && progress->report) progress->report(uint64_t(k + 1), uint64_t(grid));
    }
    const char* measure = calib.hasActivations() ? "output error" : "importance-weighted error";
    best.note = "AWQ: alpha " + std::to_string(bestAlpha) + " (grid " + std::to_string(grid) +
                "), " + measure + " " + std::to_string(bestError) + " vs RTN " +
                std::to_string(rtnError);
    return best;
}

} // namespace qs::quant
