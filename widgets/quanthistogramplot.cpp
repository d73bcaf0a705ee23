#include "quanthistogramplot.h"

#include "histogramplot.h" // exportPlot
#include "plotpalette.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::widgets {

namespace {

const QColor kWeightsColor(40, 100, 190);
const QColor kDequantColor(235, 125, 20);
const QColor kClipColor(205, 45, 45);
constexpr double kHoverLevelPixels = 3.0;

QString num(double v) { return QString::number(v, 'g', 6); }

QCPItemStraightLine* verticalLine(QCustomPlot* plot, const QString& layer)
{
    auto* line = new QCPItemStraightLine(plot);
    line->setLayer(layer);
    line->point1->setCoords(0, 0);
    line->point2->setCoords(0, 1);
    return line;
}

/// Adds or removes a legend entry only on a change, keeping the entries' order and styling.
void showInLegend(QCustomPlot* plot, QCPGraph* key, bool show)
{
    const bool listed = plot->legend->hasItemWithPlottable(key);
    if (show && !listed) key->addToLegend();
    else if (!show && listed) key->removeFromLegend();
}

void setLineX(QCPItemStraightLine* line, double x)
{
    line->point1->setCoords(x, 0);
    line->point2->setCoords(x, 1);
}

/// A band spanning the axis rect's height from x = a to x = b; a NaN end means that edge of the
/// axis rect.
QCPItemRect* band(QCustomPlot* plot)
{
    auto* r = new QCPItemRect(plot);
    r->setLayer("grid");
    for (QCPItemPosition* p : {r->topLeft, r->bottomRight}) {
        p->setAxes(plot->xAxis, plot->yAxis);
        p->setAxisRect(plot->axisRect());
        p->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    r->topLeft->setCoords(0, 0);
    r->bottomRight->setCoords(0, 1);
    r->setPen(Qt::NoPen);
    r->setBrush(QColor(kClipColor.red(), kClipColor.green(), kClipColor.blue(), 36));
    return r;
}

/// setTypeX converts the coordinates to keep the pixel position, which is garbage before the
/// first layout, so both coordinates are set afresh (y: 0 = top, 1 = bottom of the axis rect).
void setBandX(QCPItemPosition* p, double x, bool axisEdge, double yRatio)
{
    p->setTypeX(axisEdge ? QCPItemPosition::ptAxisRectRatio : QCPItemPosition::ptPlotCoords);
    p->setCoords(x, yRatio);
}

} // namespace

QuantHistogramPlot::QuantHistogramPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(300, 200);
    m_plot->plotLayout()->insertRow(0);
    m_title = new QCPTextElement(m_plot, QString(), QFont(font().family(), 9));
    m_plot->plotLayout()->addElement(0, 0, m_title);

    m_weightsGraph = m_plot->addGraph();
    m_weightsGraph->setLineStyle(QCPGraph::lsStepLeft);
    m_weightsGraph->setPen(QPen(kWeightsColor, 1.2));
    m_weightsGraph->setBrush(QColor(kWeightsColor.red(), kWeightsColor.green(), kWeightsColor.blue(), 90));
    m_dequantGraph = m_plot->addGraph();
    m_dequantGraph->setLineStyle(QCPGraph::lsStepLeft);
    m_dequantGraph->setPen(QPen(kDequantColor, 1.2));
    m_dequantGraph->setBrush(QColor(kDequantColor.red(), kDequantColor.green(), kDequantColor.blue(), 110));
    m_dequantGraph->setName("dequantized");
    m_levelsKey = m_plot->addGraph();
    m_clipKey = m_plot->addGraph();
    m_clipKey->setPen(QPen(kClipColor, 1.2, Qt::DashLine));

    m_clipBands[0] = band(m_plot);
    m_clipBands[1] = band(m_plot);
    for (auto*& line : m_clipLines) {
        line = verticalLine(m_plot, "main");
        line->setPen(QPen(kClipColor, 1.2, Qt::DashLine));
    }

    // The legend sits in its own row above the axis rect: inside it would hide the bars of a
    // narrow dock.
    placeLegendInRow(m_plot, m_plot->plotLayout()->rowCount() - 1, 2); // above the axis rect
    m_plot->xAxis->setLabel("value");
    m_plot->yAxis->setLabel("count");
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->installEventFilter(this);
    m_plot->setMouseTracking(true);
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this](const QCPRange& r) {
        rebinView();
        emit viewRangeChanged(r.lower, r.upper);
    });
    // The bin count and line cap follow the axis rect's width, known after layout.
    connect(m_plot, &QCustomPlot::afterLayout, this, [this] {
        if (!m_data.weights.empty() && viewmath::binsForWidth(m_plot->axisRect()->width()) != m_bins.weights.bins()) {
            rebinView();
        } else {
            updateLevelLines();
            updateTexts();
        }
    });
    applyPalette();
    clear();
}

