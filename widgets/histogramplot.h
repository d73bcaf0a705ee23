#pragma once
/// A tensor's value histogram (QCustomPlot), with linear or logarithmic counts, a hover tooltip
/// naming the bin's range and count, and export to PNG, JPEG, PDF or SVG.
#include "core/stats.h"

#include <QWidget>

#include <memory>

class QCustomPlot;

namespace qs::widgets {

class HistogramPlot : public QWidget {
    Q_OBJECT
public:
    explicit HistogramPlot(QWidget* parent = nullptr);
    ~HistogramPlot() override;

    void setHistogram(const core::Histogram& histogram, const QString& title);
    void clear();
    void setLogCounts(bool log);
    bool logCounts() const { return m_log; }
    const core::Histogram& histogram() const { return m_histogram; }

    /// The bin holding value x (edges are [lo, hi), the last bin closed), or -1.
    int binAt(double x) const;
    /// "[lo, hi): count", the text the hover tooltip shows.
    QString binText(int bin) const;
    /// Pixel x of a value on the plot's axis (for tests and the tooltip position).
    double pixelOf(double x) const;

    /// Writes the plot by suffix: .png, .jpg, .pdf, .svg. Returns false with a reason.
    bool exportTo(const QString& path, QString* error = nullptr, int width = 800, int height = 500);

    QCustomPlot* plot() const { return m_plot; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void replot();
    /// Colours the plot from the widget's palette (light or dark).
    void applyTheme();

    QCustomPlot* m_plot;
    core::Histogram m_histogram;
    QString m_title;
    bool m_log = false;
};

/// Exports any QCustomPlot by suffix (.png, .jpg, .pdf, .svg); shared by every plot class.
bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width, int height);

} // namespace qs::widgets
