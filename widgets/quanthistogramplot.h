#pragma once
/// The quantization histogram: float weights and their dequantized values binned on the same
/// edges and overlaid, the quantization levels as thin vertical lines, the clip range shaded and
/// the clipped weights counted. Zooming (wheel, x only) rebins the visible range with the same
/// number of bins, so bins get finer until the dequantized spikes sit on single levels and the
/// weights are seen to snap to them. Hover shows the bin (range, both counts) or, within 3 px of
/// a level, that level's value. Double-click or resetView() returns to the whole data.
///
/// The widget knows the engine only through QuantHistogramData; the app fills it from a layer's
/// weights (a row, channel, group or a sample of the layer), their decoded values and the level
/// grid of the selected group.
#include "viewmath.h"

#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPItemRect;
class QCPItemStraightLine;
class QCPGraph;
class QCPTextElement;

namespace qs::widgets {

struct QuantHistogramData {
    std::vector<float> weights; ///< float values (non-finite ones are not binned)
    std::vector<float> dequant; ///< their decoded values (same count expected, not required)
    std::vector<float> levels;  ///< representable values of the selected group, any order
    float clipLo = 0, clipHi = 0; ///< the group's clip range; clipHi <= clipLo (or NaN) = none
    QString title;              ///< e.g. "model.layers.0.q_proj row 12 (int4 g128)"
};

class QuantHistogramPlot : public QWidget {
    Q_OBJECT
public:
    explicit QuantHistogramPlot(QWidget* parent = nullptr);
    ~QuantHistogramPlot() override;

    /// Shows `data` over its whole range (viewmath::histogramRange).
    void setData(QuantHistogramData data);
    void clear();
    const QuantHistogramData& data() const { return m_data; }

    /// Shows [lo, hi] on the x axis and rebins it (what the wheel does).
    void setViewRange(double lo, double hi);
    /// Counts on a logarithmic axis (both series fully visible); linear by default, where the
    /// y axis fits the float histogram and the dequantized spikes may run past the top.
    void setLogCounts(bool log);
    bool logCounts() const { return m_log; }
    /// At most one level line per this many pixels; more visible levels are thinned.
    static constexpr int pixelsPerLevelLine = 4;

    /// What is on screen now.
    const viewmath::PairedBins& bins() const { return m_bins; }
    const viewmath::LevelLines& levelLines() const { return m_lines; }
    /// Weights outside [clipLo, clipHi] (viewmath::countOutside); 0 without a clip range.
    uint64_t clippedCount() const { return m_clipped; }
    bool hasClipRange() const;
    /// The title line above the plot (title, clipped count).
    QString titleText() const;
    /// The tooltip text for the mouse at plot pixel x ("" outside the data).
    QString hoverText(double pixelX) const;
    /// Plot pixel x of value x, and back (viewmath::AxisMap over the axis rect).
    double pixelOf(double x) const;
    double valueAt(double pixelX) const;

    /// Writes the plot by suffix: .png, .jpg, .pdf, .svg (exportPlot). False with a reason.
    bool exportTo(const QString& path, QString* error = nullptr, int width = 800, int height = 500);
    /// Writes the bins on screen, "bin_lo,bin_hi,float_count,dequant_count" (the last bin's upper
    /// edge is inclusive), then an empty line and "level" with every distinct finite level.
    bool exportCsv(const QString& path, QString* error = nullptr) const;

    QCustomPlot* plot() const { return m_plot; }

public slots:
    void resetView();

signals:
    /// The visible value range changed (zoom, pan, reset, new data).
    void viewRangeChanged(double lo, double hi);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void rebinView();
    void updateLevelLines();
    void updateClipItems();
    void updateTexts();
    void applyPalette();
    viewmath::AxisMap xMap() const;

    QCustomPlot* m_plot;
    QCPGraph* m_weightsGraph;
    QCPGraph* m_dequantGraph;
    QCPGraph* m_levelsKey; ///< legend entry for the level lines (no data)
    QCPGraph* m_clipKey;   ///< legend entry for the clip range (no data)
    QCPTextElement* m_title;
    std::vector<QCPItemStraightLine*> m_levelItems;
    QCPItemStraightLine* m_clipLines[2];
    QCPItemRect* m_clipBands[2];
    QuantHistogramData m_data;
    std::vector<double> m_sortedLevels; ///< distinct finite levels, ascending
    viewmath::PairedBins m_bins;
    viewmath::LevelLines m_lines;
    uint64_t m_clipped = 0;
    bool m_log = false;
};

} // namespace qs::widgets