QuantHistogramPlot::~QuantHistogramPlot() = default;

void QuantHistogramPlot::setData(QuantHistogramData data)
{
    m_data = std::move(data);
    m_sortedLevels = viewmath::visibleLines({m_data.levels.begin(), m_data.levels.end()}, -INFINITY, INFINITY,
                                            int(m_data.levels.size()) + 1)
                         .values;
    m_clipped = hasClipRange() ? viewmath::countOutside(m_data.weights, m_data.clipLo, m_data.clipHi) : 0;
    resetView();
}

void QuantHistogramPlot::clear() { setData({}); }

bool QuantHistogramPlot::hasClipRange() const
{
    return std::isfinite(m_data.clipLo) && std::isfinite(m_data.clipHi) && m_data.clipHi > m_data.clipLo;
}

void QuantHistogramPlot::resetView()
{
    const auto r = viewmath::histogramRange(m_data.weights, m_data.dequant, m_data.levels);
    setViewRange(r.lo, r.hi);
}

void QuantHistogramPlot::setViewRange(double lo, double hi)
{
    // rangeChanged is only emitted for a change; rebin in any case (the data may be new).
    const QCPRange before = m_plot->xAxis->range();
    m_plot->xAxis->setRange(lo, hi);
    if (m_plot->xAxis->range() == before) {
        rebinView();
        emit viewRangeChanged(lo, hi);
    }
}

void QuantHistogramPlot::setLogCounts(bool log)
{
    m_log = log;
    m_plot->yAxis->setScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    rebinView();
}

