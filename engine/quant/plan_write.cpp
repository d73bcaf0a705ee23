// Writing a plan back as the JSON parsePlan reads (plan.h), and comparing plans as their
// files would.
#include "plan.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace qs::quant {

using core::Error;
using core::ErrorCode;

std::string clipSpec(const RangeOptions& clip)
{
    switch (clip.method) {
    case ClipMethod::MinMax: return "minmax";
    case ClipMethod::Mse: return "mse";
    case ClipMethod::Percentile: break;
    }
    // The shortest decimal that strtod reads back as the same double (parseClip uses strtod).
    char buffer[64];
    const auto end = std::to_chars(buffer, buffer + sizeof(buffer), clip.percentile);
    return "p" + std::string(buffer, end.ptr);
}

bool sameClip(const RangeOptions& a, const RangeOptions& b)
{
    if (a.method != b.method) return false;
    switch (a.method) {
    case ClipMethod::MinMax: return true;
    case ClipMethod::Percentile: return a.percentile == b.percentile;
    case ClipMethod::Mse: return a.mseSteps == b.mseSteps;
    }
    return true;
}

bool operator==(const PlanOverride& a, const PlanOverride& b)
{
    const bool clipsAlike = a.clip.has_value() == b.clip.has_value() && (!a.clip || sameClip(*a.clip, *b.clip));
    return a.match == b.match && a.skip == b.skip && a.scheme == b.scheme && a.method == b.method && clipsAlike;
}

bool operator==(const Plan& a, const Plan& b)
{
    return a.scheme == b.scheme && a.method == b.method && sameClip(a.options.range, b.options.range) &&
           a.overrides == b.overrides;
}

namespace {

using nlohmann::ordered_json;

/// The clip's spelling, refused when parseClip would read something else back.
core::Result<std::string> writableClip(const RangeOptions& clip, const std::string& where)
{
    const std::string spec = clipSpec(clip);
    auto back = parseClip(spec);
    if (!back || !sameClip(*back, clip)) {
        const std::string why = clip.method == ClipMethod::Mse
                                    ? "an MSE search over " + std::to_string(clip.mseSteps) +
                                          " ratios (a plan file's \"mse\" means 50)"
                                    : "the clip '" + spec + "' (" + (back ? "reads back differently" : back.error().message) + ")";
        return Error{ErrorCode::InvalidArgument, where + "a plan file cannot hold " + why};
    }
    return spec;
}

core::Result<ordered_json> overrideJson(const PlanOverride& o, const std::string& where)
{
    const bool sets = o.scheme || o.method || o.clip;
    if (o.match.empty()) return Error{ErrorCode::InvalidArgument, where + "the match glob is empty"};
    if (o.skip && sets)
        return Error{ErrorCode::InvalidArgument, where + "it skips and also sets a scheme, method or clip"};
    if (!o.skip && !sets) return Error{ErrorCode::InvalidArgument, where + "it sets nothing"};
    ordered_json j = {{"match", o.match}};
    if (o.skip) j["skip"] = true;
    if (o.scheme) j["scheme"] = o.scheme->spec();
    if (o.method) j["method"] = std::string(methodName(*o.method));
    if (o.clip) {
        auto clip = writableClip(*o.clip, where);
        if (!clip) return clip.error();
        j["clip"] = *clip;
    }
    return j;
}

} // namespace

core::Result<std::string> planToJson(const Plan& plan)
{
    auto clip = writableClip(plan.options.range, "the default clip: ");
    if (!clip) return clip.error();
    ordered_json j = {{"scheme", plan.scheme.spec()}, {"method", std::string(methodName(plan.method))}, {"clip", *clip}};
    ordered_json overrides = ordered_json::array();
    for (size_t i = 0; i < plan.overrides.size(); ++i) {
        auto o = overrideJson(plan.overrides[i], "override " + std::to_string(i) + " (" + plan.overrides[i].match + "): ");
        if (!o) return o.error();
        overrides.push_back(std::move(*o));
    }
    j["overrides"] = std::move(overrides);
    return j.dump(2) + "\n";
}

} // namespace qs::quant
