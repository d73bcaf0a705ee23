#include "plan.h"

#include <nlohmann/json.hpp>

#include <algorithm>
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

std::optional<TensorChoice> Plan::choiceFor(const std::string& name) const
{
    const PlanOverride* last = nullptr;
    for (const auto& o : overrides)
        if (globMatch(o.match, name))
            last = &o;
    TensorChoice c{scheme, method, options};
    if (!last)
        return c;
    if (last->skip)
        return std::nullopt;
    if (last->scheme)
        c.scheme = *last->scheme;
    if (last->method)
        c.method = *last->method;
    if (last->clip)
        c.options.range = *last->clip;
    return c;
}

std::optional<Scheme> Plan::schemeFor(const std::string& name) const
{
    const auto c = choiceFor(name);
    return c ? std::optional<Scheme>(c->scheme) : std::nullopt;
}

Method Plan::methodFor(const std::string& name) const
{
    const auto c = choiceFor(name);
    return c ? c->method : method;
}

namespace {

using nlohmann::json;

Error planError(const std::string& origin, const std::string& what)
{
    return Error{ErrorCode::Format, origin + ": " + what};
}

/// Refuses keys outside `valid`, naming the key and the valid ones.
core::Status checkKeys(const json& object, std::initializer_list<std::string_view> valid,
                       const std::string& origin, const std::string& where)
{
    for (const auto& item : object.items()) {
        if (std::find(valid.begin(), valid.end(), item.key()) != valid.end())
            continue;
        std::string list;
        for (auto v : valid)
            list += (list.empty() ? "" : ", ") + std::string(v);
        return planError(origin, where + "unknown key \"" + item.key() + "\": valid keys are " + list);
    }
    return {};
}

core::Result<std::string> stringField(const json& j, const char* key, const std::string& origin,
                                      const std::string& where)
{
    if (!j.is_string())
        return planError(origin, where + "\"" + key + "\" must be a string, not " + j.type_name());
    return j.get<std::string>();
}

/// Parses one string field with `parse`, prefixing its error with where the field is.
template <class T, class Parse>
core::Result<T> typedField(const json& j, const char* key, const std::string& origin, const std::string& where,
                           Parse parse)
{
    auto text = stringField(j, key, origin, where);
    if (!text)
        return text.error();
    core::Result<T> v = parse(*text);
    if (!v)
        return planError(origin, where + "\"" + key + "\": " + v.error().message);
    return v;
}

core::Result<Scheme> schemeOf(const json& j, const std::string& origin, const std::string& where)
{
    return typedField<Scheme>(j, "scheme", origin, where, [](const std::string& t) { return parseScheme(t); });
}
core::Result<Method> methodOf(const json& j, const std::string& origin, const std::string& where)
{
    return typedField<Method>(j, "method", origin, where, [](const std::string& t) { return parseMethod(t); });
}
core::Result<RangeOptions> clipOf(const json& j, const std::string& origin, const std::string& where)
{
    return typedField<RangeOptions>(j, "clip", origin, where, [](const std::string& t) { return parseClip(t); });
}

core::Result<PlanOverride> parseOverride(const json& o, const std::string& origin, const std::string& where)
{
    if (!o.is_object())
        return planError(origin, where + "must be an object, not " + o.type_name());
    if (auto st = checkKeys(o, {"match", "scheme", "method", "clip", "skip"}, origin, where); !st)
        return st.error();
    if (!o.contains("match"))
        return planError(origin, where + "needs a \"match\" glob");
    PlanOverride po;
    auto match = stringField(o["match"], "match", origin, where);
    if (!match)
        return match.error();
    if (match->empty())
        return planError(origin, where + "\"match\" is empty");
    po.match = *match;
    if (o.contains("skip")) {
        if (!o["skip"].is_boolean())
            return planError(origin, where + "\"skip\" must be true or false, not " + std::string(o["skip"].type_name()));
        po.skip = o["skip"].get<bool>();
    }
    const bool sets = o.contains("scheme") || o.contains("method") || o.contains("clip");
    if (po.skip && sets)
        return planError(origin, where + "\"skip\": true cannot be combined with \"scheme\", \"method\" or \"clip\"");
    if (!po.skip && !sets)
        return planError(origin, where + "sets nothing: give \"scheme\", \"method\", \"clip\" or \"skip\": true");
    if (o.contains("scheme")) {
        auto s = schemeOf(o["scheme"], origin, where);
        if (!s)
            return s.error();
        po.scheme = *s;
    }
    if (o.contains("method")) {
        auto m = methodOf(o["method"], origin, where);
        if (!m)
            return m.error();
        po.method = *m;
    }
    if (o.contains("clip")) {
        auto c = clipOf(o["clip"], origin, where);
        if (!c)
            return c.error();
        po.clip = *c;
    }
    return po;
}

core::Status parseOverrides(const json& list, Plan& plan, const std::string& origin)
{
    if (!list.is_array())
        return planError(origin, "\"overrides\" must be an array, not " + std::string(list.type_name()));
    for (size_t i = 0; i < list.size(); ++i) {
        auto o = parseOverride(list[i], origin, "override " + std::to_string(i) + ": ");
        if (!o)
            return o.error();
        plan.overrides.push_back(std::move(*o));
    }
    return {};
}

/// Parses JSON, refusing a key repeated inside one object (nlohmann would keep the last one
/// silently). Returns a discarded value on any syntax error; `duplicate` names a repeat.
json parseStrictJson(std::string_view text, std::string& duplicate)
{
    std::vector<std::vector<std::string>> open; // keys seen in each enclosing object
    auto callback = [&](int, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
            open.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
            if (!open.empty())
                open.pop_back();
        } else if (event == json::parse_event_t::key && !open.empty()) {
            const std::string key = parsed.get<std::string>();
            auto& seen = open.back();
            if (duplicate.empty() && std::find(seen.begin(), seen.end(), key) != seen.end())
                duplicate = key;
            seen.push_back(key);
        }
        return true;
    };
    return json::parse(text.begin(), text.end(), callback, false);
}

} // namespace

