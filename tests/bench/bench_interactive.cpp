// bench_interactive: the live workbench's latency, from a change on the quantization panel to
// the replotted docks, on the real MainWindow. Not a test: it prints numbers and PASS/MISS
// against the target of issue 9 (p95 < 100 ms on a 4096 x 4096 layer), measured in one run.
//
//   QT_QPA_PLATFORM=offscreen bench_interactive [SIZE] [--changes N] [--json]
//
//   SIZE        the layer is SIZE x SIZE F32 (default 4096; a multiple of 256, so that the
//               GGUF K-quants apply; `bench_interactive 512` is a quick check)
//   --changes N scheme changes in the steady phase (default 50)
//   --json      one JSON object on stdout instead of the text report
//
// A safetensors file with one [SIZE, SIZE] F32 weight (normal, fixed seed, four outlier columns
// x20) goes to a QTemporaryDir under $TMPDIR. The window opens it, selects it and quantizes it
// (int4) as it does for a user. Three phases, each change made through the panel's real
// controls (the controls that differ are set with their signals blocked, then the last one
// is set normally, so one settingsChanged runs the window's own path to Workbench::request):
//   sweep   changes made while the trade-off sweep (25 RTN schemes, a background job started
//           on layer load) still runs, until its tradeoffReady
//   steady  N changes after the sweep, cycling through every format of the panel
//   drag    10 changes back to back without waiting: the time from the last change to its
//           result drawn, and how many earlier results were drawn on the way
// A change's time ends when the window has emitted workbenchUpdated with that scheme as A and
// the queued replots of the docks have run (the event loop is spun until no plot replots).
// Each change is split into "compute" (the job's own time, LayerResult::milliseconds) and
// the rest (queueing, the GUI thread's setData of the docks, replot and paint).
#include "gui/mainwindow.h"
#include "gui/quantpanel.h"
#include "gui/workbench.h"

#include "core/parallel.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

using namespace qs;

namespace {

constexpr double kTargetMs = 100.0;
constexpr int kDragChanges = 10;
constexpr double kTimeoutMs = 120000.0; // one change; a hang is reported, never waited out

/// Every format of the panel, and the int variants a user tries first.
const QStringList kSchemes = {"int8",   "int4",   "int4:g128", "int3:g32:asym", "fp8_e4m3", "mxfp4", "nvfp4",
                              "nf4",    "q8_0",   "q4_k",      "q6_k",          "int8:g128", "fp8_e5m2", "mxfp8",
                              "q4_0",   "q4_1",   "q5_0",      "q5_1",          "q5_k",  "int2:g32:asym", "nf4:dq"};

struct Options {
    int size = 4096;
    int changes = 50;
    bool json = false;
};

struct Change {
    QString spec;
    double totalMs = 0;   ///< control change to replotted docks
    double signalMs = 0;  ///< control change to workbenchUpdated
    double computeMs = 0; ///< the job's own time
    int replots = 0;      ///< plot replots after the signal
};

/// Nearest-rank percentile of `v` (q in (0, 1]).
double percentile(std::vector<double> v, double q)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = size_t(std::ceil(q * double(v.size())));
    return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

std::vector<double> column(const std::vector<Change>& changes, double Change::*field)
{
    std::vector<double> v;
    for (const auto& c : changes) v.push_back(c.*field);
    return v;
}

QString cpuModel()
{
    QFile f("/proc/cpuinfo");
    if (!f.open(QIODevice::ReadOnly)) return "unknown";
    for (const QByteArray& line : f.readAll().split('\n'))
        if (line.startsWith("model name")) return QString::fromUtf8(line.mid(line.indexOf(':') + 1)).trimmed();
    return "unknown";
}

/// One [n, n] F32 tensor "layer.weight": N(0, 0.02), seed 1, columns 7, n/3, n/2 + 1 and n - 5 x20.
QString writeLayer(const QTemporaryDir& dir, int n)
{
    const uint64_t bytes = uint64_t(n) * uint64_t(n) * 4;
    const QByteArray header =
        QString(R"({"layer.weight":{"dtype":"F32","shape":[%1,%1],"data_offsets":[0,%2]}})").arg(n).arg(bytes).toUtf8();
    std::vector<float> w(size_t(n) * size_t(n));
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (auto& x : w) x = normal(rng);
    for (int c : {7, n / 3, n / 2 + 1, n - 5})
        for (int r = 0; r < n; ++r) w[size_t(r) * size_t(n) + size_t(c)] *= 20.0f;
    const QString path = dir.filePath("layer.safetensors");
    QFile f(path);
    const uint64_t headerSize = uint64_t(header.size());
    char prefix[8];
    std::memcpy(prefix, &headerSize, 8);
    if (!f.open(QIODevice::WriteOnly) || f.write(prefix, 8) != 8 || f.write(header) != header.size() ||
        f.write(reinterpret_cast<const char*>(w.data()), qint64(bytes)) != qint64(bytes))
        return {};
    return path;
}

class Bench {
public:
    explicit Bench(app::MainWindow& w) : m_w(w)
    {
        QObject::connect(&w, &app::MainWindow::workbenchUpdated, [this] { ++m_updates; });
        for (QCustomPlot* p : w.findChildren<QCustomPlot*>()) {
            m_plots.push_back({ownerName(p), p, 0, 0, {}});
            const size_t i = m_plots.size() - 1;
            QObject::connect(p, &QCustomPlot::beforeReplot, [this, i] { m_plots[i].clock.start(); });
            QObject::connect(p, &QCustomPlot::afterReplot, [this, i] {
                ++m_replots;
                ++m_plots[i].replots;
                m_plots[i].ms += double(m_plots[i].clock.nsecsElapsed()) / 1e6;
            });
        }
        for (QCheckBox* c : w.quantPanel()->findChildren<QCheckBox*>())
            if (c->text().startsWith("Asymmetric")) m_asym = c;
    }

