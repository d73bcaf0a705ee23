#include "methods.h"
#include "stored.h"

#include "awq.h"
#include "gptq.h"
#include "llmint8.h"
#include "smoothquant.h"
#include "spqr.h"

#include <array>
#include <utility>

namespace qs::quant {

namespace {

constexpr std::array<std::pair<Method, std::string_view>, 6> kMethodNames = {{
    {Method::Rtn, "rtn"},
    {Method::Gptq, "gptq"},
    {Method::Awq, "awq"},
    {Method::SmoothQuant, "smoothquant"},
    {Method::LlmInt8, "llm.int8"},
    {Method::Spqr, "spqr"},
}};

core::Error invalid(std::string message)
{
    return core::makeError(core::ErrorCode::InvalidArgument, std::move(message));
}

/// The calibration must describe the layer's inputs: same feature count for activations and
/// importance.
core::Status checkCalibration(const Matrix& w, const Calibration& calib)
{
    if (calib.hasActivations() && calib.x.cols != w.cols) {
        return invalid("calibration " + calib.source + " has " + std::to_string(calib.x.cols) +
                       " features, the weights have " + std::to_string(w.cols) + " input channels");
    }
    if (!calib.importance.empty() && int64_t(calib.importance.size()) != w.cols) {
        return invalid(
            "calibration " + calib.source + " has " + std::to_string(calib.importance.size()) +
            " importance values, the weights have " + std::to_string(w.cols) + " input channels");
    }
    return core::Status::success();
}

/// Null when `calib` can serve `method`, else the InvalidArgument error naming what is missing.
core::Status checkRequirements(Method method, const Calibration* calib)
{
    const std::string name(methodName(method));
    if (method == Method::Gptq && !(calib && calib->hasActivations())) {
        return invalid(calib ? "gptq needs calibration activations for the full Hessian X^T X; " +
                                   calib->source + " gives only per-channel importance"
                             : "gptq needs calibration activations (a .npy of layer inputs "
                               "or synthetic data)");
    }
    const bool needsMagnitudes = method == Method::Awq || method == Method::SmoothQuant;
    if (needsMagnitudes && !(calib && (calib->hasActivations() || !calib->importance.empty()))) {
        return invalid(name + " needs calibration activations or an imatrix (per-channel "
                              "activation magnitudes)");
    }
    return core::Status::success();
}

} // namespace

core::Result<Method> parseMethod(std::string_view text)
{
    std::string valid;
    for (const auto& [method, name] : kMethodNames) {
        if (name == text) return method;
        valid += (valid.empty() ? "" : ", ") + std::string(name);
    }
    return invalid("unknown method '" + std::string(text) + "'; valid methods: " + valid);
}

std::string_view methodName(Method m)
{
    for (const auto& [method, name] : kMethodNames) {
        if (method == m) return name;
    }
    return "unknown";
}

bool methodNeedsActivations(Method m)
{
    return m == Method::Gptq;
}

core::Result<MethodResult> quantizeWithMethod(const Matrix& w, const Scheme& scheme, Method method,
                                              const MethodOptions& options,
                                              const Calibration* calib, core::Progress* progress)
{
    if (calib) {
        auto st = checkCalibration(w, *calib);
        if (!st) return st.error();
    }
    auto st = checkRequirements(method, calib);
    if (!st) return st.error();
    if (auto clip = checkClip(scheme, options.range); !clip) return clip.error();
    core::Result<MethodResult> result = invalid("unknown method");
    switch (method) {
    case Method::Rtn: {
        auto q = options.rtn ? options.rtn(w, scheme, options.range, progress)
                             : quantizeRtn(w, scheme, options.range, progress);
        if (!q) return q.error();
        MethodResult r;
        r.quantized = std::move(q.value());
        r.note = "RTN";
        result = std::move(r);
        break;
    }
    case Method::Gptq:
        result = quantizeGptq(w, scheme, calib->x, options, progress);
        break;
    case Method::Awq:
        result = quantizeAwq(w, scheme, *calib, options, progress);
        break;
    case Method::SmoothQuant:
        result = quantizeSmoothQuant(w, scheme, *calib, options, progress);
        break;
    case Method::LlmInt8:
        result = quantizeLlmInt8(w, scheme, calib, options, progress);
        break;
    case Method::Spqr:
        result = quantizeSpqr(w, scheme, options, progress);
        break;
    }
    if (!result) return result;
    result->method = method;
    setStoredCost(*result, w.rows * w.cols);
    if (calib && method != Method::Rtn && method != Method::Spqr) result->note += "; calibrated on " + calib->source;
    return result;
}

} // namespace qs::quant
