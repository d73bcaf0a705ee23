#include "smoothquant.h"

#include "awq.h"

#include <algorithm>
#include <cmath>

namespace qs::quant {

std::vector<float> smoothQuantScales(const std::vector<float>& act, const std::vector<float>& wmax,
                                     double alpha)
{
    std::vector<float> s(act.size(), 1.0f);
    for (size_t j = 0; j < act.size() && j < wmax.size(); ++j) {
        if (!(act[j] > 0.0f) || !(wmax[j] > 0.0f)) continue; // nothing to migrate
        const double v = std::pow(double(act[j]), alpha) / std::pow(double(wmax[j]), 1.0 - alpha);
        if (std::isfinite(v) && v > 0.0) s[j] = float(v);
    }
    return s;
}

namespace {

std::vector<float> columnAbsMax(const Matrix& m)
{
    std::vector<float> mx(size_t(m.cols), 0.0f);
    for (int64_t r = 0; r < m.rows; ++r) {
        const float* row = m.row(r);
        for (int64_t c = 0; c < m.cols; ++c) {
            if (std::isfinite(row[c])) mx[c] = std::max(mx[c], std::fabs(row[c]));
        }
    }
    return mx;
}

} // namespace

core::Result<MethodResult> quantizeSmoothQuant(const Matrix& w, const Scheme& scheme,
                                               const Calibration& calib,
                                               const MethodOptions& options,
                                               core::Progress* progress)
{
    std::vector<float> act;
    if (calib.hasActivations()) {
        act = columnAbsMax(calib.x);
    } else {
        act.resize(calib.importance.size());
        for (size_t j = 0; j < act.size(); ++j)
            act[j] = std::sqrt(std::max(calib.importance[j], 0.0f));
    }
    const std::vector<float> s = smoothQuantScales(act, columnAbsMax(w), options.smoothAlpha);
    auto q = quantizeRtn(scaleColumns(w, s), scheme, options.range, progress);
    if (!q) return q.error();
    std::vector<float> inv(s.size());
    float before = 0.0f, after = 0.0f;
    for (size_t j = 0; j < s.size(); ++j) {
        inv[j] = 1.0f / s[j];
        before = std::max(before, act[j]);
        after = std::max(after, act[j] * inv[j]);
    }
    MethodResult result;
    result.effective = scaleColumns(q->dequant, inv);
    result.quantized = std::move(q.value());
    result.channelScales = s;
    const std::string what =
        calib.hasActivations() ? "activation absmax" : "activation RMS (imatrix)";
    result.note = "SmoothQuant: alpha " + std::to_string(options.smoothAlpha) + ", " + what + " " +
                  std::to_string(before) + " -> " + std::to_string(after) + " after smoothing";
    return result;
}

} // namespace qs::quant