    QString shownSpec() const
    {
        const auto a = m_w.workbench()->result(app::Slot::A);
        return a ? a->spec : QString();
    }

    /// Spins the event loop until `done` or the timeout; false on timeout.
    bool waitFor(const std::function<bool()>& done, double timeoutMs = kTimeoutMs)
    {
        QElapsedTimer t;
        t.start();
        while (!done()) {
            if (double(t.elapsed()) > timeoutMs) return false;
            QEventLoop loop;
            QTimer::singleShot(5, &loop, &QEventLoop::quit);
            QObject::connect(&m_w, &app::MainWindow::workbenchUpdated, &loop, &QEventLoop::quit);
            loop.exec();
        }
        return true;
    }

    /// Sets the panel to `spec` through its controls; one settingsChanged. False if the panel
    /// cannot spell it or nothing changed.
    bool apply(const QString& spec)
    {
        auto s = app::settingsFromSpec(spec);
        if (!s || !m_asym) return false;
        if (s->format == "nf4" && !spec.contains(":g")) s->groupSize = 64;
        auto* p = m_w.quantPanel();
        std::vector<std::function<void()>> sets;
        if (p->formatBox()->currentText() != s->format)
            sets.push_back([p, f = s->format] { p->formatBox()->setCurrentText(f); });
        if (app::isIntFormat(s->format) && p->bitsBox()->value() != s->bits)
            sets.push_back([p, b = s->bits] { p->bitsBox()->setValue(b); });
        if (p->granularityBox()->currentText() != s->granularity)
            sets.push_back([p, g = s->granularity] { p->granularityBox()->setCurrentText(g); });
        if (p->groupBox()->currentText() != QString::number(s->groupSize))
            sets.push_back([p, g = s->groupSize] { p->groupBox()->setCurrentText(QString::number(g)); });
        if (m_asym->isChecked() != s->asymmetric) sets.push_back([this, a = s->asymmetric] { m_asym->setChecked(a); });
        auto* dq = doubleQuantBox();
        if (dq && dq->isChecked() != s->doubleQuant) sets.push_back([dq, d = s->doubleQuant] { dq->setChecked(d); });
        if (sets.empty()) return false;
        {
            std::vector<std::unique_ptr<QSignalBlocker>> quiet;
            for (QObject* o : std::initializer_list<QObject*>{p->formatBox(), p->bitsBox(), p->granularityBox(),
                                                              p->groupBox(), m_asym, dq})
                if (o) quiet.push_back(std::make_unique<QSignalBlocker>(o));
            for (size_t i = 1; i < sets.size(); ++i) sets[i]();
        }
        sets.front()(); // the format first in the list: the user's one action, with its signal
        return app::specOf(p->settings()) == spec;
    }

