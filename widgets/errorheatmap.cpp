#include "errorheatmap.h"

#include "histogramplot.h" // exportPlot
#include "plotpalette.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::widgets {

namespace {

constexpr int kViewSettleMs = 150;
constexpr int kClickSlopPixels = 3;
constexpr int kPixelsPerGroupLine = 4;

QCPColorGradient sequentialGradient()
{
    // A viridis-like ramp: dark violet (no error) to yellow (largest), monotone in lightness.
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(68, 1, 84));
    g.setColorStopAt(0.25, QColor(59, 82, 139));
    g.setColorStopAt(0.5, QColor(33, 145, 140));
    g.setColorStopAt(0.75, QColor(94, 201, 98));
    g.setColorStopAt(1.0, QColor(253, 231, 37));
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(QColor(128, 128, 128));
    return g;
}

QCPColorGradient divergingGradient()
{
    // Blue (negative: q above w) through near-white at 0 to red (positive: q below w).
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(33, 102, 172));
    g.setColorStopAt(0.5, QColor(247, 247, 247));
    g.setColorStopAt(1.0, QColor(178, 24, 43));
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(QColor(128, 128, 128));
    return g;
}

QString num(double v, int digits = 6) { return std::isnan(v) ? QString("nan") : QString::number(v, 'g', digits); }

} // namespace

ErrorHeatmap::ErrorHeatmap(QWidget* parent)
    : QWidget(parent), m_plot(new QCustomPlot(this)), m_viewTimer(new QTimer(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(300, 240);
    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_scale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_map->setColorScale(m_scale);
    auto* margins = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_plot->yAxis->setRangeReversed(true); // row 0 at the top, as a matrix is written
    m_plot->xAxis->setLabel("column (input)");
    m_plot->yAxis->setLabel("row (output)");
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
    m_plot->installEventFilter(this);
    m_plot->setMouseTracking(true);
    m_viewTimer->setSingleShot(true);
    m_viewTimer->setInterval(kViewSettleMs);
    connect(m_viewTimer, &QTimer::timeout, this, &ErrorHeatmap::checkView);
    // Group-line thinning follows the axis rect's width, known after layout.
    connect(m_plot, &QCustomPlot::afterLayout, this, &ErrorHeatmap::updateGroupLines);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis})
        connect(axis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
            updateGroupLines();
            m_viewTimer->start();
        });
    applyPalette();
    clear();
}

ErrorHeatmap::~ErrorHeatmap() = default;

bool ErrorHeatmap::validate(const HeatmapData& d, QString* error) const
{
    QString why;
    const int64_t wr = d.rowHi - d.rowLo, wc = d.colHi - d.colLo;
    if (d.rows <= 0 || d.cols <= 0)
        why = QString("matrix size %1 x %2 is empty").arg(d.rows).arg(d.cols);
    else if (d.rowLo < 0 || d.colLo < 0 || wr <= 0 || wc <= 0 || d.rowHi > d.rows || d.colHi > d.cols)
        why = QString("window rows [%1, %2) x columns [%3, %4) is not inside the %5 x %6 matrix")
                  .arg(d.rowLo).arg(d.rowHi).arg(d.colLo).arg(d.colHi).arg(d.rows).arg(d.cols);
    else if (d.gridRows < 1 || d.gridCols < 1 || d.gridRows > wr || d.gridCols > wc)
        why = QString("map grid %1 x %2 does not fit the %3 x %4 window (1 to the window size per axis)")
                  .arg(d.gridRows).arg(d.gridCols).arg(wr).arg(wc);
    else if (int64_t(d.cells.size()) != d.gridRows * d.gridCols)
        why = QString("%1 cells given for a %2 x %3 map").arg(d.cells.size()).arg(d.gridRows).arg(d.gridCols);
    if (why.isEmpty()) return true;
    if (error) *error = "error heatmap: " + why;
    return false;
}

bool ErrorHeatmap::setData(HeatmapData data, QString* error)
{
    if (data.rowHi == 0) data.rowHi = data.rows;
    if (data.colHi == 0) data.colHi = data.cols;
    if (!validate(data, error)) return false;
    const bool newMatrix = data.rows != m_data.rows || data.cols != m_data.cols;
    m_data = std::move(data);
    fillMap();
    if (newMatrix) resetView();
    updateGroupLines();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    return true;
}

