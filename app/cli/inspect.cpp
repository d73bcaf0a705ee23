// quantscope-cli inspect: tensors, metadata and (optionally) statistics of a model file.
#include "commands.h"
#include "device_time.h"
#include "format.h"

#include "core/stats.h"
#include "io/modelreader.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>
#include <optional>
#include <ostream>
#include <unistd.h>

namespace qs::cli {

namespace {

using nlohmann::ordered_json;

struct InspectOptions {
    std::string file;
    std::optional<std::string> tensor;
    bool stats = false;
    bool json = false;
    int bins = 0; ///< 0: no histogram
    std::string backend = "reference"; ///< what computes --stats
    std::optional<uint32_t> device;
};

ordered_json finiteOrNull(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

ordered_json statsJson(const core::TensorStats& s, int bins)
{
    ordered_json j = {{"count", s.count}, {"min", finiteOrNull(s.min)}, {"max", finiteOrNull(s.max)},
                      {"mean", finiteOrNull(s.mean)}, {"std", finiteOrNull(s.std)},
                      {"absmax", finiteOrNull(s.absmax)}, {"nan", s.nan}, {"inf", s.inf},
                      {"zeros", s.zeros}, {"kurtosis", finiteOrNull(s.kurtosis)}};
    if (bins > 0) j["histogram"] = {{"edges", s.histogram.edges}, {"counts", s.histogram.counts}};
    return j;
}

/// Every tensor says whether Quantscope can read its element type ("supported"); one it cannot
/// also gets a note, with or without --stats.
ordered_json tensorJson(const core::TensorInfo& t)
{
    ordered_json j = {{"name", t.name}, {"dtype", t.readable() ? std::string(core::dtypeName(t.dtype)) : t.typeName},
                      {"supported", t.readable()}, {"shape", t.shape}, {"bytes", t.bytes}, {"layer", t.layer},
                      {"op", t.op}, {"out_axis", t.outAxis}, {"in_axis", t.inAxis}};
    if (!t.readable()) j["note"] = "unsupported type " + t.typeName;
    return j;
}

/// Statistics with a progress line on a terminal; errors name the file.
core::Result<core::TensorStats> statsFor(const backends::Backend& backend, const core::TensorInfo& t, int bins,
                                         std::ostream& err)
{
    core::StatsOptions opt;
    if (bins > 0) opt.bins = bins;
    core::Progress progress;
    const bool tty = ::isatty(STDERR_FILENO) && t.bytes > (64u << 20);
    if (tty)
        progress.report = [&err, name = t.name](uint64_t done, uint64_t total) {
            err << "\r" << name << ": " << (total ? 100 * done / total : 100) << "%" << std::flush;
        };
    auto r = backend.statistics(t, opt, &progress);
    if (tty) err << "\r\033[K" << std::flush;
    return r;
}

/// "NAME (how it computes statistics[, device])".
std::string statsHow(const backends::Backend& b)
{
    std::string how = std::string(b.name()) + " (" + std::string(b.capabilities().howRuns(backends::Op::Statistics));
    if (!b.capabilities().device.empty()) how += "; " + b.capabilities().device;
    return how + ")";
}

void printTable(const core::Model& m, const std::vector<const core::TensorInfo*>& tensors,
                const std::vector<std::optional<core::TensorStats>>& stats, int bins, std::ostream& out)
{
    out << m.path << "  (" << m.format << ", " << m.tensors.size() << " tensors, "
        << m.totalParameters() << " parameters, " << humanBytes(m.totalBytes()) << ")\n";
    for (const auto& kv : m.metadata) out << "  " << kv.key << " = " << truncateText(kv.value, 100) << "\n";
    Table table({"name", "dtype", "shape", "bytes", "layer", "op"});
    if (!stats.empty()) table.addColumns({"min", "max", "mean", "std", "absmax", "kurtosis", "nan", "inf", "zeros"});
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = *tensors[i];
        std::vector<std::string> row = {t.name, t.readable() ? std::string(core::dtypeName(t.dtype)) : t.typeName + " (unsupported type)",
                                        shapeText(t.shape), std::to_string(t.bytes), t.layer, t.op};
        if (!stats.empty() && stats[i]) {
            const auto& s = *stats[i];
            for (double v : {s.min, s.max, s.mean, s.std, s.absmax, s.kurtosis}) row.push_back(numberText(v));
            for (uint64_t v : {s.nan, s.inf, s.zeros}) row.push_back(std::to_string(v));
        }
        table.addRow(std::move(row));
    }
    table.print(out);
    if (bins > 0)
        for (size_t i = 0; i < tensors.size(); ++i)
            if (stats[i]) printHistogram(tensors[i]->name, stats[i]->histogram, out);
}

int inspect(const InspectOptions& opt, std::ostream& out, std::ostream& err)
{
    auto model = io::openModel(opt.file);
    if (!model) return fail(err, model.error().message);

    std::vector<const core::TensorInfo*> tensors;
    for (const auto& t : model->tensors)
        if (!opt.tensor || t.name == *opt.tensor) tensors.push_back(&t);
    if (opt.tensor && tensors.empty()) return fail(err, opt.file + ": no tensor named '" + *opt.tensor + "'");

    std::vector<std::optional<core::TensorStats>> stats;
    std::unique_ptr<backends::Backend> backend;
    if (opt.stats) {
        backend = openBackend(opt.backend, opt.device, err);
        if (!backend) return 2;
        for (const auto* t : tensors) {
            if (!t->readable()) { stats.emplace_back(); continue; }
            auto s = statsFor(*backend, *t, opt.bins, err);
            if (!s) return fail(err, s.error().message);
            stats.emplace_back(std::move(*s));
        }
        printPipelineCacheWarning(*backend, err);
    }

    if (!opt.json) {
        printTable(*model, tensors, stats, opt.bins, out);
        if (backend) out << "statistics: " << statsHow(*backend) << "\n";
        if (auto dt = backend ? deviceTime(*backend) : std::nullopt) out << deviceTimeText(*dt) << "\n";
        return 0;
    }
    ordered_json j = {{"file", opt.file}, {"format", model->format}, {"metadata", ordered_json::object()}};
    for (const auto& kv : model->metadata) j["metadata"][kv.key] = kv.value;
    if (backend) j["stats_backend"] = statsHow(*backend);
    if (auto dt = backend ? deviceTime(*backend) : std::nullopt) j["device_time"] = deviceTimeJson(*dt);
    j["tensors"] = ordered_json::array();
    for (size_t i = 0; i < tensors.size(); ++i) {
        ordered_json t = tensorJson(*tensors[i]);
        if (opt.stats) t["stats"] = stats[i] ? statsJson(*stats[i], opt.bins) : ordered_json(nullptr);
        j["tensors"].push_back(std::move(t));
    }
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
}

class InspectCommand final : public Command {
public:
    explicit InspectCommand(CLI::App& root)
    {
        m_app = root.add_subcommand("inspect", "List the tensors of a model (.safetensors, model.safetensors.index.json, "
                                               ".onnx, .gguf, .npy, .npz) and its metadata.");
        m_app->add_option("FILE", m_options.file, "the model file")->required();
        m_tensorOption = m_app->add_option("--tensor", m_tensor, "only this tensor")->type_name("NAME");
        m_app->add_flag("--stats", m_options.stats, "add statistics computed in one pass over the data");
        m_app->add_option("--bins", m_options.bins, "add an N-bin histogram (implies --stats)")
            ->type_name("N")
            ->check(CLI::Range(1, 1'000'000));
        m_app->add_flag("--json", m_options.json, "print one JSON object");
        m_backendOption = m_app->add_option("--backend", m_options.backend,
                                            "reference (default), onednn or vulkan: what computes --stats; vulkan "
                                            "without a device says so and runs on the reference")
                              ->type_name("NAME");
        m_deviceOption = m_app->add_option("--device", m_options.device,
                                           "the Vulkan device to use (an index from `quantscope-cli devices`)")
                             ->type_name("N");
    }
    bool chosen() const override { return m_app->parsed(); }
    int run(std::ostream& out, std::ostream& err) override
    {
        if (m_options.bins > 0) m_options.stats = true;
        if (!m_options.stats && (m_backendOption->count() > 0 || m_deviceOption->count() > 0))
            return fail(err, "--backend and --device choose what computes the statistics: add --stats or --bins");
        if (m_tensorOption->count() > 0) m_options.tensor = m_tensor;
        return inspect(m_options, out, err);
    }

private:
    CLI::App* m_app = nullptr;
    CLI::Option* m_tensorOption = nullptr;
    CLI::Option* m_backendOption = nullptr;
    CLI::Option* m_deviceOption = nullptr;
    std::string m_tensor;
    InspectOptions m_options;
};

} // namespace

std::unique_ptr<Command> addInspectCommand(CLI::App& root) { return std::make_unique<InspectCommand>(root); }

} // namespace qs::cli
