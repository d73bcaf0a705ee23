#include "histogramplot.h"

#include "charttheme.h"
#include "plotpalette.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QSvgGenerator>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>

namespace qs::widgets {

HistogramPlot::HistogramPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(300, 200);
    m_plot->addGraph();
    m_plot->graph(0)->setLineStyle(QCPGraph::lsStepLeft);
    m_plot->xAxis->setLabel("value");
    m_plot->yAxis->setLabel("count");
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->installEventFilter(this);
    m_plot->setMouseTracking(true);
    setToolTip({});
    applyTheme();
}

void HistogramPlot::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) applyTheme();
    QWidget::changeEvent(event);
}

void HistogramPlot::applyTheme()
{
    const QPalette pal = palette();
    applyPlotPalette(m_plot, pal);
    // The float weights' blue, as in the quantized histogram; lighter on a dark window.
    const bool dark = isDarkPalette(pal);
    m_plot->graph(0)->setPen(QPen(dark ? QColor(110, 160, 230) : QColor(40, 90, 160), 1.2));
    m_plot->graph(0)->setBrush(dark ? QColor(90, 140, 220, 120) : QColor(70, 130, 200, 110));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

HistogramPlot::~HistogramPlot() = default;

void HistogramPlot::setHistogram(const core::Histogram& histogram, const QString& title)
{
    m_histogram = histogram;
    m_title = title;
    replot();
}

void HistogramPlot::clear()
{
    m_histogram = {};
    m_title.clear();
    replot();
}

void HistogramPlot::setLogCounts(bool log)
{
    m_log = log;
    replot();
}

void HistogramPlot::replot()
{
    QVector<double> keys, values;
    const auto& h = m_histogram;
    double top = 1;
    for (size_t i = 0; i < h.counts.size(); ++i) {
        // Log axes cannot show 0: an empty bin sits at 0.5, below the first tick.
        const double c = m_log && h.counts[i] == 0 ? 0.5 : double(h.counts[i]);
        keys << h.edges[i];
        values << c;
        top = std::max(top, c);
    }
    if (!h.counts.empty()) { // close the last step at the upper edge
        keys << h.edges.back();
        values << values.back();
    }
    m_plot->graph(0)->setData(keys, values, true);
    m_plot->yAxis->setScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_plot->yAxis->setRange(m_log ? 0.5 : 0, m_log ? top * 2 : top * 1.05);
    if (!h.edges.empty()) {
        const double lo = h.edges.front(), hi = h.edges.back();
        const double pad = hi > lo ? (hi - lo) * 0.02 : 0.5;
        m_plot->xAxis->setRange(lo - pad, hi + pad);
    }
    m_plot->xAxis->setLabel(m_title.isEmpty() ? "value" : m_title);
    m_plot->yAxis->setLabel(m_log ? "count (log)" : "count");
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int HistogramPlot::binAt(double x) const
{
    const auto& e = m_histogram.edges;
    if (e.size() < 2 || x < e.front() || x > e.back()) return -1;
    const auto it = std::upper_bound(e.begin(), e.end(), x);
    const int bin = int(it - e.begin()) - 1;
    return std::min(bin, int(m_histogram.counts.size()) - 1);
}

QString HistogramPlot::binText(int bin) const
{
    if (bin < 0 || bin >= int(m_histogram.counts.size())) return {};
    const bool last = bin == int(m_histogram.counts.size()) - 1;
    return QString("[%1, %2%3: %4")
        .arg(m_histogram.edges[size_t(bin)], 0, 'g', 6)
        .arg(m_histogram.edges[size_t(bin) + 1], 0, 'g', 6)
        .arg(last ? "]" : ")")
        .arg(m_histogram.counts[size_t(bin)]);
}

double HistogramPlot::pixelOf(double x) const { return m_plot->xAxis->coordToPixel(x); }

bool HistogramPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_plot && event->type() == QEvent::MouseMove) {
        const auto* me = static_cast<QMouseEvent*>(event);
        const int bin = binAt(m_plot->xAxis->pixelToCoord(me->position().x()));
        if (bin >= 0)
            QToolTip::showText(me->globalPosition().toPoint(), binText(bin), m_plot);
        else
            QToolTip::hideText();
    }
    return QWidget::eventFilter(watched, event);
}

bool HistogramPlot::exportTo(const QString& path, QString* error, int width, int height)
{
    return exportPlot(m_plot, path, error, width, height);
}

bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width, int height)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == "png") {
        ok = plot->savePng(path, width, height);
    } else if (suffix == "jpg" || suffix == "jpeg") {
        ok = plot->saveJpg(path, width, height);
    } else if (suffix == "pdf") {
        ok = plot->savePdf(path, width, height);
    } else if (suffix == "svg") {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(QSize(width, height));
        svg.setViewBox(QRect(0, 0, width, height));
        QCPPainter painter;
        ok = painter.begin(&svg);
        if (ok) {
            plot->toPainter(&painter, width, height);
            painter.end();
        }
    } else {
        if (error) *error = path + ": unknown image type '" + suffix + "' (use .png, .jpg, .pdf or .svg)";
        return false;
    }
    if (!ok && error) *error = path + ": could not write the file";
    return ok;
}

} // namespace qs::widgets