void ErrorHeatmap::clear()
{
    m_data = {};
    m_map->data()->clear();
    updateGroupLines();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ErrorHeatmap::fillMap()
{
    const HeatmapData& d = m_data;
    m_colorRange = viewmath::colorRange(d.cells, d.signedValues);
    const auto rowsDrawn = viewmath::drawnCells(windowRows(), d.gridRows);
    const auto colsDrawn = viewmath::drawnCells(windowCols(), d.gridCols);
    const int nx = int(colsDrawn.size()), ny = int(rowsDrawn.size());
    // QCPColorMapData's range names the centres of the first and last image cells.
    const double cw = double(windowCols()) / nx, rh = double(windowRows()) / ny;
    m_map->data()->setSize(nx, ny);
    m_map->data()->setRange(QCPRange(d.colLo + cw / 2, d.colHi - cw / 2), QCPRange(d.rowLo + rh / 2, d.rowHi - rh / 2));
    for (int y = 0; y < ny; ++y) {
        const float* row = d.cells.data() + rowsDrawn[size_t(y)] * d.gridCols;
        for (int x = 0; x < nx; ++x) {
            double v = row[colsDrawn[size_t(x)]];
            // +-Inf would overflow the gradient's index: draw it as the end of the scale.
            if (std::isinf(v)) v = v > 0 ? m_colorRange.hi : m_colorRange.lo;
            m_map->data()->setCell(x, y, v);
        }
    }
    m_map->setGradient(d.signedValues ? divergingGradient() : sequentialGradient());
    m_map->setDataRange(QCPRange(m_colorRange.lo, m_colorRange.hi));
    m_scale->axis()->setLabel(d.kind);
}

void ErrorHeatmap::resetView()
{
    if (m_data.rows <= 0) return;
    setView(0, double(m_data.rows), 0, double(m_data.cols));
}

void ErrorHeatmap::setView(double rowLo, double rowHi, double colLo, double colHi)
{
    m_plot->xAxis->setRange(colLo, colHi);
    m_plot->yAxis->setRange(rowLo, rowHi);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ErrorHeatmap::setGroupLinesVisible(bool visible)
{
    m_groupLinesVisible = visible;
    updateGroupLines();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int ErrorHeatmap::groupLineCount() const
{
    return int(std::count_if(m_groupItems.begin(), m_groupItems.end(), [](auto* l) { return l->visible(); }));
}

void ErrorHeatmap::updateGroupLines()
{
    std::vector<double> bounds;
    if (m_groupLinesVisible)
        for (int64_t c : m_data.groupColumns)
            if (c > 0 && c < m_data.cols) bounds.push_back(double(c));
    const QCPRange r = m_plot->xAxis->range();
    const auto lines = viewmath::visibleLines(std::move(bounds), r.lower, r.upper,
                                              std::max(1, m_plot->axisRect()->width() / kPixelsPerGroupLine));
    while (m_groupItems.size() < lines.values.size()) {
        auto* line = new QCPItemStraightLine(m_plot);
        QColor c = palette().color(QPalette::Text);
        c.setAlpha(150);
        line->setPen(QPen(c, 0, Qt::DashLine));
        m_groupItems.push_back(line);
    }
    for (size_t i = 0; i < m_groupItems.size(); ++i) {
        const bool on = i < lines.values.size();
        m_groupItems[i]->setVisible(on);
        if (!on) continue;
        m_groupItems[i]->point1->setCoords(lines.values[i], 0);
        m_groupItems[i]->point2->setCoords(lines.values[i], 1);
    }
}

viewmath::AxisMap ErrorHeatmap::xMap() const
{
    const QCPRange r = m_plot->xAxis->range();
    const QRect rect = m_plot->axisRect()->rect();
    return {r.lower, r.upper, double(rect.left()), double(rect.left() + rect.width())};
}

viewmath::AxisMap ErrorHeatmap::yMap() const
{
    // The y axis runs reversed: its lower value sits at the top of the axis rect.
    const QCPRange r = m_plot->yAxis->range();
    const QRect rect = m_plot->axisRect()->rect();
    return {r.lower, r.upper, double(rect.top()), double(rect.top() + rect.height())};
}

viewmath::CellIndex ErrorHeatmap::elementAt(QPointF p) const
{
    const int64_t r = viewmath::elementAt(yMap().toValue(p.y()), m_data.rows);
    const int64_t c = viewmath::elementAt(xMap().toValue(p.x()), m_data.cols);
    if (r < 0 || c < 0) return {};
    return {r, c};
}

QPointF ErrorHeatmap::pixelOfElement(int64_t r, int64_t c) const
{
    return {xMap().toPixel(double(c) + 0.5), yMap().toPixel(double(r) + 0.5)};
}

float ErrorHeatmap::valueAt(int64_t r, int64_t c) const
{
    const auto cell = viewmath::cellOfElement(r - m_data.rowLo, c - m_data.colLo, windowRows(), windowCols(),
                                              m_data.gridRows, m_data.gridCols);
    if (!cell.valid()) return NAN;
    return m_data.cells[size_t(cell.row * m_data.gridCols + cell.col)];
}

QString ErrorHeatmap::hoverText(QPointF p) const
{
    const auto e = elementAt(p);
    if (!e.valid()) return {};
    QString text = QString("element (%1, %2)").arg(e.row).arg(e.col);
    const auto cell = viewmath::cellOfElement(e.row - m_data.rowLo, e.col - m_data.colLo, windowRows(), windowCols(),
                                              m_data.gridRows, m_data.gridCols);
    if (cell.valid()) {
        const auto range = viewmath::elementRangeOfCell(cell.row, cell.col, windowRows(), windowCols(),
                                                        m_data.gridRows, m_data.gridCols);
        const bool single = range.rowHi - range.rowLo == 1 && range.colHi - range.colLo == 1;
        text += QString("\n%1 = %2").arg(m_data.kind, num(valueAt(e.row, e.col)));
        if (!single)
            text += QString(" (pooled over rows [%1, %2) x columns [%3, %4))")
                        .arg(range.rowLo + m_data.rowLo).arg(range.rowHi + m_data.rowLo)
                        .arg(range.colLo + m_data.colLo).arg(range.colHi + m_data.colLo);
    } else {
        text += "\n(outside the current map)";
    }
    if (elementInfo) {
        const QString info = elementInfo(e.row, e.col);
        if (!info.isEmpty()) text += "\n" + info;
    }
    return text;
}

QSize ErrorHeatmap::viewPixels() const { return m_plot->axisRect()->rect().size(); }

void ErrorHeatmap::checkView()
{
    if (m_data.rows <= 0) return;
    const QCPRange xr = m_plot->xAxis->range(), yr = m_plot->yAxis->range();
    // Only the part of the view over the matrix matters.
    const double x0 = std::max(xr.lower, 0.0), x1 = std::min(xr.upper, double(m_data.cols));
    const double y0 = std::max(yr.lower, 0.0), y1 = std::min(yr.upper, double(m_data.rows));
    const QSize px = viewPixels();
    const int wx = int(px.width() * (x1 - x0) / xr.size()), wy = int(px.height() * (y1 - y0) / yr.size());
    const bool finer = viewmath::wantsFinerMap(x0, x1, wx, m_data.colLo, m_data.colHi, m_data.gridCols) ||
                       viewmath::wantsFinerMap(y0, y1, wy, m_data.rowLo, m_data.rowHi, m_data.gridRows);
    if (!finer) return;
    const auto rows = viewmath::visibleElements(y0, y1, m_data.rows);
    const auto cols = viewmath::visibleElements(x0, x1, m_data.cols);
    const int64_t window[4] = {rows.lo, rows.hi, cols.lo, cols.hi};
    if (rows.hi <= rows.lo || cols.hi <= cols.lo || std::equal(window, window + 4, m_lastEmitted)) return;
    std::copy(window, window + 4, m_lastEmitted);
    emit viewChanged(rows.lo, rows.hi, cols.lo, cols.hi);
}

bool ErrorHeatmap::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != m_plot) return QWidget::eventFilter(watched, event);
    const auto* me = static_cast<QMouseEvent*>(event);
    switch (event->type()) {
    case QEvent::MouseMove: {
        const QString text = hoverText(me->position());
        if (!text.isEmpty()) QToolTip::showText(me->globalPosition().toPoint(), text, m_plot);
        else QToolTip::hideText();
        break;
    }
    case QEvent::MouseButtonPress:
        m_pressPos = me->position();
        break;
    case QEvent::MouseButtonRelease:
        if (me->button() == Qt::LeftButton && (me->position() - m_pressPos).manhattanLength() <= kClickSlopPixels) {
            const auto e = elementAt(me->position());
            if (e.valid()) emit elementClicked(e.row, e.col);
        }
        break;
    case QEvent::MouseButtonDblClick:
        resetView();
        break;
    default:
        break;
    }
    return QWidget::eventFilter(watched, event);
}

void ErrorHeatmap::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) applyPalette();
    QWidget::changeEvent(event);
}

