#include "plan.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

namespace qs::quant {

using core::Error;
using core::ErrorCode;

bool globMatch(std::string_view pattern, std::string_view text)
{
    // Iterative matcher with one backtrack point: linear in practice, no recursion.
    size_t p = 0, t = 0, starP = std::string_view::npos, starT = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p, ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            starP = p++, starT = t;
        } else if (starP != std::string_view::npos) {
            p = starP + 1, t = ++starT;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

core::Result<RangeOptions> parseClip(std::string_view text)
{
    RangeOptions r;
    if (text == "minmax")
        return r;
    if (text == "mse") {
        r.method = ClipMethod::Mse;
        return r;
    }
    if (text.size() > 1 && text[0] == 'p') {
        const std::string number(text.substr(1));
        char* end = nullptr;
        const double v = std::strtod(number.c_str(), &end);
        if (end == number.c_str() + number.size() && v > 0 && v <= 100) {
            r.method = ClipMethod::Percentile;
            r.percentile = v;
            return r;
        }
    }
    return Error{ErrorCode::InvalidArgument,
                 "unknown clip '" + std::string(text) +
                     "': valid are minmax, mse, pNN (a percentile in (0, 100], e.g. p99.9)"};
}

std::optional<Scheme> Plan::schemeFor(const std::string& name) const
{
    std::optional<Scheme> chosen = scheme;
    for (const auto& o : overrides)
        if (globMatch(o.match, name))
            chosen = o.skip ? std::nullopt : std::optional<Scheme>(o.scheme);
    return chosen;
}

namespace {

Error planError(const std::string& origin, const std::string& what)
{
    return Error{ErrorCode::Format, origin + ": " + what};
}

core::Result<Scheme> schemeField(const nlohmann::json& j, const std::string& origin,
                                 const std::string& where)
{
    if (!j.is_string())
        return planError(origin, where + ": \"scheme\" must be a string");
    auto s = parseScheme(j.get<std::string>());
    if (!s)
        return planError(origin, where + ": " + s.error().message);
    return s;
}

core::Status parseOverrides(const nlohmann::json& list, Plan& plan, const std::string& origin)
{
    if (!list.is_array())
        return planError(origin, "\"overrides\" must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
        const auto& o = list[i];
        const std::string where = "override " + std::to_string(i);
        if (!o.is_object() || !o.contains("match") || !o["match"].is_string())
            return planError(origin, where + " needs a \"match\" string");
        PlanOverride po;
        po.match = o["match"].get<std::string>();
        po.skip = o.value("skip", false);
        if (!po.skip) {
            if (!o.contains("scheme"))
                return planError(origin, where + " needs \"scheme\" or \"skip\": true");
            auto s = schemeField(o["scheme"], origin, where);
            if (!s)
                return s.error();
            po.scheme = *s;
        }
        plan.overrides.push_back(std::move(po));
    }
    return {};
}

} // namespace

core::Result<Plan> parsePlan(std::string_view json, const std::string& origin)
{
    const auto j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return planError(origin, "a plan must be a JSON object");
    Plan plan;
    if (!j.contains("scheme"))
        return planError(origin, "the plan needs a default \"scheme\"");
    auto s = schemeField(j["scheme"], origin, "plan");
    if (!s)
        return s.error();
    plan.scheme = *s;
    if (j.contains("method")) {
        auto m = j["method"].is_string() ? parseMethod(j["method"].get<std::string>())
                                         : core::Result<Method>(Error{ErrorCode::Format, "not a string"});
        if (!m)
            return planError(origin, "\"method\": " + m.error().message);
        plan.method = *m;
    }
    if (j.contains("clip")) {
        auto c = j["clip"].is_string() ? parseClip(j["clip"].get<std::string>())
                                       : core::Result<RangeOptions>(Error{ErrorCode::Format, "not a string"});
        if (!c)
            return planError(origin, "\"clip\": " + c.error().message);
        plan.options.range = *c;
    }
    if (j.contains("overrides"))
        if (auto st = parseOverrides(j["overrides"], plan, origin); !st)
            return st.error();
    return plan;
}

core::Result<Plan> loadPlan(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error{ErrorCode::Io, path.string() + ": cannot open the plan file"};
    std::ostringstream text;
    text << in.rdbuf();
    return parsePlan(text.str(), path.string());
}

namespace {

/// Quantizes one tensor and fills its row; errors stay in the row, the sink's error returns.
core::Status quantizeTensor(const core::TensorInfo& t, const Scheme& scheme, const Plan& plan,
                            const ApplyOptions& options, TensorReport& row, core::Progress& inner)
{
    auto w = loadWeightMatrix(t, &inner);
    if (!w) {
        row.status = w.error().message;
        return {};
    }
    core::Result<MethodResult> computed = core::Error{};
    const MethodResult* r = options.precomputed && t.name == options.only ? options.precomputed : nullptr;
    if (!r) {
        computed = quantizeWithMethod(*w, scheme, plan.method, plan.options, options.calib, &inner);
        if (!computed) {
            row.status = computed.error().message;
            return {};
        }
        r = &*computed;
    }
    if (options.sink) {
        if (auto st = options.sink(t, scheme, *r); !st) return st;
    }
    row.quantized = true;
    row.status = "quantized";
    row.bytesAfter = r->bytes;
    row.bitsPerWeight = r->bitsPerWeight;
    row.metrics = compareValues(w->values(), r->dequant().values());
    return {};
}

void addTotals(ModelReport& report)
{
    double weighted = 0;
    uint64_t weightedParams = 0;
    for (const auto& row : report.tensors) {
        report.parameters += row.parameters;
        report.bytesBefore += row.bytesBefore;
        report.bytesAfter += row.bytesAfter;
        if (!row.quantized)
            continue;
        report.quantizedParameters += row.parameters;
        if (std::isinf(row.metrics.sqnrDb)) {
            ++report.exactTensors;
        } else {
            weighted += double(row.parameters) * row.metrics.sqnrDb;
            weightedParams += row.parameters;
        }
    }
    report.averageBits = report.parameters ? 8.0 * double(report.bytesAfter) / double(report.parameters) : 0;
    report.weightedSqnrDb = weightedParams ? weighted / double(weightedParams) : 0;
}

} // namespace

std::optional<Scheme> schemeToApply(const core::TensorInfo& t, const Plan& plan, const ApplyOptions& options)
{
    if (t.shape.size() < 2 || (!options.only.empty() && t.name != options.only)) return std::nullopt;
    return plan.schemeFor(t.name);
}

core::Result<ModelReport> applyPlan(const core::Model& model, const Plan& plan,
                                    core::Progress* progress, const ApplyOptions& options)
{
    ModelReport report;
    const uint64_t total = model.tensors.size() * 1000;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const auto& t = model.tensors[i];
        TensorReport row;
        row.name = t.name;
        row.parameters = t.elementCount();
        row.bytesBefore = row.bytesAfter = t.bytes;
        const auto scheme = schemeToApply(t, plan, options);
        if (t.shape.size() < 2) {
            row.status = "kept (rank " + std::to_string(t.shape.size()) + ")";
        } else if (!scheme) {
            row.status = "skipped by plan";
        } else {
            row.scheme = scheme->spec();
            core::Progress inner;
            inner.report = [&](uint64_t done, uint64_t all) {
                if (progress && progress->cancelled())
                    inner.cancelRequested = true;
                if (progress && progress->report && all)
                    progress->report(i * 1000 + done * 1000 / all, total);
            };
            if (auto st = quantizeTensor(t, *scheme, plan, options, row, inner); !st) return st.error();
        }
        if (progress && progress->cancelled())
            return Error{ErrorCode::Cancelled, model.path + ": quantization cancelled"};
        if (progress && progress->report)
            progress->report((i + 1) * 1000, total);
        report.tensors.push_back(std::move(row));
    }
    addTotals(report);
    return report;
}

} // namespace qs::quant
