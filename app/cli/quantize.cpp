// quantscope-cli quantize: quantize one tensor (or the whole model under a plan) and print
// the error metrics, on the backend named by --backend (backends::createBackend).
#include "cli.h"
#include "format.h"

#include "backends/backend.h"
#include "io/modelreader.h"
#include "pipeline/save.h"
#include "quant/plan.h"
#include "quant/stored.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <ostream>

namespace qs::cli {

namespace {

using nlohmann::ordered_json;

struct QuantizeOptions {
    std::string file, tensor, scheme = "int8", method = "rtn", clip = "minmax", backend = "ref";
    std::string calib, imatrix, plan, save;
    int synthetic = 0;
    bool json = false, all = false;
};

std::optional<QuantizeOptions> parseQuantize(const std::vector<std::string>& args, std::ostream& err)
{
    QuantizeOptions o;
    const std::vector<std::pair<const char*, std::string*>> valued = {
        {"--tensor", &o.tensor}, {"--scheme", &o.scheme}, {"--method", &o.method},
        {"--clip", &o.clip},     {"--backend", &o.backend}, {"--calib", &o.calib},
        {"--imatrix", &o.imatrix}, {"--plan", &o.plan}, {"--save", &o.save}};
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto slot = std::find_if(valued.begin(), valued.end(), [&](const auto& v) { return a == v.first; });
        if (slot != valued.end() || a == "--synthetic") {
            if (i + 1 >= args.size()) { err << "error: " << a << " needs a value\n"; return std::nullopt; }
            const std::string& v = args[++i];
            if (slot != valued.end()) { *slot->second = v; continue; }
            auto n = parsePositiveInt(v);
            if (!n || *n > 1'000'000) { err << "error: --synthetic needs a row count from 1 to 1000000\n"; return std::nullopt; }
            o.synthetic = *n;
        } else if (a == "--json") o.json = true;
        else if (a == "--all") o.all = true;
        else if (!a.empty() && a[0] == '-') { err << "error: unknown option '" << a << "'\n"; return std::nullopt; }
        else if (o.file.empty()) o.file = a;
        else { err << "error: unexpected argument '" << a << "'\n"; return std::nullopt; }
    }
    if (o.file.empty()) { err << "error: quantize needs a FILE\n"; return std::nullopt; }
    if (!o.all && o.tensor.empty()) { err << "error: quantize needs --tensor NAME or --all\n"; return std::nullopt; }
    if (o.backend != "ref" && o.backend != "onednn") { err << "error: unknown backend '" << o.backend << "': valid are ref, onednn\n"; return std::nullopt; }
    if (int(!o.calib.empty()) + int(!o.imatrix.empty()) + int(o.synthetic > 0) > 1) { err << "error: use one of --calib, --imatrix, --synthetic\n"; return std::nullopt; }
    return o;
}

ordered_json finite(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

ordered_json metricsJson(const quant::ErrorMetrics& m)
{
    return {{"mse", finite(m.mse)}, {"rmse", finite(m.rmse)}, {"sqnr_db", finite(m.sqnrDb)},
            {"max_abs_err", finite(m.maxAbsErr)}, {"cosine", finite(m.cosine)}, {"rel_fro", finite(m.relFro)}};
}

core::Result<std::optional<quant::Calibration>> calibrationFor(const QuantizeOptions& o, int64_t inFeatures)
{
    if (!o.calib.empty()) {
        auto c = quant::loadCalibrationNpy(o.calib, inFeatures);
        if (!c) return c.error();
        return std::optional<quant::Calibration>(std::move(*c));
    }
    if (!o.imatrix.empty()) {
        auto c = quant::loadImatrix(o.imatrix, o.tensor, inFeatures);
        if (!c) return c.error();
        return std::optional<quant::Calibration>(std::move(*c));
    }
    if (o.synthetic > 0)
        return std::optional<quant::Calibration>(quant::syntheticCalibration(o.synthetic, inFeatures, 1));
    return std::optional<quant::Calibration>();
}

/// ||X W^T - X Q^T||_F / ||X W^T||_F (quant/metrics.h's rel_fro of the two outputs), both
/// products run by the backend's f32 linear layer.
core::Result<double> outputError(const backends::Backend& backend, const quant::Matrix& x,
                                 const quant::Matrix& w, const quant::Matrix& q)
{
    auto yw = backend.linear(x, backends::LinearWeights::fromF32(w));
    if (!yw) return yw.error();
    auto yq = backend.linear(x, backends::LinearWeights::fromF32(q));
    if (!yq) return yq.error();
    return quant::compareValues(yw->values(), yq->values()).relFro;
}

/// RTN runs on the backend's quantizer; other methods run quant's code on the backend's GEMM.
core::Result<quant::MethodResult> quantizeOn(const backends::Backend& backend, const quant::Matrix& w,
                                             const quant::Scheme& scheme, quant::Method method,
                                             const quant::MethodOptions& options, const quant::Calibration* cal)
{
    if (method != quant::Method::Rtn) return quant::quantizeWithMethod(w, scheme, method, options, cal);
    auto q = backend.quantize(w, scheme, options.range);
    if (!q) return q.error();
    quant::MethodResult r;
    r.quantized = std::move(*q);
    r.note = "RTN";
    quant::setStoredCost(r, w.rows * w.cols);
    return r;
}

/// What actually ran, for the report's backend_path.
std::string backendPath(const backends::Backend& backend, quant::Method method, bool outputError)
{
    const auto& caps = backend.capabilities();
    std::string path = method == quant::Method::Rtn
                           ? "quantize: " + std::string(caps.howRuns(backends::Op::Quantize))
                           : std::string(quant::methodName(method)) + ": reference method, GEMM by " +
                                 std::string(caps.howRuns(backends::Op::Gemm));
    if (outputError) path += "; output error: " + std::string(caps.howRuns(backends::Op::Linear)) + ", f32";
    return path;
}

int fail(std::ostream& err, const std::string& message)
{
    err << "error: " << message << "\n";
    return 2;
}

/// Saves the quantized model and opens it back with our own reader; {"path", "tensors", "bytes"}.
core::Result<ordered_json> saveModel(const QuantizeOptions& o, const core::Model& model, const quant::Plan& plan,
                                     const quant::ApplyOptions& options, quant::ModelReport* reportOut = nullptr)
{
    auto report = pipeline::saveQuantizedModel(model, plan, o.save, options);
    if (!report) return report.error();
    if (reportOut) *reportOut = std::move(*report);
    auto reopened = io::openModel(o.save);
    if (!reopened) return core::Error{reopened.error().code, "saved, but it does not open back: " + reopened.error().message};
    uint64_t bytes = 0;
    for (const auto& t : reopened->tensors) bytes += t.bytes;
    return ordered_json{{"path", o.save}, {"format", reopened->format}, {"tensors", reopened->tensors.size()},
                        {"tensor_bytes", bytes}};
}

void printSaved(std::ostream& out, const ordered_json& s)
{
    out << "saved " << s["path"].get<std::string>() << " (" << s["format"].get<std::string>() << ", "
        << s["tensors"].get<size_t>() << " tensors, " << humanBytes(s["tensor_bytes"].get<uint64_t>())
        << " of tensor data; opened back)\n";
}

int quantizeOne(const QuantizeOptions& o, const backends::Backend& backend, const core::Model& model,
                std::ostream& out, std::ostream& err)
{
    const auto* t = model.find(o.tensor);
    if (!t) return fail(err, o.file + ": no tensor named '" + o.tensor + "'");
    auto scheme = quant::parseScheme(o.scheme);
    if (!scheme) return fail(err, scheme.error().message);
    auto method = quant::parseMethod(o.method);
    if (!method) return fail(err, method.error().message);
    quant::MethodOptions options;
    auto clip = quant::parseClip(o.clip);
    if (!clip) return fail(err, clip.error().message);
    options.range = *clip;
    auto w = quant::loadWeightMatrix(*t);
    if (!w) return fail(err, w.error().message);
    auto calib = calibrationFor(o, w->cols);
    if (!calib) return fail(err, calib.error().message);
    const quant::Calibration* cal = *calib ? &**calib : nullptr;
    options.gemm = &backend.gemm();
    auto r = quantizeOn(backend, *w, *scheme, *method, options, cal);
    if (!r) return fail(err, r.error().message);

    const auto metrics = quant::compareValues(w->values(), r->dequant().values());
    std::optional<double> outErr;
    if (cal && cal->hasActivations()) {
        auto e = outputError(backend, cal->x, *w, r->dequant());
        if (!e) return fail(err, e.error().message);
        outErr = *e;
    }
    const std::string backendNote = backendPath(backend, *method, outErr.has_value());

    std::optional<ordered_json> saved;
    if (!o.save.empty()) {
        quant::Plan plan;
        plan.scheme = *scheme;
        plan.method = *method;
        plan.options = options;
        quant::ApplyOptions only;
        only.only = t->name;
        only.calib = cal;
        only.precomputed = &*r;
        auto s = saveModel(o, model, plan, only);
        if (!s) return fail(err, s.error().message);
        saved = std::move(*s);
    }
    if (o.json) {
        ordered_json j = {{"tensor", t->name}, {"scheme", scheme->spec()},
                          {"method", std::string(quant::methodName(*method))}, {"backend", std::string(backend.name())},
                          {"out_axis", t->outAxis}, {"bits_per_weight", r->bitsPerWeight},
                          {"bytes", r->bytes}, {"metrics", metricsJson(metrics)}};
        if (outErr) j["output_error"] = finite(*outErr);
        j["calibration"] = cal ? ordered_json(cal->source) : ordered_json(nullptr);
        j["backend_path"] = backendNote;
        if (!r->note.empty()) j["note"] = r->note;
        if (saved) j["saved"] = *saved;
        out << j.dump(2) << "\n";
        return 0;
    }
    out << t->name << "  " << shapeText(t->shape) << "  " << scheme->spec() << "  method "
        << quant::methodName(*method) << "  backend " << backendNote << "\n";
    out << "  bits/weight " << numberText(r->bitsPerWeight) << ", " << humanBytes(r->bytes)
        << " (was " << humanBytes(t->bytes) << ")\n";
    out << "  mse " << numberText(metrics.mse) << "  rmse " << numberText(metrics.rmse) << "  sqnr "
        << numberText(metrics.sqnrDb) << " dB  max|err| " << numberText(metrics.maxAbsErr) << "  cosine "
        << numberText(metrics.cosine) << "  rel_fro " << numberText(metrics.relFro) << "\n";
    if (outErr) out << "  output error " << numberText(*outErr) << " (" << cal->source << ")\n";
    if (!r->note.empty()) out << "  " << r->note << "\n";
    if (saved) printSaved(out, *saved);
    return 0;
}

core::Result<quant::Plan> planFor(const QuantizeOptions& o)
{
    if (!o.plan.empty()) return quant::loadPlan(o.plan);
    quant::Plan plan;
    auto scheme = quant::parseScheme(o.scheme);
    if (!scheme) return scheme.error();
    auto method = quant::parseMethod(o.method);
    if (!method) return method.error();
    auto clip = quant::parseClip(o.clip);
    if (!clip) return clip.error();
    plan.scheme = *scheme;
    plan.method = *method;
    plan.options.range = *clip;
    return plan;
}

int quantizeAll(const QuantizeOptions& o, const backends::Backend& backend, const core::Model& model,
                std::ostream& out, std::ostream& err)
{
    auto plan = planFor(o);
    if (!plan) return fail(err, plan.error().message);
    // A plan runs quant's quantizers tensor by tensor; the backend supplies the GEMM of its methods.
    plan->options.gemm = &backend.gemm();
    const std::string backendNote = "quantize: reference quantizers (whole-model plan), GEMM by " +
                                    std::string(backend.capabilities().howRuns(backends::Op::Gemm));
    std::optional<ordered_json> saved;
    core::Result<quant::ModelReport> report = quant::ModelReport{};
    if (!o.save.empty()) {
        auto s = saveModel(o, model, *plan, {}, &*report);
        if (!s) return fail(err, s.error().message);
        saved = std::move(*s);
    } else {
        report = quant::applyPlan(model, *plan);
        if (!report) return fail(err, report.error().message);
    }
    if (o.json) {
        ordered_json rows = ordered_json::array();
        for (const auto& t : report->tensors)
            rows.push_back({{"tensor", t.name}, {"scheme", t.scheme}, {"status", t.status},
                            {"parameters", t.parameters}, {"bytes_before", t.bytesBefore},
                            {"bytes", t.bytesAfter}, {"bits_per_weight", t.bitsPerWeight},
                            {"metrics", t.quantized ? metricsJson(t.metrics) : ordered_json(nullptr)}});
        ordered_json totals = {{"parameters", report->parameters}, {"quantized_parameters", report->quantizedParameters},
                               {"bytes_before", report->bytesBefore}, {"bytes", report->bytesAfter},
                               {"average_bits", report->averageBits},
                               {"weighted_sqnr_db", report->weightedSqnrDb}, {"exact_tensors", report->exactTensors}};
        ordered_json j{{"file", o.file}, {"backend", std::string(backend.name())}, {"backend_path", backendNote},
                       {"tensors", rows}, {"totals", totals}};
        if (saved) j["saved"] = *saved;
        out << j.dump(2) << "\n";
        return 0;
    }
    Table table({"tensor", "scheme", "status", "params", "bytes", "bits/w", "sqnr dB"});
    for (const auto& t : report->tensors)
        table.addRow({t.name, t.scheme, t.status, std::to_string(t.parameters), humanBytes(t.bytesAfter),
                      t.quantized ? numberText(t.bitsPerWeight) : "", t.quantized ? numberText(t.metrics.sqnrDb) : ""});
    table.print(out);
    out << "total: " << report->parameters << " parameters, " << humanBytes(report->bytesBefore) << " -> "
        << humanBytes(report->bytesAfter) << ", " << numberText(report->averageBits)
        << " bits/weight on average, parameter-weighted SQNR " << numberText(report->weightedSqnrDb) << " dB\n";
    out << "backend " << backend.name() << ": " << backendNote << "\n";
    if (saved) printSaved(out, *saved);
    return 0;
}

} // namespace

int quantizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    auto opt = parseQuantize(args, err);
    if (!opt) return 2;
    auto backend = backends::createBackend(opt->backend);
    if (!backend) return fail(err, backend.error().message);
    auto model = io::openModel(opt->file);
    if (!model) return fail(err, model.error().message);
    return opt->all ? quantizeAll(*opt, **backend, *model, out, err) : quantizeOne(*opt, **backend, *model, out, err);
}

} // namespace qs::cli
