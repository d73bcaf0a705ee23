#include "channelplot.h"

#include "charttheme.h"
#include "plotpalette.h"
#include "histogramplot.h"
#include "viewmath_charts.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qs::widgets {

double medianOf(std::vector<float> values)
{
    const double m = charts::median(values);
    return std::isnan(m) ? 0.0 : m;
}

namespace {

QString validate(const ChannelData& d)
{
    const auto n = d.absmax.size();
    for (int c : d.kept)
        if (c < 0 || size_t(c) >= n)
            return QString("kept channel %1 is outside 0..%2").arg(c).arg(qlonglong(n) - 1);
    if (!d.sparseCounts.empty() && d.sparseCounts.size() != n)
        return QString("%1 sparse outlier counts for %2 channels").arg(d.sparseCounts.size()).arg(n);
    for (size_t c = 0; c < d.sparseCounts.size(); ++c)
        if (d.sparseCounts[c] < 0)
            return QString("channel %1 has a negative sparse outlier count (%2)").arg(c).arg(d.sparseCounts[c]);
    return {};
}

constexpr int textTickerLimit = 40; // sorted plots label each bar with its channel up to this count

} // namespace

ChannelPlot::ChannelPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(300, 160);
    m_normalBars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_flaggedBars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_keptGraph = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    m_sparseGraph = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    m_thresholdGraph = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    for (QCPBars* bars : {m_normalBars, m_flaggedBars}) bars->setPen(Qt::NoPen);
    m_keptGraph->setLineStyle(QCPGraph::lsNone);
    m_sparseGraph->setLineStyle(QCPGraph::lsNone);
    m_plot->yAxis->setLabel("absmax");
    m_plot->yAxis2->setLabel("sparse outliers");
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(0, 0, new QCPTextElement(m_plot, QString(), QFont(font().family(), 9)));
    // The legend sits in its own row under the title: inside the axis rect it would hide tall bars.
    placeLegendInRow(m_plot, 1, 3);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->installEventFilter(this);
    m_plot->setMouseTracking(true);
    applyTheme();
    redraw();
}

ChannelPlot::~ChannelPlot() = default;

bool ChannelPlot::setChannelData(const ChannelData& data, QString* error)
{
    m_problem = validate(data);
    if (!m_problem.isEmpty()) {
        if (error) *error = m_problem;
        m_data = {};
        m_data.axisName = data.axisName;
    } else {
        m_data = data;
    }
    recompute();
    redraw();
    return m_problem.isEmpty();
}

void ChannelPlot::setChannels(const std::vector<float>& absmax, const QString& axisName)
{
    setChannelData({absmax, axisName, {}, {}});
}

void ChannelPlot::setOrder(Order order)
{
    m_sort = order;
    recompute();
    redraw();
}

bool ChannelPlot::setFactorThreshold(double k)
{
    if (!std::isfinite(k) || k <= 0) return false;
    m_mode = Threshold::Factor;
    m_factor = k;
    recompute();
    redraw(false); // a new threshold keeps the zoom
    return true;
}

bool ChannelPlot::setTopKThreshold(int k)
{
    if (k < 0) return false;
    m_mode = Threshold::TopK;
    m_topK = k;
    recompute();
    redraw(false); // a new threshold keeps the zoom
    return true;
}

void ChannelPlot::recompute()
{
    const auto& a = m_data.absmax;
    m_median = medianOf(a);
    m_flagged = m_mode == Threshold::Factor ? charts::flagByFactor(a, m_factor) : charts::flagTopK(a, m_topK);
    m_isFlagged.assign(a.size(), 0);
    for (int c : m_flagged) m_isFlagged[size_t(c)] = 1;
    m_isKept.assign(a.size(), 0);
    for (int c : m_data.kept) m_isKept[size_t(c)] = 1;
    if (m_sort == Order::Descending) {
        m_order = charts::sortOrder(a);
    } else {
        m_order.resize(a.size());
        std::iota(m_order.begin(), m_order.end(), 0);
    }
    m_position = charts::inversePermutation(m_order);
    m_barWidth = a.size() <= 100 ? 0.8 : 1.0; // gaps between few bars; none where they would be sub-pixel
}

int ChannelPlot::positionOf(int channel) const
{
    return channel >= 0 && size_t(channel) < m_position.size() ? m_position[size_t(channel)] : -1;
}

