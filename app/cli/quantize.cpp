// quantscope-cli quantize: quantize one tensor (or the whole model under a plan) and print
// the error metrics, on the backend named by --backend (backends::createBackend).
#include "commands.h"
#include "device_time.h"
#include "format.h"

#include "backends/backend.h"
#include "io/modelreader.h"
#include "pipeline/calibration_files.h"
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
    /// Given on the command line (not defaults): with --plan they replace the plan's defaults.
    bool schemeGiven = false, methodGiven = false, clipGiven = false;
    std::optional<uint32_t> device; ///< --device: a Vulkan device index
};

/// Combinations the parser cannot express; the message says why.
std::optional<std::string> refuseCombination(const QuantizeOptions& o)
{
    if (!o.all && o.tensor.empty()) return "quantize needs --tensor NAME or --all";
    if (o.all && !o.calib.empty())
        return "--calib holds the input activations of one layer (one input width), so it cannot calibrate --all; "
               "use --imatrix FILE (an entry per tensor) or --synthetic N (activations made per tensor)";
    return std::nullopt;
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
        auto c = pipeline::loadCalibrationNpy(o.calib, inFeatures);
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


/// What actually ran, for the report's backend_path.
std::string backendPath(const backends::Backend& backend, quant::Method method, bool outputError)
{
    const auto& caps = backend.capabilities();
    std::string path = method == quant::Method::Rtn
                           ? "quantize: " + std::string(caps.howRuns(backends::Op::Quantize))
                           : std::string(quant::methodName(method)) + ": reference method, GEMM by " +
                                 std::string(caps.howRuns(backends::Op::Gemm));
    if (outputError) path += "; output error: GEMM by " + std::string(caps.howRuns(backends::Op::Gemm));
    return path;
}

/// Runs the methods' work on `backend`: RTN on its quantizer, GPTQ/AWQ on its GEMM.
void useBackend(const backends::Backend& backend, quant::MethodOptions& options)
{
    options.gemm = &backend.gemm();
    options.rtn = [&backend](const quant::Matrix& w, const quant::Scheme& s, const quant::RangeOptions& range,
                             core::Progress* progress) { return backend.quantize(w, s, range, progress); };
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
    useBackend(backend, options);
    auto r = quant::quantizeWithMethod(*w, *scheme, *method, options, cal);
    if (!r) return fail(err, r.error().message);
    const auto metrics = quant::compareValues(w->values(), r->dequant().values());
    std::optional<double> outErr;
    if (cal && cal->hasActivations()) {
        auto e = quant::outputError(cal->x, *w, r->dequant(), backend.gemm());
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
    printPipelineCacheWarning(backend, err);
    if (o.json) {
        ordered_json j = {{"tensor", t->name}, {"scheme", scheme->spec()},
                          {"method", std::string(quant::methodName(*method))}, {"backend", std::string(backend.name())},
                          {"out_axis", t->outAxis}, {"bits_per_weight", r->bitsPerWeight},
                          {"bytes", r->bytes}, {"metrics", metricsJson(metrics)}};
        if (outErr) j["output_error"] = finite(*outErr);
        j["calibration"] = cal ? ordered_json(cal->source) : ordered_json(nullptr);
        j["backend_path"] = backendNote;
        if (auto dt = deviceTime(backend)) j["device_time"] = deviceTimeJson(*dt);
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
    if (auto dt = deviceTime(backend)) out << "  " << deviceTimeText(*dt) << "\n";
    if (!r->note.empty()) out << "  " << r->note << "\n";
    if (saved) printSaved(out, *saved);
    return 0;
}

/// The plan file, or one made from the options; --scheme, --method and --clip given on the
/// command line replace the plan file's defaults (its overrides still decide their tensors).
core::Result<quant::Plan> planFor(const QuantizeOptions& o)
{
    quant::Plan plan;
    if (!o.plan.empty()) {
        auto loaded = quant::loadPlan(o.plan);
        if (!loaded) return loaded.error();
        plan = std::move(*loaded);
    }
    const bool fromOptions = o.plan.empty();
    if (fromOptions || o.schemeGiven) {
        auto scheme = quant::parseScheme(o.scheme);
        if (!scheme) return scheme.error();
        plan.scheme = *scheme;
    }
    if (fromOptions || o.methodGiven) {
        auto method = quant::parseMethod(o.method);
        if (!method) return method.error();
        plan.method = *method;
    }
    if (fromOptions || o.clipGiven) {
        auto clip = quant::parseClip(o.clip);
        if (!clip) return clip.error();
        plan.options.range = *clip;
    }
    return plan;
}

/// Calibration made for each tensor of --all: its imatrix entry or synthetic activations.
quant::CalibrationSource calibrationSource(const QuantizeOptions& o)
{
    if (!o.imatrix.empty())
        return [path = o.imatrix](const core::TensorInfo& t, int64_t in) -> core::Result<std::optional<quant::Calibration>> {
            auto c = quant::loadImatrix(path, t.name, in);
            if (!c) return c.error();
            return std::optional<quant::Calibration>(std::move(*c));
        };
    if (o.synthetic > 0)
        return [rows = o.synthetic](const core::TensorInfo&, int64_t in) -> core::Result<std::optional<quant::Calibration>> {
            return std::optional<quant::Calibration>(quant::syntheticCalibration(rows, in, 1));
        };
    return {};
}

ordered_json reportJson(const QuantizeOptions& o, const backends::Backend& backend, const std::string& backendNote,
                        const quant::ModelReport& report)
{
    ordered_json rows = ordered_json::array(), failed = ordered_json::array();
    for (const auto& t : report.tensors) {
        rows.push_back({{"tensor", t.name}, {"scheme", t.scheme}, {"method", t.method}, {"status", t.status},
                        {"parameters", t.parameters}, {"bytes_before", t.bytesBefore},
                        {"bytes", t.bytesAfter}, {"bits_per_weight", t.bitsPerWeight},
                        {"metrics", t.quantized ? metricsJson(t.metrics) : ordered_json(nullptr)}});
        if (t.failed) failed.push_back({{"tensor", t.name}, {"error", t.status}});
    }
    ordered_json totals = {{"parameters", report.parameters}, {"quantized_parameters", report.quantizedParameters},
                           {"bytes_before", report.bytesBefore}, {"bytes", report.bytesAfter},
                           {"average_bits", report.averageBits},
                           {"weighted_sqnr_db", report.weightedSqnrDb}, {"exact_tensors", report.exactTensors},
                           {"failed_tensors", report.failedTensors}};
    return ordered_json{{"file", o.file},     {"backend", std::string(backend.name())}, {"backend_path", backendNote},
                        {"tensors", rows},    {"totals", totals}, {"failed", failed}};
}

/// Lists the failed tensors on `err`; exit status 1 when there are any.
int failedStatus(const QuantizeOptions& o, const quant::ModelReport& report, std::ostream& err)
{
    if (report.failedTensors == 0) return 0;
    err << "error: " << o.file << ": " << report.failedTensors << " tensor(s) could not be quantized:\n";
    for (const auto& t : report.tensors)
        if (t.failed) err << "  " << t.name << ": " << t.status << "\n";
    return 1;
}

int quantizeAll(const QuantizeOptions& o, const backends::Backend& backend, const core::Model& model,
                std::ostream& out, std::ostream& err)
{
    auto plan = planFor(o);
    if (!plan) return fail(err, plan.error().message);
    quant::ApplyOptions options;
    options.calibFor = calibrationSource(o);
    useBackend(backend, plan->options);
    const auto& caps = backend.capabilities();
    const std::string backendNote = "quantize: " + std::string(caps.howRuns(backends::Op::Quantize)) +
                                    "; other methods: GEMM by " + std::string(caps.howRuns(backends::Op::Gemm));
    std::optional<ordered_json> saved;
    core::Result<quant::ModelReport> report = quant::ModelReport{};
    if (!o.save.empty()) {
        auto s = saveModel(o, model, *plan, options, &*report);
        if (!s) return fail(err, s.error().message);
        saved = std::move(*s);
    } else {
        report = quant::applyPlan(model, *plan, nullptr, options);
        if (!report) return fail(err, report.error().message);
    }
    printPipelineCacheWarning(backend, err);
    if (o.json) {
        ordered_json j = reportJson(o, backend, backendNote, *report);
        if (auto dt = deviceTime(backend)) j["device_time"] = deviceTimeJson(*dt);
        if (saved) j["saved"] = *saved;
        out << j.dump(2) << "\n";
        return failedStatus(o, *report, err);
    }
    Table table({"tensor", "scheme", "method", "status", "params", "bytes", "bits/w", "sqnr dB"});
    for (const auto& t : report->tensors)
        table.addRow({t.name, t.scheme, t.method, t.status, std::to_string(t.parameters), humanBytes(t.bytesAfter),
                      t.quantized ? numberText(t.bitsPerWeight) : "", t.quantized ? numberText(t.metrics.sqnrDb) : ""});
    table.print(out);
    out << "total: " << report->parameters << " parameters, " << humanBytes(report->bytesBefore) << " -> "
        << humanBytes(report->bytesAfter) << ", " << numberText(report->averageBits)
        << " bits/weight on average, parameter-weighted SQNR " << numberText(report->weightedSqnrDb) << " dB\n";
    out << "backend " << backend.name() << ": " << backendNote << "\n";
    if (auto dt = deviceTime(backend)) out << deviceTimeText(*dt) << "\n";
    if (saved) printSaved(out, *saved);
    return failedStatus(o, *report, err);
}

int quantize(const QuantizeOptions& o, std::ostream& out, std::ostream& err)
{
    if (auto why = refuseCombination(o)) return fail(err, *why);
    auto backend = openBackend(o.backend, o.device, err);
    if (!backend) return 2;
    auto model = io::openModel(o.file);
    if (!model) return fail(err, model.error().message);
    return o.all ? quantizeAll(o, *backend, *model, out, err) : quantizeOne(o, *backend, *model, out, err);
}

class QuantizeCommand final : public Command {
public:
    explicit QuantizeCommand(CLI::App& root)
    {
        m_app = root.add_subcommand("quantize", "Quantize one weight tensor, or every weight tensor under a plan, and "
                                                "print bits per weight, bytes and error metrics.");
        auto& o = m_options;
        m_app->add_option("FILE", o.file, "the model file")->required();
        auto* tensor = m_app->add_option("--tensor", o.tensor, "the tensor to quantize")->type_name("NAME");
        auto* all = m_app->add_flag("--all", o.all, "quantize every weight tensor (rank >= 2)")->excludes(tensor);
        m_scheme = m_app->add_option("--scheme", o.scheme,
                                     "int2..int8[:tensor|:channel|:inchannel|:gN][:asym][:away|:stochastic], "
                                     "fp8_e4m3, fp8_e5m2, mxfp4, mxfp8, nvfp4, nf4[:gN][:dq], q8_0, q4_0, q4_1, "
                                     "q5_0, q5_1, q4_k, q5_k, q6_k (default int8)")->type_name("SPEC");
        m_method = m_app->add_option("--method", o.method, "rtn, gptq, awq, smoothquant, llm.int8, spqr (default rtn)")
                       ->type_name("NAME");
        m_clip = m_app->add_option("--clip", o.clip, "minmax, mse or pNN, a percentile (default minmax)")->type_name("CLIP");
        auto* calib = m_app->add_option("--calib", o.calib, "the layer's input activations, .npy [rows, in] (one tensor only)")
                          ->type_name("X.npy");
        auto* imatrix = m_app->add_option("--imatrix", o.imatrix, "llama.cpp importance matrix (per-tensor entries)")
                            ->type_name("FILE");
        auto* synthetic = m_app->add_option("--synthetic", o.synthetic, "N rows of synthetic activations per tensor")
                              ->type_name("N")
                              ->check(CLI::Range(1, 1'000'000));
        calib->excludes(imatrix)->excludes(synthetic);
        imatrix->excludes(synthetic);
        m_app->add_option("--backend", o.backend, "reference (ref), onednn or vulkan: what runs RTN, the GEMM of GPTQ/AWQ "
                                                  "and the output error; a scheme the backend lacks is refused; "
                                                  "vulkan without a device says so and runs on the reference")
            ->type_name("NAME");
        m_app->add_option("--device", o.device, "the Vulkan device to use (an index from `quantscope-cli devices`)")
            ->type_name("N");
        m_app->add_option("--plan", o.plan, "a plan file (JSON) for --all; --scheme/--method/--clip replace its defaults")
            ->type_name("PLAN.json")
            ->needs(all);
        m_app->add_option("--save", o.save, "write the quantized model (.gguf for q8_0..q6_k, .safetensors otherwise)")
            ->type_name("OUT");
        m_app->add_flag("--json", o.json, "print one JSON object");
    }
    bool chosen() const override { return m_app->parsed(); }
    int run(std::ostream& out, std::ostream& err) override
    {
        m_options.schemeGiven = m_scheme->count() > 0;
        m_options.methodGiven = m_method->count() > 0;
        m_options.clipGiven = m_clip->count() > 0;
        return quantize(m_options, out, err);
    }

private:
    CLI::App* m_app = nullptr;
    CLI::Option *m_scheme = nullptr, *m_method = nullptr, *m_clip = nullptr;
    QuantizeOptions m_options;
};

} // namespace

std::unique_ptr<Command> addQuantizeCommand(CLI::App& root) { return std::make_unique<QuantizeCommand>(root); }

} // namespace qs::cli
