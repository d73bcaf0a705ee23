#include "channelplot.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::widgets {

double medianOf(std::vector<float> v)
{
    if (v.empty()) return 0;
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + long(mid), v.end());
    if (v.size() % 2) return v[mid];
    const float upper = v[mid];
    const float lower = *std::max_element(v.begin(), v.begin() + long(mid));
    return 0.5 * (double(lower) + double(upper));
}

ChannelPlot::ChannelPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumSize(300, 140);
    for (QColor c : {QColor(90, 140, 90), QColor(210, 80, 40)}) {
        auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
        bars->setWidth(1.0);
        bars->setPen(Qt::NoPen);
        bars->setBrush(c);
    }
    m_plot->yAxis->setLabel("absmax");
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->installEventFilter(this);
    m_plot->setMouseTracking(true);
}

void ChannelPlot::setChannels(const std::vector<float>& absmax, const QString& axisName)
{
    m_values = absmax;
    m_median = medianOf(absmax);
    QVector<double> keys, normal, outlier;
    m_outliers = 0;
    double top = 0;
    for (size_t i = 0; i < absmax.size(); ++i) {
        const bool out = m_median > 0 && absmax[i] > outlierFactor * m_median;
        keys << double(i);
        normal << (out ? 0.0 : double(absmax[i]));
        outlier << (out ? double(absmax[i]) : 0.0);
        m_outliers += out;
        top = std::max(top, double(absmax[i]));
    }
    static_cast<QCPBars*>(m_plot->plottable(0))->setData(keys, normal, true);
    static_cast<QCPBars*>(m_plot->plottable(1))->setData(keys, outlier, true);
    m_plot->xAxis->setLabel(absmax.empty() ? QString()
                                           : QString("%1 channel (%2 outliers > %3 x median %4)")
                                                 .arg(axisName).arg(m_outliers).arg(outlierFactor)
                                                 .arg(m_median, 0, 'g', 4));
    m_plot->xAxis->setRange(-0.5, std::max<double>(double(absmax.size()) - 0.5, 0.5));
    m_plot->yAxis->setRange(0, top > 0 ? top * 1.05 : 1);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool ChannelPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_plot && event->type() == QEvent::MouseMove) {
        const auto* me = static_cast<QMouseEvent*>(event);
        const long i = std::lround(m_plot->xAxis->pixelToCoord(me->position().x()));
        if (i >= 0 && i < long(m_values.size()))
            QToolTip::showText(me->globalPosition().toPoint(),
                               QString("channel %1: absmax %2").arg(i).arg(m_values[size_t(i)], 0, 'g', 6), m_plot);
        else
            QToolTip::hideText();
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace qs::widgets