    /// One change, waited for and replotted; nullopt on a timeout or a panel that cannot spell it.
    std::optional<Change> change(const QString& spec)
    {
        Change c;
        c.spec = spec;
        const int updates = m_updates;
        QElapsedTimer t;
        t.start();
        if (!apply(spec)) {
            std::fprintf(stderr, "bench_interactive: the panel cannot be set to %s\n", qPrintable(spec));
            return std::nullopt;
        }
        if (!waitFor([&] { return m_updates > updates && shownSpec() == spec; })) {
            std::fprintf(stderr, "bench_interactive: no result for %s within %.0f s\n", qPrintable(spec), kTimeoutMs / 1000);
            return std::nullopt;
        }
        c.signalMs = double(t.nsecsElapsed()) / 1e6;
        c.computeMs = m_w.workbench()->result(app::Slot::A)->milliseconds;
        c.replots = drain();
        c.totalMs = double(t.nsecsElapsed()) / 1e6;
        return c;
    }

    /// Runs the queued replots and paints; returns how many plots replotted.
    int drain()
    {
        const int before = m_replots;
        int seen = 0, rounds = 0;
        do { // a queued replot is a zero timer; its repaint a posted update request
            seen = m_replots;
            QCoreApplication::processEvents(QEventLoop::AllEvents);
            ++rounds;
        } while ((m_replots != seen || rounds < 3) && rounds < 20);
        return m_replots - before;
    }

    int updates() const { return m_updates; }

    /// Each plot's replots and the time they took (beforeReplot to afterReplot).
    struct PlotTime {
        QString name;
        QCustomPlot* plot;
        int replots;
        double ms;
        QElapsedTimer clock;
    };
    const std::vector<PlotTime>& plotTimes() const { return m_plots; }
    void resetPlotTimes()
    {
        for (auto& p : m_plots) p.replots = 0, p.ms = 0;
    }

private:
    /// The project widget that holds `p` ("qs::widgets::ErrorHeatmap"), for the report.
    static QString ownerName(QObject* p)
    {
        for (QObject* o = p->parent(); o; o = o->parent())
            if (QString(o->metaObject()->className()).startsWith("qs::")) return o->metaObject()->className();
        return "QCustomPlot";
    }

    QCheckBox* doubleQuantBox() const
    {
        for (QCheckBox* c : m_w.quantPanel()->findChildren<QCheckBox*>())
            if (c->text().startsWith("Double quantization")) return c;
        return nullptr;
    }