void QuantHistogramPlot::rebinView()
{
    const QCPRange r = m_plot->xAxis->range();
    const int width = m_plot->axisRect()->width();
    m_bins = viewmath::rebin(m_data.weights, m_data.dequant, r.lower, r.upper,
                             m_data.weights.empty() && m_data.dequant.empty() ? 0 : viewmath::binsForWidth(width));
    double topWeights = 0, topDequant = 0;
    for (auto [series, bins, top] : {std::tuple{m_weightsGraph, &m_bins.weights, &topWeights},
                                     std::tuple{m_dequantGraph, &m_bins.dequant, &topDequant}}) {
        QVector<double> keys, values;
        for (int i = 0; i < bins->bins(); ++i) {
            // Log axes cannot show 0: an empty bin sits at 0.5, below the first tick.
            const double c = double(bins->counts[size_t(i)]);
            keys << bins->edge(i);
            values << (m_log && c == 0 ? 0.5 : c);
            *top = std::max(*top, c);
        }
        if (bins->bins() > 0) { // close the last step at the upper edge
            keys << bins->edge(bins->bins());
            values << values.back();
        }
        series->setData(keys, values, true);
    }
    // Linear: fit the float histogram; the spikes, which gather a level's weights in one bin,
    // may run past the top (hover and CSV give their counts). Log: fit both.
    const double top = std::max(m_log || topWeights == 0 ? std::max(topWeights, topDequant) : topWeights, 1.0);
    m_plot->yAxis->setRange(m_log ? 0.5 : 0, m_log ? top * 2 : top * 1.08);
    updateLevelLines();
    updateClipItems();
    updateTexts();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void QuantHistogramPlot::updateLevelLines()
{
    const QCPRange r = m_plot->xAxis->range();
    const int maxLines = std::max(1, m_plot->axisRect()->width() / pixelsPerLevelLine);
    m_lines = viewmath::visibleLines(m_sortedLevels, r.lower, r.upper, maxLines);
    while (m_levelItems.size() > m_lines.values.size()) {
        m_plot->removeItem(m_levelItems.back());
        m_levelItems.pop_back();
    }
    while (m_levelItems.size() < m_lines.values.size()) m_levelItems.push_back(verticalLine(m_plot, "grid"));
    QColor c = palette().color(QPalette::Text);
    c.setAlpha(m_lines.thinned() ? 60 : 110);
    for (size_t i = 0; i < m_levelItems.size(); ++i) {
        m_levelItems[i]->setPen(QPen(c, 0));
        setLineX(m_levelItems[i], m_lines.values[i]);
    }
    m_levelsKey->setPen(QPen(c, 1));
}

void QuantHistogramPlot::updateClipItems()
{
    const bool on = hasClipRange();
    for (int i = 0; i < 2; ++i) {
        m_clipLines[i]->setVisible(on);
        m_clipBands[i]->setVisible(on);
    }
    showInLegend(m_plot, m_clipKey, on);
    if (!on) return;
    setLineX(m_clipLines[0], m_data.clipLo);
    setLineX(m_clipLines[1], m_data.clipHi);
    // Left band: axis rect's left edge to clipLo; right band: clipHi to the right edge. A band
    // whose clip end is off screen is clipped away with the axis rect.
    setBandX(m_clipBands[0]->topLeft, 0, true, 0);
    setBandX(m_clipBands[0]->bottomRight, m_data.clipLo, false, 1);
    setBandX(m_clipBands[1]->topLeft, m_data.clipHi, false, 0);
    setBandX(m_clipBands[1]->bottomRight, 1, true, 1);
}

void QuantHistogramPlot::updateTexts()
{
    const size_t n = m_data.weights.size();
    QString title = m_data.title;
    if (hasClipRange() && n > 0) {
        const QString clip = QString("%1 of %2 weights clipped (%3%)")
                                 .arg(m_clipped).arg(n).arg(100.0 * double(m_clipped) / double(n), 0, 'g', 3);
        title = title.isEmpty() ? clip : title + " \u2014 " + clip;
    }
    m_title->setText(title);
    m_weightsGraph->setName(QString("float weights (%1)").arg(n));
    QString levels = QString("levels: %1").arg(m_sortedLevels.size());
    if (m_lines.thinned()) levels += QString(", 1 in %1 drawn").arg(m_lines.stride);
    m_levelsKey->setName(levels);
    showInLegend(m_plot, m_levelsKey, !m_sortedLevels.empty());
    m_clipKey->setName(QString("clip [%1, %2]: %3 clipped").arg(num(m_data.clipLo), num(m_data.clipHi)).arg(m_clipped));
}

QString QuantHistogramPlot::titleText() const { return m_title->text(); }

viewmath::AxisMap QuantHistogramPlot::xMap() const
{
    const QCPRange r = m_plot->xAxis->range();
    const QRect rect = m_plot->axisRect()->rect();
    return {r.lower, r.upper, double(rect.left()), double(rect.left() + rect.width())};
}

double QuantHistogramPlot::pixelOf(double x) const { return xMap().toPixel(x); }
double QuantHistogramPlot::valueAt(double pixelX) const { return xMap().toValue(pixelX); }

QString QuantHistogramPlot::hoverText(double pixelX) const
{
    const viewmath::AxisMap map = xMap();
    const double x = map.toValue(pixelX);
    if (!(x >= map.valueLo && x <= map.valueHi)) return {}; // off the axis rect
    const int level = viewmath::nearestLevel(m_sortedLevels, x, kHoverLevelPixels * map.valuePerPixel());
    if (level >= 0)
        return QString("level %1 of %2: %3").arg(level + 1).arg(m_sortedLevels.size()).arg(num(m_sortedLevels[size_t(level)]));
    const int bin = viewmath::binOf(x, m_bins.weights.lo, m_bins.weights.hi, m_bins.weights.bins());
    if (bin < 0) return {};
    const bool last = bin == m_bins.weights.bins() - 1;
    return QString("[%1, %2%3\nfloat: %4\ndequantized: %5")
        .arg(num(m_bins.weights.edge(bin)), num(m_bins.weights.edge(bin + 1)), last ? "]" : ")")
        .arg(m_bins.weights.counts[size_t(bin)])
        .arg(m_bins.dequant.counts[size_t(bin)]);
}

bool QuantHistogramPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_plot && event->type() == QEvent::MouseMove) {
        const auto* me = static_cast<QMouseEvent*>(event);
        const QString text = hoverText(me->position().x());
        if (!text.isEmpty()) QToolTip::showText(me->globalPosition().toPoint(), text, m_plot);
        else QToolTip::hideText();
    } else if (watched == m_plot && event->type() == QEvent::MouseButtonDblClick) {
        resetView();
    }
    return QWidget::eventFilter(watched, event);
}

void QuantHistogramPlot::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) applyPalette();
    QWidget::changeEvent(event);
}

void QuantHistogramPlot::applyPalette()
{
    applyPlotPalette(m_plot, palette());
    updateLevelLines();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool QuantHistogramPlot::exportTo(const QString& path, QString* error, int width, int height)
{
    return exportPlot(m_plot, path, error, width, height);
}

bool QuantHistogramPlot::exportCsv(const QString& path, QString* error) const
{
    QString out = "bin_lo,bin_hi,float_count,dequant_count\n";
    for (int i = 0; i < m_bins.weights.bins(); ++i)
        out += QString("%1,%2,%3,%4\n")
                   .arg(QString::number(m_bins.weights.edge(i), 'g', 9), QString::number(m_bins.weights.edge(i + 1), 'g', 9))
                   .arg(m_bins.weights.counts[size_t(i)])
                   .arg(m_bins.dequant.counts[size_t(i)]);
    out += "\nlevel\n";
    for (double l : m_sortedLevels) out += QString::number(l, 'g', 9) + "\n";
    return writeTextFile(path, out, error);
}

} // namespace qs::widgets
