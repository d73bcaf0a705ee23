// MainWindow: the workbench docks (quantization panel, metrics A/B, quantized histogram with
// the grid, error heatmap) and their wiring to the Workbench jobs.
#include "mainwindow.h"

#include "quantpanel.h"
#include "workbench.h"

#include "channelplot.h"
#include "errorheatmap.h"
#include "metricstable.h"
#include "modeltreemodel.h"
#include "quanthistogramplot.h"
#include "tradeoffchart.h"

#include "backends/backend.h"
#include "quant/codec.h"

#include <QComboBox>
#include <QDockWidget>
#include <QScrollArea>
#include <QFileDialog>
#include <QMenu>
#include <QMenuBar>
#include <QStatusBar>

#include <algorithm>
#include <cmath>
#include <functional>

namespace qs::app {

namespace {

/// ", GPU 1.2 ms in 8 dispatches (timestamps)" for a pass that ran on a device; "" otherwise.
QString deviceTimeText(const std::optional<core::DeviceTime>& t)
{
    if (!t || t->dispatches == 0) return {};
    if (t->timedDispatches == 0)
        return MainWindow::tr(", device %1 ms submit to fence in %2 dispatches (no GPU timestamps)")
            .arg(t->wallSeconds * 1e3, 0, 'f', 1).arg(t->dispatches);
    return MainWindow::tr(", GPU %1 ms in %2 dispatches (timestamps)").arg(t->gpuSeconds * 1e3, 0, 'f', 1).arg(t->timedDispatches);
}

widgets::MetricsRow metricsRow(const LayerResult& r)
{
    widgets::MetricsRow row;
    row.scheme = r.spec;
    row.method = r.settings.method;
    const auto& m = r.measured.metrics;
    row.sqnrDb = m.sqnrDb;
    row.mse = m.mse;
    row.rmse = m.rmse;
    row.maxAbsErr = m.maxAbsErr;
    row.cosine = m.cosine;
    row.relFro = m.relFro;
    row.bitsPerWeight = r.bitsPerWeight;
    row.bytes = r.bytes;
    row.outputError = r.outputError;
    return row;
}

/// The column boundaries of the scale groups along a row (for the heatmap overlay).
std::vector<int64_t> groupColumns(const quant::GroupGrid& g)
{
    std::vector<int64_t> cols;
    if (g.granularity != quant::Granularity::Group || g.width <= 0) return cols;
    for (int64_t c = g.width; c < g.cols; c += g.width) cols.push_back(c);
    return cols;
}

} // namespace

QDockWidget* MainWindow::addDock(const QString& title, const QString& objectName, QWidget* widget,
                                 Qt::DockWidgetArea area)
{
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(objectName); // saveState/restoreState remember docks by name
    dock->setWidget(widget);
    addDockWidget(area, dock);
    m_viewMenu->addAction(dock->toggleViewAction());
    return dock;
}

void MainWindow::buildWorkbench()
{
    m_workbench = new Workbench(this);
    m_quantPanel = new QuantPanel;
    QList<QuantPanel::BackendItem> items;
    for (const auto& n : backends::backendNames()) items.append({QString::fromStdString(n), QString::fromStdString(n), {}});
    m_quantPanel->setBackends(items);
    listDevices();
    QuantSettings start; // a new user sees int4 at once
    start.bits = 4;
    m_quantPanel->setSettings(start);
    m_quantHistogram = new widgets::QuantHistogramPlot;
    m_heatmap = new widgets::ErrorHeatmap;
    m_metrics = new widgets::MetricsTable;
    m_viewMenu->addSeparator();
    // The controls scroll: the dock can then be short and leave room for the metrics.
    auto* quantScroll = new QScrollArea;
    quantScroll->setWidget(m_quantPanel);
    quantScroll->setWidgetResizable(true);
    quantScroll->setFrameShape(QFrame::NoFrame);
    quantScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    addDock(tr("Quantization"), "dock.quantization", quantScroll, Qt::RightDockWidgetArea);
    addDock(tr("Metrics A / B"), "dock.metrics", m_metrics, Qt::RightDockWidgetArea);
    auto* hist = addDock(tr("Quantized histogram"), "dock.quantHistogram", m_quantHistogram, Qt::BottomDockWidgetArea);
    auto* heat = addDock(tr("Error heatmap"), "dock.heatmap", m_heatmap, Qt::BottomDockWidgetArea);
    splitDockWidget(hist, heat, Qt::Horizontal);
    m_tradeoffChart = new widgets::TradeoffChart;
    auto* trade = addDock(tr("Trade-off"), "dock.tradeoff", m_tradeoffChart, Qt::BottomDockWidgetArea);
    tabifyDockWidget(heat, trade);
    heat->raise();
    connect(m_workbench, &Workbench::tradeoffReady, this, &MainWindow::showTradeoff);
    connect(m_tradeoffChart, &widgets::TradeoffChart::pointClicked, this, [this](int index) {
        const auto& t = m_workbench->tradeoff();
        if (index < 0 || size_t(index) >= t.size()) return;
        auto s = settingsFromSpec(t[size_t(index)].spec);
        if (!s) return;
        QuantSettings keep = m_quantPanel->settings(); // method, calibration and backend stay
        s->clip = keep.clip;
        s->percentile = keep.percentile;
        s->method = keep.method;
        s->calibration = keep.calibration;
        s->syntheticRows = keep.syntheticRows;
        s->calibrationFile = keep.calibrationFile;
        s->backend = keep.backend;
        m_quantPanel->setSettings(*s);
        m_workbench->request(Slot::A, *s);
    });
    connect(m_channels, &widgets::ChannelPlot::channelClicked, this, [this](int channel) {
        if (m_channelAxis->currentIndex() != 0) return; // input channels are columns, not rows
        m_selectedRow = channel;
        showWorkbenchResult(Slot::A);
    });

    connect(m_quantPanel, &QuantPanel::settingsChanged, this,
            [this](const QuantSettings& s) { m_workbench->request(Slot::A, s); });
    connect(m_quantPanel, &QuantPanel::pinRequested, this, [this] {
        m_pinned = m_quantPanel->settings();
        m_quantPanel->setStatus(tr("B: %1 (%2)").arg(specOf(*m_pinned), m_pinned->method));
        m_workbench->request(Slot::B, *m_pinned);
    });
    connect(m_quantPanel, &QuantPanel::unpinRequested, this, [this] {
        m_pinned.reset();
        m_workbench->clear(Slot::B);
        m_quantPanel->setStatus({});
        showWorkbenchResult(Slot::B);
    });
    connect(m_workbench, &Workbench::layerLoaded, this, [this](int) {
        m_selectedRow = 0;
        m_workbench->request(Slot::A, m_quantPanel->settings());
        if (m_pinned) m_workbench->request(Slot::B, *m_pinned);
    });
    connect(m_workbench, &Workbench::resultReady, this, &MainWindow::showWorkbenchResult);
    connect(m_workbench, &Workbench::failed, this, [this](Slot slot, const QString& message) {
        m_quantPanel->setStatus((slot == Slot::A ? tr("A: ") : tr("B: ")) + message);
    });
    connect(m_workbench, &Workbench::backendChosen, this, [this](const QString& name, const QString& about, bool fellBack) {
        m_quantPanel->setBackendInfo(name, about);
        if (fellBack) m_quantPanel->setStatus(about);
        statusBar()->showMessage(about, 10000);
    });
    connect(m_heatmap, &widgets::ErrorHeatmap::elementClicked, this, [this](int64_t r, int64_t) {
        m_selectedRow = r;
        showWorkbenchResult(Slot::A);
    });
    m_heatmap->elementInfo = [this](int64_t r, int64_t c) { return elementText(r, c); };
    buildExportMenu();
    // Zoomed in, the engine pools the visible window again at about the screen's resolution.
    connect(m_heatmap, &widgets::ErrorHeatmap::viewChanged, this,
            [this](int64_t rowLo, int64_t rowHi, int64_t colLo, int64_t colHi) {
                const QSize px = m_heatmap->viewPixels();
                m_workbench->requestWindowMap(rowLo, rowHi, colLo, colHi, std::max(1, px.height()), std::max(1, px.width()));
            });
    connect(m_workbench, &Workbench::windowMapReady, this,
            [this](int64_t rowLo, int64_t rowHi, int64_t colLo, int64_t colHi, const quant::Matrix& map) {
                widgets::HeatmapData h = m_heatmap->data();
                h.rowLo = rowLo;
                h.rowHi = rowHi;
                h.colLo = colLo;
                h.colHi = colHi;
                h.gridRows = map.rows;
                h.gridCols = map.cols;
                h.cells = map.data;
                m_heatmap->setData(std::move(h));
            });
    buildPlanDock();
}

namespace {

/// Asks for a file and writes a plot (.png, .jpg, .svg, .pdf) or its data (.csv); a failure is
/// reported, never silent.
template <class Plot>
void exportDialog(QWidget* parent, Plot* plot, const QString& what, const QString& base,
                  const std::function<void(const QString&)>& showError)
{
    const QString path = QFileDialog::getSaveFileName(
        parent, QObject::tr("Export %1").arg(what), base + ".png",
        QObject::tr("PNG (*.png);;SVG (*.svg);;PDF (*.pdf);;JPEG (*.jpg);;Data as CSV (*.csv)"));
    if (path.isEmpty()) return;
    QString error;
    const bool ok = path.endsWith(".csv", Qt::CaseInsensitive) ? plot->exportCsv(path, &error) : plot->exportTo(path, &error);
    if (!ok) showError(QObject::tr("Cannot export %1 to %2: %3").arg(what, path, error));
}

} // namespace

void MainWindow::buildExportMenu()
{
    auto* menu = new QMenu(tr("Export &Workbench"), m_fileMenu);
    const auto actions = m_fileMenu->actions(); // above Quit, beside the other exports
    if (actions.isEmpty()) m_fileMenu->addMenu(menu);
    else m_fileMenu->insertMenu(actions.last(), menu);
    auto err = [this](const QString& m) { showError(m); };
    menu->addAction(tr("Quantized Histogram..."), this,
                    [this, err] { exportDialog(this, m_quantHistogram, tr("the quantized histogram"), "quantized-histogram", err); });
    menu->addAction(tr("Error Heatmap..."), this,
                    [this, err] { exportDialog(this, m_heatmap, tr("the error heatmap"), "error-heatmap", err); });
    menu->addAction(tr("Trade-off Chart..."), this,
                    [this, err] { exportDialog(this, m_tradeoffChart, tr("the trade-off chart"), "tradeoff", err); });
    menu->addAction(tr("Outlier Channels..."), this,
                    [this, err] { exportDialog(this, m_channels, tr("the outlier channels"), "channels", err); });
    menu->addAction(tr("Metrics A / B (CSV)..."), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export metrics"), "metrics.csv", tr("CSV (*.csv)"));
        QString error;
        if (!path.isEmpty() && !m_metrics->exportCsv(path, &error))
            showError(tr("Cannot export the metrics to %1: %2").arg(path, error));
    });
}