    app::MainWindow& m_w;
    QCheckBox* m_asym = nullptr;
    int m_updates = 0;
    int m_replots = 0;
    std::vector<PlotTime> m_plots;
};

struct DragResult {
    double lastToDrawnMs = 0;
    int intermediates = 0;
    bool ok = false;
};

DragResult drag(Bench& bench, int from)
{
    DragResult d;
    const int updates = bench.updates();
    QElapsedTimer t;
    QString last;
    for (int i = 0; i < kDragChanges; ++i) {
        last = kSchemes[(from + i) % kSchemes.size()];
        t.start();
        if (!bench.apply(last)) return d;
    }
    bool sawLast = false;
    int lastAt = 0;
    if (!bench.waitFor([&] {
            if (bench.shownSpec() == last && bench.updates() > updates) {
                sawLast = true;
                lastAt = bench.updates();
            }
            return sawLast;
        }))
        return d;
    bench.drain();
    d.lastToDrawnMs = double(t.nsecsElapsed()) / 1e6;
    d.intermediates = lastAt - updates - 1;
    d.ok = true;
    return d;
}

std::optional<Options> parse(const QStringList& args)
{
    Options o;
    for (int i = 1; i < args.size(); ++i) {
        bool ok = true;
        if (args[i] == "--json") o.json = true;
        else if (args[i] == "--changes" && i + 1 < args.size()) o.changes = args[++i].toInt(&ok);
        else if (!args[i].startsWith('-')) o.size = args[i].toInt(&ok);
        else ok = false;
        if (!ok) {
            std::fprintf(stderr, "bench_interactive: unknown or bad argument '%s'\n"
                                 "usage: bench_interactive [SIZE] [--changes N] [--json]\n", qPrintable(args[i]));
            return std::nullopt;
        }
    }
    if (o.size < 256 || o.size % 256 != 0 || o.size > 32768) {
        std::fprintf(stderr, "bench_interactive: SIZE %d must be a multiple of 256 in 256..32768\n", o.size);
        return std::nullopt;
    }
    if (o.changes < 1) {
        std::fprintf(stderr, "bench_interactive: --changes must be at least 1\n");
        return std::nullopt;
    }
    return o;
}

QJsonObject summary(const std::vector<Change>& cs)
{
    QJsonObject o;
    o["count"] = int(cs.size());
    o["p50_ms"] = percentile(column(cs, &Change::totalMs), 0.5);
    o["p95_ms"] = percentile(column(cs, &Change::totalMs), 0.95);
    o["compute_p50_ms"] = percentile(column(cs, &Change::computeMs), 0.5);
    o["compute_p95_ms"] = percentile(column(cs, &Change::computeMs), 0.95);
    return o;
}

struct PlotSummary {
    QString name;
    int replots = 0;
    double ms = 0;
};

void printText(const Options& o, const std::vector<Change>& sweep, const std::vector<Change>& steady, const DragResult& d,
               const std::vector<PlotSummary>& plots)
{
    std::printf("bench_interactive: %d x %d F32 layer, %d changes, %d threads (engine pool %u), CPU: %s\n", o.size, o.size,
                int(steady.size()), QThread::idealThreadCount(), core::defaultThreadCount(), qPrintable(cpuModel()));
    std::map<QString, std::vector<const Change*>> byScheme;
    for (const auto& c : steady) byScheme[c.spec].push_back(&c);
    std::printf("\n%-15s %4s %12s %12s %12s %8s\n", "scheme", "n", "total ms", "compute ms", "other ms", "replots");
    for (const QString& spec : kSchemes) {
        auto it = byScheme.find(spec);
        if (it == byScheme.end()) continue;
        std::vector<double> tot, comp;
        int replots = 0;
        for (const Change* c : it->second) {
            tot.push_back(c->totalMs);
            comp.push_back(c->computeMs);
            replots = std::max(replots, c->replots);
        }
        const double t50 = percentile(tot, 0.5), c50 = percentile(comp, 0.5);
        std::printf("%-15s %4zu %12.1f %12.1f %12.1f %8d\n", qPrintable(spec), tot.size(), t50, c50, t50 - c50, replots);
    }
    const auto total = column(steady, &Change::totalMs), compute = column(steady, &Change::computeMs);
    const auto signal = column(steady, &Change::signalMs);
    std::printf("\n(per scheme: medians; other = total - compute: queueing, the docks' setData, replot and paint)\n");
    std::printf("steady: p50 %.1f ms, p95 %.1f ms (compute p50 %.1f, p95 %.1f; to workbenchUpdated p95 %.1f)\n",
                percentile(total, 0.5), percentile(total, 0.95), percentile(compute, 0.5), percentile(compute, 0.95),
                percentile(signal, 0.95));
    std::vector<double> notK;
    for (const auto& c : steady)
        if (!c.spec.endsWith("_k")) notK.push_back(c.totalMs);
    std::printf("steady without the K-quants (q4_k, q5_k, q6_k): %zu changes, p50 %.1f ms, p95 %.1f ms\n", notK.size(),
                percentile(notK, 0.5), percentile(notK, 0.95));
    if (!sweep.empty()) {
        const auto st = column(sweep, &Change::totalMs);
        std::printf("during the trade-off sweep: %zu changes, p50 %.1f ms, p95 %.1f ms\n", sweep.size(),
                    percentile(st, 0.5), percentile(st, 0.95));
    }
    std::printf("replots in the steady phase (beforeReplot to afterReplot, GUI thread):\n");
    for (const auto& p : plots)
        std::printf("  %-34s %4d replots, %8.1f ms in all, %6.2f ms each\n", qPrintable(p.name), p.replots, p.ms,
                    p.replots ? p.ms / p.replots : 0.0);
    if (d.ok)
        std::printf("rapid drag: %d changes back to back, last change to drawn %.1f ms, %d intermediate results drawn\n",
                    kDragChanges, d.lastToDrawnMs, d.intermediates);
    const double p95 = percentile(total, 0.95);
    std::printf("p95 %.1f ms\n%s: p95 %.1f ms vs target < %.0f ms\n", p95, p95 < kTargetMs ? "PASS" : "MISS", p95, kTargetMs);
}

void printJson(const Options& o, const std::vector<Change>& sweep, const std::vector<Change>& steady, const DragResult& d,
               const std::vector<PlotSummary>& plots)
{
    QJsonObject root;
    root["size"] = o.size;
    root["threads"] = QThread::idealThreadCount();
    root["engine_threads"] = int(core::defaultThreadCount());
    root["cpu"] = cpuModel();
    QJsonArray changes;
    for (const auto& c : steady)
        changes.append(QJsonObject{{"scheme", c.spec}, {"total_ms", c.totalMs}, {"compute_ms", c.computeMs},
                                   {"signal_ms", c.signalMs}, {"replots", c.replots}});
    root["changes"] = changes;
    QJsonArray replots;
    for (const auto& p : plots) replots.append(QJsonObject{{"plot", p.name}, {"replots", p.replots}, {"ms", p.ms}});
    root["replots"] = replots;
    root["steady"] = summary(steady);
    root["during_sweep"] = summary(sweep);
    root["drag"] = QJsonObject{{"changes", kDragChanges}, {"last_to_drawn_ms", d.lastToDrawnMs},
                               {"intermediates_drawn", d.intermediates}};
    const double p95 = percentile(column(steady, &Change::totalMs), 0.95);
    root["target_ms"] = kTargetMs;
    root["pass"] = p95 < kTargetMs;
    std::printf("%s\n", QJsonDocument(root).toJson(QJsonDocument::Indented).constData());
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen"); // ./dev bench
    QApplication qapp(argc, argv);
    const auto opts = parse(QCoreApplication::arguments());
    if (!opts) return 2;
    QStandardPaths::setTestModeEnabled(true); // the window's recent files and layout stay out of the user's settings
    QCoreApplication::setOrganizationName("QuantscopeBench");
    QCoreApplication::setApplicationName("bench_interactive");

    QTemporaryDir dir;
    const QString path = dir.isValid() ? writeLayer(dir, opts->size) : QString();
    if (path.isEmpty()) {
        std::fprintf(stderr, "bench_interactive: cannot write the layer under %s\n", qPrintable(QDir::tempPath()));
        return 1;
    }
    app::MainWindow w;
    w.resize(1600, 1000);
    w.show();
    bool sweepDone = false;
    QObject::connect(w.workbench(), &app::Workbench::tradeoffReady, [&] { sweepDone = true; });
    QObject::connect(&w, &app::MainWindow::errorShown, [](const QString& m) {
        std::fprintf(stderr, "bench_interactive: the window shows an error: %s\n", qPrintable(m));
    });
    Bench bench(w);
    w.openFile(path);
    if (!bench.waitFor([&] { return bench.updates() > 0; })) {
        std::fprintf(stderr, "bench_interactive: the layer was never quantized\n");
        return 1;
    }
    bench.drain();

    int next = 0;
    auto run = [&](std::vector<Change>& into, const std::function<bool()>& more) {
        while (more()) {
            auto c = bench.change(kSchemes[next++ % kSchemes.size()]);
            if (!c) return false;
            into.push_back(*c);
        }
        return true;
    };
    std::vector<Change> sweep, steady;
    if (!run(sweep, [&] { return !sweepDone && sweep.size() < 200; })) return 1;
    if (!bench.waitFor([&] { return sweepDone; })) {
        std::fprintf(stderr, "bench_interactive: the trade-off sweep never finished\n");
        return 1;
    }
    bench.drain();
    bench.resetPlotTimes();
    if (!run(steady, [&] { return int(steady.size()) < opts->changes; })) return 1;
    std::vector<PlotSummary> plots;
    for (const auto& p : bench.plotTimes()) plots.push_back({p.name, p.replots, p.ms});
    const DragResult d = drag(bench, next);
    if (!d.ok) {
        std::fprintf(stderr, "bench_interactive: the rapid drag's last change was never drawn\n");
        return 1;
    }
    w.workbench()->waitForIdle();
    if (opts->json) printJson(*opts, sweep, steady, d, plots);
    else printText(*opts, sweep, steady, d, plots);
    return 0;
}
