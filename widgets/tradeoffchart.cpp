#include "tradeoffchart.h"

#include "charttheme.h"
#include "plotpalette.h"
#include "histogramplot.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::widgets {

namespace {

constexpr double pickRadius = 8.0; // pixels

QCPScatterStyle::ScatterShape familyShape(int family)
{
    static const QCPScatterStyle::ScatterShape shapes[] = {
        QCPScatterStyle::ssCircle,  QCPScatterStyle::ssSquare,  QCPScatterStyle::ssTriangle,
        QCPScatterStyle::ssDiamond, QCPScatterStyle::ssCross,   QCPScatterStyle::ssPlus,
        QCPScatterStyle::ssStar,    QCPScatterStyle::ssTriangleInverted, QCPScatterStyle::ssCrossSquare,
        QCPScatterStyle::ssPlusCircle};
    return shapes[size_t(family) % std::size(shapes)];
}

QColor familyColor(const QPalette& palette, int family)
{
    static const int hues[] = {210, 20, 125, 280, 45, 330, 175, 0};
    const int hue = hues[size_t(family) % std::size(hues)];
    return QColor::fromHsv(hue, 190, isDarkPalette(palette) ? 245 : 175);
}

QString sqnrText(double db)
{
    if (std::isnan(db)) return "unknown";
    if (std::isinf(db)) return db > 0 ? "+Inf dB (exact)" : "-Inf dB";
    return QString("%1 dB").arg(db, 0, 'f', 2);
}

} // namespace

TradeoffChart::TradeoffChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(320, 220);
    m_referenceGraph = m_plot->addGraph();
    m_frontGraph = m_plot->addGraph();
    m_aGraph = m_plot->addGraph();
    m_bGraph = m_plot->addGraph();
    m_plot->addLayer("rings", m_plot->layer("main"), QCustomPlot::limAbove); // A and B over the markers
    for (QCPGraph* g : {m_aGraph, m_bGraph}) {
        g->setLineStyle(QCPGraph::lsNone);
        g->removeFromLegend();
        g->setLayer("rings");
    }
    m_aLabel = new QCPItemText(m_plot);
    m_bLabel = new QCPItemText(m_plot);
    for (QCPItemText* t : {m_aLabel, m_bLabel}) {
        t->setLayer("rings");
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        t->setPadding(QMargins(9, 0, 0, 7)); // beside the ring, not on the marker
        t->setFont(QFont(font().family(), 10, QFont::Bold));
    }
    m_aLabel->setText("A");
    m_bLabel->setText("B");
    m_exactLine = new QCPItemStraightLine(m_plot);
    m_exactLabel = new QCPItemText(m_plot);
    m_exactLabel->setText("exact (+Inf dB)");
    m_exactLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    m_exactLabel->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    m_exactLabel->setFont(QFont(font().family(), 8));
    m_plot->xAxis->setLabel("bits per weight");
    m_plot->yAxis->setLabel("SQNR (dB)");
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(0, 0, new QCPTextElement(m_plot, QString(), QFont(font().family(), 9)));
    // The legend sits in a column right of the axis rect (inside it hid the high-bit points),
    // at the top, with an empty element under it taking the rest of the height.
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(QFont(font().family(), 8));
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    auto* side = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(1, 1, side);
    m_plot->plotLayout()->setColumnStretchFactor(1, 0.001);
    side->addElement(0, 0, m_plot->legend);
    side->addElement(1, 0, new QCPLayoutElement(m_plot));
    side->setRowStretchFactor(0, 0.001);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->installEventFilter(this);
    m_plot->setMouseTracking(true);
    rebuild();
}

TradeoffChart::~TradeoffChart() = default;

void TradeoffChart::setPoints(const std::vector<charts::TradeoffPoint>& points, const QString& title)
{
    m_points = points;
    m_title = title;
    m_a = m_b = -1;
    rebuild();
}

void TradeoffChart::setSelection(int a, int b)
{
    const int n = int(m_points.size());
    m_a = a >= 0 && a < n ? a : -1;
    m_b = b >= 0 && b < n ? b : -1;
    drawSelection();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool TradeoffChart::setReferenceAnchorBits(double bits)
{
    if (!std::isfinite(bits)) return false;
    m_anchorBits = bits;
    rebuild();
    return true;
}

QCPGraph* TradeoffChart::familyGraph(int family) const
{
    return family >= 0 && size_t(family) < m_familyGraphs.size() ? m_familyGraphs[size_t(family)] : nullptr;
}

double TradeoffChart::displayY(int index) const { return m_display.clamp(m_points[size_t(index)].sqnrDb); }

void TradeoffChart::rebuild()
{
    m_display = charts::sqnrDisplayRange(m_points);
    m_front = charts::paretoFront(m_points);
    m_reference = charts::referenceLine(m_points, m_anchorBits);
    m_families.clear();
    m_familyOf.clear();
    for (const auto& p : m_points) {
        if (!m_families.contains(p.family)) m_families << p.family;
        m_familyOf.push_back(int(m_families.indexOf(p.family)));
    }
    drawFamilies();
    drawFrontAndReference();
    drawSelection();
    auto* title = static_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0));
    title->setText(m_points.empty() ? QString("no schemes")
                                    : QString("%1%2 schemes, %3 on the Pareto front")
                                          .arg(m_title.isEmpty() ? QString() : m_title + ": ")
                                          .arg(m_points.size()).arg(m_front.size()));
    applyTheme();
    resetView();
}