void MainWindow::selectLayer(int tensorIndex)
{
    const auto& t = m_model->tensors[size_t(tensorIndex)];
    if (!t.readable() || !core::isWeightTensor(t)) {
        m_workbench->setLayer(nullptr, -1);
        m_quantPanel->setStatus(tr("%1 is not a weight matrix: nothing to quantize").arg(QString::fromStdString(t.name)));
        m_quantHistogram->clear();
        m_heatmap->clear();
        m_metrics->clear();
        return;
    }
    m_quantPanel->setStatus(m_pinned ? tr("B: %1").arg(specOf(*m_pinned)) : QString());
    m_workbench->setLayer(m_model, tensorIndex);
}

QString MainWindow::elementText(int64_t r, int64_t c) const
{
    const auto a = m_workbench->result(Slot::A);
    const quant::Matrix* w = m_workbench->weights();
    if (!a || !w || r < 0 || c < 0 || r >= w->rows || c >= w->cols) return {};
    const auto i = size_t(r * w->cols + c);
    QString text = tr("w = %1, q = %2").arg(double(w->data[i]), 0, 'g', 6).arg(double(a->dequant().data[i]), 0, 'g', 6);
    const quant::Quantized& q = a->measured.q;
    if (q.scheme.family != quant::Family::Ggml && q.cols() == w->cols && i < q.codes.size()) {
        text += tr(", code %1").arg(int(q.codes[i]));
        if (const auto* p = std::get_if<quant::ScaledParams>(&q.params))
            text += tr(", scale %1").arg(double(p->scale[size_t(q.grid.groupOf(r, c))]), 0, 'g', 6);
    }
    return text;
}

