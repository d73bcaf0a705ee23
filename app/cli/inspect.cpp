// quantscope-cli inspect: tensors, metadata and (optionally) statistics of a model file.
#include "cli.h"
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
};

std::optional<InspectOptions> parseInspect(const std::vector<std::string>& args, std::ostream& err)
{
    InspectOptions o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) { err << "error: " << a << " needs a value\n"; return std::nullopt; }
            return args[++i];
        };
        if (a == "--stats") o.stats = true;
        else if (a == "--json") o.json = true;
        else if (a == "--tensor") { auto v = value(); if (!v) return std::nullopt; o.tensor = *v; }
        else if (a == "--bins") {
            auto v = value();
            if (!v) return std::nullopt;
            auto n = parsePositiveInt(*v);
            if (!n || *n > 1'000'000) { err << "error: --bins needs a whole number from 1 to 1000000\n"; return std::nullopt; }
            o.bins = *n;
            o.stats = true;
        } else if (!a.empty() && a[0] == '-') { err << "error: unknown option '" << a << "'\n"; return std::nullopt; }
        else if (o.file.empty()) o.file = a;
        else { err << "error: unexpected argument '" << a << "'\n"; return std::nullopt; }
    }
    if (o.file.empty()) { err << "error: inspect needs a FILE\n"; return std::nullopt; }
    return o;
}

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

ordered_json tensorJson(const core::TensorInfo& t)
{
    return {{"name", t.name}, {"dtype", t.readable() ? std::string(core::dtypeName(t.dtype)) : t.typeName},
            {"shape", t.shape}, {"bytes", t.bytes}, {"layer", t.layer}, {"op", t.op},
            {"out_axis", t.outAxis}, {"in_axis", t.inAxis}};
}

/// Statistics with a progress line on a terminal; errors name the file.
core::Result<core::TensorStats> statsFor(const core::TensorInfo& t, int bins, std::ostream& err)
{
    core::StatsOptions opt;
    if (bins > 0) opt.bins = bins;
    core::Progress progress;
    const bool tty = ::isatty(STDERR_FILENO) && t.bytes > (64u << 20);
    if (tty)
        progress.report = [&err, name = t.name](uint64_t done, uint64_t total) {
            err << "\r" << name << ": " << (total ? 100 * done / total : 100) << "%" << std::flush;
        };
    auto r = core::computeStats(t, opt, &progress);
    if (tty) err << "\r\033[K" << std::flush;
    return r;
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

} // namespace

int inspectCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    auto opt = parseInspect(args, err);
    if (!opt) return 2;
    auto model = io::openModel(opt->file);
    if (!model) { err << "error: " << model.error().message << "\n"; return 2; }

    std::vector<const core::TensorInfo*> tensors;
    for (const auto& t : model->tensors)
        if (!opt->tensor || t.name == *opt->tensor) tensors.push_back(&t);
    if (opt->tensor && tensors.empty()) {
        err << "error: " << opt->file << ": no tensor named '" << *opt->tensor << "'\n";
        return 2;
    }

    std::vector<std::optional<core::TensorStats>> stats;
    if (opt->stats) {
        for (const auto* t : tensors) {
            if (!t->readable()) { stats.emplace_back(); continue; }
            auto s = statsFor(*t, opt->bins, err);
            if (!s) { err << "error: " << s.error().message << "\n"; return 2; }
            stats.emplace_back(std::move(*s));
        }
    }

    if (!opt->json) {
        printTable(*model, tensors, stats, opt->bins, out);
        return 0;
    }
    ordered_json j = {{"file", opt->file}, {"format", model->format}, {"metadata", ordered_json::object()}};
    for (const auto& kv : model->metadata) j["metadata"][kv.key] = kv.value;
    j["tensors"] = ordered_json::array();
    for (size_t i = 0; i < tensors.size(); ++i) {
        ordered_json t = tensorJson(*tensors[i]);
        if (opt->stats) {
            if (stats[i]) t["stats"] = statsJson(*stats[i], opt->bins);
            else {
                t["stats"] = nullptr;
                t["note"] = "unsupported type " + tensors[i]->typeName;
            }
        }
        j["tensors"].push_back(std::move(t));
    }
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
}

} // namespace qs::cli