void TradeoffChart::drawFamilies()
{
    for (QCPGraph* g : m_familyGraphs) m_plot->removeGraph(g);
    m_familyGraphs.clear();
    for (int f = 0; f < int(m_families.size()); ++f) {
        QCPGraph* g = m_plot->addGraph();
        g->setLineStyle(QCPGraph::lsNone);
        g->setName(m_families[f].isEmpty() ? QString("(no family)") : m_families[f]);
        QVector<double> keys, values;
        for (size_t i = 0; i < m_points.size(); ++i) {
            if (m_familyOf[i] != f || !std::isfinite(m_points[i].bitsPerWeight) || std::isnan(displayY(int(i))))
                continue;
            keys << m_points[i].bitsPerWeight;
            values << displayY(int(i));
        }
        g->setData(keys, values); // sorted by bits for drawing; points() keeps the caller's order
        m_familyGraphs.push_back(g);
    }
}

void TradeoffChart::drawFrontAndReference()
{
    QVector<double> keys, values;
    for (int i : m_front) {
        keys << m_points[size_t(i)].bitsPerWeight;
        values << displayY(i);
    }
    m_frontGraph->setData(keys, values, true);
    m_frontGraph->setName("Pareto front");
    const bool line = m_reference.anchor >= 0;
    double maxBits = 16;
    for (const auto& p : m_points)
        if (std::isfinite(p.bitsPerWeight)) maxBits = std::max(maxBits, p.bitsPerWeight);
    m_referenceGraph->setData(QVector<double>{0, maxBits + 2},
                              QVector<double>{m_reference.at(0), m_reference.at(maxBits + 2)}, true);
    m_referenceGraph->setVisible(line);
    if (line) {
        m_referenceGraph->setName(QString("6.02 dB/bit through %1").arg(m_points[size_t(m_reference.anchor)].scheme));
        m_referenceGraph->addToLegend();
    } else {
        m_referenceGraph->removeFromLegend();
    }
    const bool exact = std::any_of(m_points.begin(), m_points.end(),
                                   [](const auto& p) { return std::isinf(p.sqnrDb) && p.sqnrDb > 0; });
    m_exactLine->setVisible(exact);
    m_exactLabel->setVisible(exact);
    m_exactLine->point1->setCoords(0, m_display.ceiling);
    m_exactLine->point2->setCoords(1, m_display.ceiling);
    m_exactLabel->position->setCoords(0.01, m_display.ceiling);
}

void TradeoffChart::drawSelection()
{
    const std::pair<QCPGraph*, int> rings[] = {{m_aGraph, m_a}, {m_bGraph, m_b}};
    QCPItemText* labels[] = {m_aLabel, m_bLabel};
    for (int r = 0; r < 2; ++r) {
        auto [graph, index] = rings[r];
        const bool shown = index >= 0 && std::isfinite(m_points[size_t(index)].bitsPerWeight)
                           && !std::isnan(displayY(index));
        QVector<double> keys, values;
        if (shown) {
            keys << m_points[size_t(index)].bitsPerWeight;
            values << displayY(index);
            labels[r]->position->setCoords(keys[0], values[0]);
        }
        graph->setData(keys, values, true);
        labels[r]->setVisible(shown);
    }
}

void TradeoffChart::resetView()
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, ylo = lo, yhi = -lo;
    for (size_t i = 0; i < m_points.size(); ++i) {
        const double b = m_points[i].bitsPerWeight, y = displayY(int(i));
        if (!std::isfinite(b) || std::isnan(y)) continue;
        lo = std::min(lo, b), hi = std::max(hi, b), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
    if (lo > hi) {
        lo = 0, hi = 16, ylo = 0, yhi = 100;
    }
    const double ypad = std::max(2.0, (yhi - ylo) * 0.06);
    m_plot->xAxis->setRange(std::max(0.0, lo - 0.6), hi + 0.6);
    m_plot->yAxis->setRange(ylo - ypad, yhi + 1.5 * ypad);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QPointF TradeoffChart::pixelOf(int index) const
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    if (index < 0 || size_t(index) >= m_points.size()) return {nan, nan};
    const double b = m_points[size_t(index)].bitsPerWeight, y = displayY(index);
    if (!std::isfinite(b) || std::isnan(y)) return {nan, nan};
    return {m_plot->xAxis->coordToPixel(b), m_plot->yAxis->coordToPixel(y)};
}