void MainWindow::showWorkbenchResult(Slot)
{
    const auto a = m_workbench->result(Slot::A);
    const auto b = m_workbench->result(Slot::B);
    const quant::Matrix* w = m_workbench->weights();
    if (!a || !w) return;
    m_metrics->setRows(metricsRow(*a), b ? std::optional<widgets::MetricsRow>(metricsRow(*b)) : std::nullopt);
    // The tree remembers each layer's last A, so sorting by SQNR finds the sensitive layers.
    m_treeModel->setQuantState(m_workbench->layer(), widgets::ModelTreeModel::QuantState{
                                                        a->spec + (a->settings.method == "rtn" ? QString() : " " + a->settings.method),
                                                        a->bitsPerWeight, a->measured.metrics.sqnrDb});
    showQuantHistogram(*a, *w);
    const quant::Matrix& map = a->measured.errorMap;
    widgets::HeatmapData h;
    h.rows = w->rows;
    h.cols = w->cols;
    h.gridRows = map.rows;
    h.gridCols = map.cols;
    h.cells = map.data;
    h.kind = "|w-q|";
    h.groupColumns = groupColumns(a->measured.q.grid);
    m_heatmap->setData(std::move(h));
    selectTradeoffPoints();
    updateChannels();
    statusBar()->showMessage(tr("%1: SQNR %2 dB, %3 bits/weight, %4 ms")
                                     .arg(a->spec)
                                     .arg(a->measured.metrics.sqnrDb, 0, 'f', 2)
                                     .arg(a->bitsPerWeight, 0, 'f', 3)
                                     .arg(a->milliseconds, 0, 'f', 1) +
                                 deviceTimeText(a->measured.deviceTime),
                             5000);
    emit workbenchUpdated();
}

