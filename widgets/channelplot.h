#pragma once
/// Per-channel absmax as bars: the outlier-channel signal. Channels whose absmax is more than
/// `outlierFactor` times the median are drawn in a warning colour and counted.
#include <QWidget>

#include <vector>

class QCustomPlot;

namespace qs::widgets {

class ChannelPlot : public QWidget {
    Q_OBJECT
public:
    explicit ChannelPlot(QWidget* parent = nullptr);

    /// `axisName` is "output" or "input"; an empty vector clears the plot.
    void setChannels(const std::vector<float>& absmax, const QString& axisName);
    int outlierCount() const { return m_outliers; }
    double median() const { return m_median; }
    static constexpr double outlierFactor = 6.0;

    QCustomPlot* plot() const { return m_plot; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    QCustomPlot* m_plot;
    std::vector<float> m_values;
    int m_outliers = 0;
    double m_median = 0;
};

/// Median of the values (mean of the middle two for an even count); 0 for none.
double medianOf(std::vector<float> values);

} // namespace qs::widgets