void ErrorHeatmap::applyPalette()
{
    applyPlotPalette(m_plot, palette());
    const QColor text = palette().color(QPalette::Text);
    QCPAxis* axis = m_scale->axis();
    axis->setBasePen(QPen(text));
    axis->setTickPen(QPen(text));
    axis->setSubTickPen(QPen(text));
    axis->setLabelColor(text);
    axis->setTickLabelColor(text);
    QColor line = text;
    line.setAlpha(150);
    for (auto* item : m_groupItems) item->setPen(QPen(line, 0, Qt::DashLine));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool ErrorHeatmap::exportTo(const QString& path, QString* error, int width, int height)
{
    return exportPlot(m_plot, path, error, width, height);
}

bool ErrorHeatmap::exportCsv(const QString& path, QString* error) const
{
    QString out = "row_lo,row_hi,col_lo,col_hi,value\n";
    for (int64_t i = 0; i < m_data.gridRows; ++i)
        for (int64_t j = 0; j < m_data.gridCols; ++j) {
            const auto r = viewmath::elementRangeOfCell(i, j, windowRows(), windowCols(), m_data.gridRows, m_data.gridCols);
            out += QString("%1,%2,%3,%4,%5\n")
                       .arg(r.rowLo + m_data.rowLo).arg(r.rowHi + m_data.rowLo)
                       .arg(r.colLo + m_data.colLo).arg(r.colHi + m_data.colLo)
                       .arg(num(m_data.cells[size_t(i * m_data.gridCols + j)], 9));
        }
    return writeTextFile(path, out, error);
}

} // namespace qs::widgets