void MainWindow::updateChannels()
{
    if (!m_stats || !m_model || m_statsTensor < 0) return;
    const bool out = m_channelAxis->currentIndex() == 0;
    widgets::ChannelData d;
    d.absmax = out ? m_stats->outChannelAbsmax : m_stats->inChannelAbsmax;
    d.axisName = out ? tr("output") : tr("input");
    // Marks of A's method on the same layer: LLM.int8's fp16 input columns, SpQR's sparse
    // outliers counted per channel.
    const auto a = m_workbench->result(Slot::A);
    const quant::Matrix* w = m_workbench->weights();
    if (a && a->method && w && m_workbench->layer() == m_statsTensor) {
        const auto& r = *a->method;
        if (r.method == quant::Method::LlmInt8 && !out)
            for (int64_t c : r.outlierIndex) d.kept.push_back(int(c));
        if (r.method == quant::Method::Spqr && w->cols > 0) {
            d.sparseCounts.assign(d.absmax.size(), 0);
            for (int64_t i : r.outlierIndex) {
                const int64_t ch = out ? i / w->cols : i % w->cols;
                if (size_t(ch) < d.sparseCounts.size()) ++d.sparseCounts[size_t(ch)];
            }
        }
    }
    // A scheme change with no marks before or after leaves the plot as it is (no replot).
    if (d == m_channels->channelData()) return;
    QString error;
    if (!m_channels->setChannelData(d, &error)) m_channels->setChannels(d.absmax, d.axisName);
}

