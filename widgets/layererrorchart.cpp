#include "layererrorchart.h"

#include "charttheme.h"
#include "plotpalette.h"

#include <qcustomplot.h>

#include <QHelpEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::widgets {

LayerErrorChart::LayerErrorChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(260, 180);
    m_plot->plotLayout()->insertRow(0);
    m_title = new QCPTextElement(m_plot, QString(), QFont(font().family(), 9));
    m_plot->plotLayout()->addElement(0, 0, m_title);
    m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_bars->setWidth(0.7);
    m_average = new QCPItemStraightLine(m_plot);
    m_average->setVisible(false);
    m_plot->yAxis->setLabel(tr("SQNR (dB)"));
    m_plot->xAxis->setTickLabelRotation(60);
    m_plot->installEventFilter(this);
    applyTheme();
    clear();
}

LayerErrorChart::~LayerErrorChart() = default;

void LayerErrorChart::clear()
{
    setLayers({}, {}, std::nan(""));
}

QString LayerErrorChart::title() const
{
    if (m_names.empty() && m_exact == 0) return tr("SQNR per tensor: apply a plan to measure");
    QString t = tr("SQNR per tensor (%n quantized", nullptr, int(m_names.size()) + m_exact);
    if (m_exact) t += tr("; %n exact, not drawn", nullptr, m_exact);
    return t + ")";
}

bool LayerErrorChart::setLayers(const std::vector<QString>& names, const std::vector<double>& sqnrDb, double averageDb)
{
    const bool ok = names.size() == sqnrDb.size();
    m_names.clear();
    m_values.clear();
    m_exact = 0;
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    QVector<double> keys, values;
    for (size_t i = 0; ok && i < names.size(); ++i) {
        if (std::isinf(sqnrDb[i]) && sqnrDb[i] > 0) {
            ++m_exact;
            continue;
        }
        if (!std::isfinite(sqnrDb[i])) continue;
        keys << double(m_names.size());
        values << sqnrDb[i];
        ticker->addTick(double(m_names.size()), names[i]);
        m_names.push_back(names[i]);
        m_values.push_back(sqnrDb[i]);
    }
    m_bars->setData(keys, values, true);
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setRange(-0.6, std::max(1.0, double(m_names.size())) - 0.4);
    const double top = m_values.empty() ? 1.0 : *std::max_element(m_values.begin(), m_values.end());
    const double bottom = m_values.empty() ? 0.0 : std::min(0.0, *std::min_element(m_values.begin(), m_values.end()));
    m_plot->yAxis->setRange(bottom, top * 1.1 + 1e-9);
    m_average->setVisible(ok && std::isfinite(averageDb) && !m_values.empty());
    m_average->point1->setCoords(0, averageDb);
    m_average->point2->setCoords(1, averageDb);
    m_title->setText(title());
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    return ok;
}

void LayerErrorChart::applyTheme()
{
    applyPlotPalette(m_plot, palette());
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(chartColor(palette(), 0));
    QPen dashed(chartColor(palette(), 2), 1.5, Qt::DashLine);
    m_average->setPen(dashed);
    m_title->setTextColor(palette().color(QPalette::WindowText));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LayerErrorChart::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) applyTheme();
    QWidget::changeEvent(event);
}

bool LayerErrorChart::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_plot && event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const double key = m_plot->xAxis->pixelToCoord(help->pos().x());
        const long index = std::lround(key);
        if (index >= 0 && size_t(index) < m_names.size() && std::abs(key - double(index)) <= 0.35) {
            QToolTip::showText(help->globalPos(),
                               QString("%1\n%2 dB").arg(m_names[size_t(index)]).arg(m_values[size_t(index)], 0, 'f', 2), m_plot);
        } else {
            QToolTip::hideText();
        }
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace qs::widgets