int TradeoffChart::pointAtPixel(double x, double y) const
{
    std::vector<double> xs, ys;
    for (size_t i = 0; i < m_points.size(); ++i) {
        const QPointF p = pixelOf(int(i));
        xs.push_back(p.x());
        ys.push_back(p.y());
    }
    return charts::nearestPoint(xs, ys, x, y, pickRadius);
}

QString TradeoffChart::tooltipText(int index) const
{
    if (index < 0 || size_t(index) >= m_points.size()) return {};
    const auto& p = m_points[size_t(index)];
    // One multi-argument arg() so that a '%' in a scheme name is never substituted.
    QString text = QString("%1 (%2)\n%3 bits per weight\nSQNR %4")
                       .arg(p.scheme, p.family, QString::number(p.bitsPerWeight, 'f', 3), sqnrText(p.sqnrDb));
    if (m_reference.anchor >= 0 && std::isfinite(p.sqnrDb) && std::isfinite(p.bitsPerWeight))
        text += QString("\n%1 dB against the 6.02 dB/bit line").arg(p.sqnrDb - m_reference.at(p.bitsPerWeight), 0, 'f', 2);
    if (std::find(m_front.begin(), m_front.end(), index) != m_front.end()) text += "\non the Pareto front";
    if (index == m_a) text += "\nA";
    if (index == m_b) text += "\nB";
    return text;
}

bool TradeoffChart::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != m_plot) return QWidget::eventFilter(watched, event);
    const auto* me = static_cast<QMouseEvent*>(event);
    switch (event->type()) {
    case QEvent::MouseMove: {
        const int i = pointAtPixel(me->position().x(), me->position().y());
        if (i >= 0) QToolTip::showText(me->globalPosition().toPoint(), tooltipText(i), m_plot);
        else QToolTip::hideText();
        break;
    }
    case QEvent::MouseButtonPress: m_pressPos = me->position().toPoint(); break;
    case QEvent::MouseButtonRelease:
        if (me->button() == Qt::LeftButton && (me->position().toPoint() - m_pressPos).manhattanLength() <= 3) {
            const int i = pointAtPixel(me->position().x(), me->position().y());
            if (i >= 0) emit pointClicked(i);
        }
        break;
    case QEvent::MouseButtonDblClick: resetView(); break;
    default: break;
    }
    return QWidget::eventFilter(watched, event);
}

void TradeoffChart::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) applyTheme();
    QWidget::changeEvent(event);
}

void TradeoffChart::applyTheme()
{
    const QPalette pal = palette();
    applyPlotPalette(m_plot, pal);
    for (size_t f = 0; f < m_familyGraphs.size(); ++f) {
        const QColor c = familyColor(pal, int(f));
        m_familyGraphs[f]->setScatterStyle(QCPScatterStyle(familyShape(int(f)), QPen(c, 1.6), Qt::NoBrush, 9));
    }
    m_frontGraph->setPen(QPen(chartColor(pal, 1), 1.4, Qt::DashLine));
    m_referenceGraph->setPen(QPen(chartColor(pal, 4), 1.2, Qt::DashDotLine));
    m_aGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(chartColor(pal, 2), 2.5), Qt::NoBrush, 20));
    m_bGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(chartColor(pal, 3), 2.5), Qt::NoBrush, 20));
    m_aLabel->setColor(chartColor(pal, 2));
    m_bLabel->setColor(chartColor(pal, 3));
    m_exactLine->setPen(QPen(chartColor(pal, 4), 1, Qt::DotLine));
    m_exactLabel->setColor(chartColor(pal, 4));
    static_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0))->setTextColor(pal.color(QPalette::WindowText));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool TradeoffChart::exportTo(const QString& path, QString* error, int width, int height)
{
    return exportPlot(m_plot, path, error, width, height);
}

QString TradeoffChart::csvText() const
{
    QString out = "index,scheme,family,bits_per_weight,sqnr_db,reference_sqnr_db,pareto,selected\n";
    for (size_t i = 0; i < m_points.size(); ++i) {
        const auto& p = m_points[i];
        const bool front = std::find(m_front.begin(), m_front.end(), int(i)) != m_front.end();
        const QString reference = m_reference.anchor >= 0 && std::isfinite(p.bitsPerWeight)
                                      ? QString::number(m_reference.at(p.bitsPerWeight), 'g', 10) : QString();
        QString selected = int(i) == m_a ? "A" : "";
        if (int(i) == m_b) selected += "B";
        const QStringList fields{QString::number(i), charts::delimitedField(p.scheme, ','),
                                 charts::delimitedField(p.family, ','), QString::number(p.bitsPerWeight, 'g', QLocale::FloatingPointShortest),
                                 QString::number(p.sqnrDb, 'g', QLocale::FloatingPointShortest), reference, QString::number(int(front)), selected};
        out += fields.join(',') + '\n';
    }
    return out;
}

bool TradeoffChart::exportCsv(const QString& path, QString* error) const
{
    return writeTextFile(path, csvText(), error);
}

} // namespace qs::widgets