void MainWindow::showTradeoff()
{
    std::vector<widgets::charts::TradeoffPoint> points;
    for (const auto& e : m_workbench->tradeoff()) points.push_back({e.spec, e.bitsPerWeight, e.sqnrDb, e.family});
    const int layer = m_workbench->layer();
    m_tradeoffChart->setPoints(points, layer >= 0 ? tr("RTN schemes on %1").arg(QString::fromStdString(m_model->tensors[size_t(layer)].name))
                                                  : QString());
    selectTradeoffPoints();
}

void MainWindow::selectTradeoffPoints()
{
    const auto& t = m_workbench->tradeoff();
    auto indexOf = [&](Slot slot) {
        const auto r = m_workbench->result(slot);
        if (!r || r->settings.method != "rtn" || r->settings.clip != "minmax") return -1;
        for (size_t i = 0; i < t.size(); ++i)
            if (t[i].spec == r->spec) return int(i);
        return -1;
    };
    m_tradeoffChart->setSelection(indexOf(Slot::A), indexOf(Slot::B));
}

void MainWindow::showQuantHistogram(const LayerResult& a, const quant::Matrix& w)
{
    const int64_t r = std::clamp<int64_t>(m_selectedRow, 0, w.rows - 1);
    const quant::Quantized& q = a.measured.q;
    widgets::QuantHistogramData d;
    d.weights.assign(w.row(r), w.row(r) + w.cols);
    const quant::Matrix& dq = a.dequant();
    d.dequant.assign(dq.row(r), dq.row(r) + dq.cols);
    // The grid of the row's first group (the row's own scale for per-channel schemes).
    if (q.rows() == w.rows && q.cols() == w.cols && q.grid.count() > 0) {
        const int64_t g = q.grid.groupOf(r, 0);
        if (auto codec = quant::makeCodec(q.scheme)) d.levels = (*codec)->groupLevels(q, g);
        if (size_t(g) < q.clip.size()) {
            d.clipLo = q.clip[size_t(g)].lo;
            d.clipHi = q.clip[size_t(g)].hi;
        }
    }
    d.title = tr("row %1 of %2: %3").arg(r).arg(QString::fromStdString(m_model->tensors[size_t(m_workbench->layer())].name), a.spec);
    m_quantHistogram->setData(std::move(d));
}

void MainWindow::listDevices()
{
    // Opening the Vulkan loader takes a while (and a broken driver may take longer): off the
    // GUI thread. Until it answers, "vulkan" is listed and means the default device.
    m_pool.start([this] {
        auto list = backends::listDevices();
        QMetaObject::invokeMethod(this, [this, list = std::move(list)] { showDevices(list); }, Qt::QueuedConnection);
    });
}

void MainWindow::showDevices(const core::Result<backends::DeviceList>& list)
{
    QList<QuantPanel::BackendItem> items;
    for (const auto& n : backends::backendNames()) {
        const QString name = QString::fromStdString(n);
        if (name != "vulkan" || !list || list->devices.empty()) {
            const QString why = !list ? QString::fromStdString(list.error().message) : QString::fromStdString(list->none);
            items.append({name, name, name == "vulkan" && !why.isEmpty() ? why + tr("; the work runs on the reference backend") : QString()});
            continue;
        }
        // The default device keeps the plain spec "vulkan", the others are "vulkan:N".
        for (const auto& d : list->devices) {
            const QString spec = QString::fromStdString(backends::backendSpec(d.backend, d.isDefault ? std::nullopt : std::optional(d.index)));
            const QString label = tr("vulkan %1: %2").arg(d.index).arg(QString::fromStdString(d.name));
            items.append({spec, label, tr("Vulkan device %1: %2 (%3)%4").arg(d.index).arg(QString::fromStdString(d.name),
                                         QString::fromStdString(d.type), d.isDefault ? tr(", the default") : QString())});
        }
    }
    m_quantPanel->setBackends(items);
    emit devicesListed();
}

} // namespace qs::app