void ChannelPlot::redraw(bool resetX)
{
    const auto& a = m_data.absmax;
    double top = 0;
    for (float v : a)
        if (std::isfinite(v)) top = std::max(top, double(v));
    if (top <= 0) top = 1;
    QVector<double> normalKeys, normalValues, flaggedKeys, flaggedValues;
    for (size_t p = 0; p < m_order.size(); ++p) {
        const size_t c = size_t(m_order[p]);
        const double v = std::isnan(a[c]) ? 0.0 : std::isinf(a[c]) ? top : double(a[c]);
        (m_isFlagged[c] ? flaggedKeys : normalKeys) << double(p);
        (m_isFlagged[c] ? flaggedValues : normalValues) << v;
    }
    m_normalBars->setData(normalKeys, normalValues, true);
    m_flaggedBars->setData(flaggedKeys, flaggedValues, true);
    for (QCPBars* bars : {m_normalBars, m_flaggedBars}) bars->setWidth(m_barWidth);
    m_normalBars->setName(QString("channels (%1)").arg(a.size()));
    m_flaggedBars->setName(QString("flagged (%1)").arg(m_flagged.size()));
    drawMarks(top);
    auto* title = static_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0));
    title->setText(titleText());
    if (m_sort == Order::Descending && !a.empty() && a.size() <= size_t(textTickerLimit)) {
        auto ticker = QSharedPointer<QCPAxisTickerText>::create();
        for (size_t p = 0; p < m_order.size(); ++p) ticker->addTick(double(p), QString::number(m_order[p]));
        m_plot->xAxis->setTicker(ticker);
    } else {
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
    QString x = m_data.axisName.isEmpty() ? QString("channel") : m_data.axisName + " channel";
    if (m_sort == Order::Descending)
        x += a.size() <= size_t(textTickerLimit) ? " (sorted by absmax)" : " rank (sorted by absmax, descending)";
    m_plot->xAxis->setLabel(x);
    if (resetX) {
        resetView();
    } else {
        m_plot->yAxis->setRange(0, m_yTop);
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void ChannelPlot::drawMarks(double top)
{
    const auto& a = m_data.absmax;
    QVector<double> keptKeys, keptValues, sparseKeys, sparseValues;
    int sparseTotal = 0, sparseMax = 0;
    for (size_t p = 0; p < m_order.size(); ++p) {
        const size_t c = size_t(m_order[p]);
        const double v = std::isfinite(a[c]) ? double(a[c]) : std::isinf(a[c]) ? top : 0.0;
        if (m_isKept[c]) {
            keptKeys << double(p);
            keptValues << v + 0.04 * top;
        }
        if (!m_data.sparseCounts.empty() && m_data.sparseCounts[c] > 0) {
            sparseKeys << double(p);
            sparseValues << double(m_data.sparseCounts[c]);
            sparseTotal += m_data.sparseCounts[c];
            sparseMax = std::max(sparseMax, m_data.sparseCounts[c]);
        }
    }
    m_keptGraph->setData(keptKeys, keptValues, true);
    m_keptGraph->setName(QString("kept in 16 bit (%1)").arg(keptKeys.size()));
    m_sparseGraph->setData(sparseKeys, sparseValues, true);
    m_sparseGraph->setName(QString("sparse outliers (%1 in %2 channels)").arg(sparseTotal).arg(sparseKeys.size()));
    const bool hasSparse = !m_data.sparseCounts.empty();
    m_plot->yAxis2->setVisible(hasSparse);
    m_plot->yAxis2->setRange(0, std::max(1.0, sparseMax * 1.15));
    const double threshold = m_factor * m_median;
    const bool line = m_mode == Threshold::Factor && m_median > 0 && !a.empty();
    m_thresholdGraph->setData(QVector<double>{-0.5, double(a.size()) - 0.5},
                              QVector<double>{threshold, threshold}, true);
    m_thresholdGraph->setName(QString("%1 x median").arg(m_factor, 0, 'g', 4));
    const std::pair<QCPAbstractPlottable*, bool> entries[] = {
        {m_normalBars, true}, {m_flaggedBars, true}, {m_keptGraph, !m_data.kept.empty()},
        {m_sparseGraph, hasSparse}, {m_thresholdGraph, line}};
    for (auto [plottable, show] : entries) {
        plottable->setVisible(show);
        if (show) plottable->addToLegend();
        else plottable->removeFromLegend();
    }
    m_yTop = std::max(top, line ? threshold : 0.0) * 1.1;
}

QString ChannelPlot::titleText() const
{
    if (!m_problem.isEmpty()) return "cannot show the channels: " + m_problem;
    if (m_data.absmax.empty()) return "no channels";
    const QString rule = m_mode == Threshold::Factor
                             ? QString("absmax > %1 x median %2").arg(m_factor, 0, 'g', 4).arg(m_median, 0, 'g', 4)
                             : QString("top %1 by absmax").arg(m_topK);
    // Two lines: one line is wider than the plot in a narrow window and its ends get cut.
    return QString("%1 of %2 %3 channels flagged\n%4")
        .arg(QString::number(m_flagged.size()), QString::number(m_data.absmax.size()), m_data.axisName, rule);
}

void ChannelPlot::resetView()
{
    const double n = double(m_data.absmax.size());
    m_plot->xAxis->setRange(-0.5, std::max(n - 0.5, 0.5));
    m_plot->yAxis->setRange(0, m_yTop);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int ChannelPlot::channelAtPixel(double x) const
{
    const QCPRange r = m_plot->xAxis->range();
    const charts::LinearMap map{m_plot->xAxis->coordToPixel(r.lower), m_plot->xAxis->coordToPixel(r.upper), r.lower,
                                r.upper};
    const int p = charts::barIndexAt(x, map, int(m_order.size()), m_barWidth);
    return p < 0 ? -1 : m_order[size_t(p)];
}

QString ChannelPlot::tooltipText(int channel) const
{
    if (channel < 0 || size_t(channel) >= m_data.absmax.size()) return {};
    const size_t c = size_t(channel);
    const double v = m_data.absmax[c];
    QString text = QString("%1 channel %2\nabsmax %3")
                       .arg(m_data.axisName, QString::number(channel), QString::number(v, 'g', 6));
    if (m_median > 0) text += QString(" (%1 x median)").arg(v / m_median, 0, 'f', 2);
    if (m_isFlagged[c])
        text += m_mode == Threshold::Factor ? QString("\nflagged: > %1 x median").arg(m_factor, 0, 'g', 4)
                                            : QString("\nflagged: in the top %1").arg(m_topK);
    if (m_isKept[c]) text += "\nkept in 16 bit";
    if (!m_data.sparseCounts.empty()) text += QString("\n%1 sparse outliers").arg(m_data.sparseCounts[c]);
    return text;
}

bool ChannelPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != m_plot) return QWidget::eventFilter(watched, event);
    const auto* me = static_cast<QMouseEvent*>(event);
    switch (event->type()) {
    case QEvent::MouseMove: {
        const int c = m_plot->axisRect()->rect().contains(me->position().toPoint())
                          ? channelAtPixel(me->position().x()) : -1;
        if (c >= 0) QToolTip::showText(me->globalPosition().toPoint(), tooltipText(c), m_plot);
        else QToolTip::hideText();
        break;
    }
    case QEvent::MouseButtonPress: m_pressPos = me->position().toPoint(); break;
    case QEvent::MouseButtonRelease:
        if (me->button() == Qt::LeftButton && (me->position().toPoint() - m_pressPos).manhattanLength() <= 3
            && m_plot->axisRect()->rect().contains(m_pressPos)) {
            const int c = channelAtPixel(me->position().x());
            if (c >= 0) emit channelClicked(c);
        }
        break;
    case QEvent::MouseButtonDblClick: resetView(); break;
    default: break;
    }
    return QWidget::eventFilter(watched, event);
}

void ChannelPlot::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) applyTheme();
    QWidget::changeEvent(event);
}