core::Result<Plan> parsePlan(std::string_view text, const std::string& origin)
{
    std::string duplicate;
    const json j = parseStrictJson(text, duplicate);
    if (j.is_discarded())
        return planError(origin, "not valid JSON");
    if (!duplicate.empty())
        return planError(origin, "the key \"" + duplicate + "\" appears twice in one object");
    if (!j.is_object())
        return planError(origin, "a plan must be a JSON object, not " + std::string(j.type_name()));
    if (auto st = checkKeys(j, {"scheme", "method", "clip", "overrides"}, origin, ""); !st)
        return st.error();
    Plan plan;
    if (!j.contains("scheme"))
        return planError(origin, "the plan needs a default \"scheme\"");
    auto s = schemeOf(j["scheme"], origin, "");
    if (!s)
        return s.error();
    plan.scheme = *s;
    if (j.contains("method")) {
        auto m = methodOf(j["method"], origin, "");
        if (!m)
            return m.error();
        plan.method = *m;
    }
    if (j.contains("clip")) {
        auto c = clipOf(j["clip"], origin, "");
        if (!c)
            return c.error();
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

/// The calibration for `t`: the caller's one set, or the per-tensor source's.
core::Result<std::optional<Calibration>> calibrationFor(const core::TensorInfo& t, int64_t inFeatures,
                                                        const ApplyOptions& options)
{
    if (options.calib || !options.calibFor)
        return std::optional<Calibration>();
    return options.calibFor(t, inFeatures);
}

/// Quantizes one tensor and fills its row; errors stay in the row, the sink's error returns.
core::Status quantizeTensor(const core::TensorInfo& t, const TensorChoice& choice, const ApplyOptions& options,
                            TensorReport& row, core::Progress& inner)
{
    auto fail = [&](const core::Error& e) {
        row.failed = true;
        row.status = e.message;
        return core::Status{};
    };
    auto w = loadWeightMatrix(t, &inner);
    if (!w)
        return fail(w.error());
    core::Result<MethodResult> computed = core::Error{};
    const MethodResult* r = options.precomputed && t.name == options.only ? options.precomputed : nullptr;
    if (!r) {
        auto own = calibrationFor(t, w->cols, options);
        if (!own)
            return fail(own.error());
        const Calibration* calib = options.calib ? options.calib : (*own ? &**own : nullptr);
        computed = quantizeWithMethod(*w, choice.scheme, choice.method, choice.options, calib, &inner);
        if (!computed)
            return fail(computed.error());
        r = &*computed;
    }
    if (options.sink) {
        if (auto st = options.sink(t, choice.scheme, *r); !st) return st;
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
        report.failedTensors += row.failed ? 1 : 0;
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

std::optional<TensorChoice> choiceToApply(const core::TensorInfo& t, const Plan& plan, const ApplyOptions& options)
{
    if (!core::isWeightTensor(t) || (!options.only.empty() && t.name != options.only)) return std::nullopt;
    return plan.choiceFor(t.name);
}

std::optional<Scheme> schemeToApply(const core::TensorInfo& t, const Plan& plan, const ApplyOptions& options)
{
    const auto c = choiceToApply(t, plan, options);
    return c ? std::optional<Scheme>(c->scheme) : std::nullopt;
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
        const auto choice = choiceToApply(t, plan, options);
        if (t.shape.size() < 2) {
            row.status = "kept (rank " + std::to_string(t.shape.size()) + ")";
        } else if (!core::isWeightTensor(t)) {
            row.status = "kept (helper constant: shape, index or scalar)";
        } else if (!choice) {
            row.status = "skipped by plan";
        } else {
            row.scheme = choice->scheme.spec();
            row.method = std::string(methodName(choice->method));
            core::Progress inner;
            inner.report = [&](uint64_t done, uint64_t all) {
                if (progress && progress->cancelled())
                    inner.cancelRequested = true;
                if (progress && progress->report && all)
                    progress->report(i * 1000 + done * 1000 / all, total);
            };
            if (auto st = quantizeTensor(t, *choice, options, row, inner); !st) return st.error();
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