void ChannelPlot::applyTheme()
{
    const QPalette pal = palette();
    applyPlotPalette(m_plot, pal);
    m_normalBars->setBrush(chartColor(pal, 0));
    m_flaggedBars->setBrush(chartColor(pal, 1));
    m_keptGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangleInverted, chartColor(pal, 2),
                                                 chartColor(pal, 2), 8));
    m_sparseGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, chartColor(pal, 3), 5));
    m_thresholdGraph->setPen(QPen(chartColor(pal, 4), 1.2, Qt::DashLine));
    static_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0))->setTextColor(pal.color(QPalette::WindowText));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool ChannelPlot::exportTo(const QString& path, QString* error, int width, int height)
{
    return exportPlot(m_plot, path, error, width, height);
}

QString ChannelPlot::csvText() const
{
    QString out = "channel,absmax,flagged,kept,sparse\n";
    for (size_t c = 0; c < m_data.absmax.size(); ++c) {
        const QString sparse = m_data.sparseCounts.empty() ? QString() : QString::number(m_data.sparseCounts[c]);
        out += QString("%1,%2,%3,%4,%5\n").arg(c).arg(double(m_data.absmax[c]), 0, 'g', 9)
                   .arg(int(m_isFlagged[c])).arg(int(m_isKept[c])).arg(sparse);
    }
    return out;
}

bool ChannelPlot::exportCsv(const QString& path, QString* error) const
{
    return writeTextFile(path, csvText(), error);
}

} // namespace qs::widgets
