#pragma once
/// Per-channel absmax as bars: the outlier-channel signal. Bars stand in channel index order or
/// sorted by absmax (descending); a threshold (k x median, or the top k) flags channels, which
/// are counted and drawn in a warning colour. Two extra marks come from methods: the channels
/// LLM.int8 keeps in 16 bit (a triangle above the bar) and SpQR's sparse outliers per channel
/// (a dot on the right axis, at the channel's count). Hover shows a channel's values, a click on
/// a bar emits channelClicked(channel) (through the sort order), drag pans and the wheel zooms
/// along x, a double click or resetView() shows every channel again.
#include <QWidget>

#include <vector>

class QCPBars;
class QCPGraph;
class QCustomPlot;

namespace qs::widgets {

/// What the plot shows for one tensor axis.
struct ChannelData {
    std::vector<float> absmax;     ///< per channel; NaN is drawn as 0 and never flagged
    QString axisName;              ///< "output" or "input"
    std::vector<int> kept;         ///< channel indices kept in 16 bit (LLM.int8); any order
    std::vector<int> sparseCounts; ///< sparse outliers per channel (SpQR); empty or one per channel
    bool operator==(const ChannelData&) const = default;
};

class ChannelPlot : public QWidget {
    Q_OBJECT
public:
    enum class Order { Index, Descending };
    enum class Threshold { Factor, TopK };

    explicit ChannelPlot(QWidget* parent = nullptr);
    ~ChannelPlot() override;

    /// Shows the data. Refuses (returns false, clears the plot, names the problem in `error` and
    /// on the axis) a kept index outside [0, channels), a sparse count list of another length, or
    /// a negative count.
    bool setChannelData(const ChannelData& data, QString* error = nullptr);
    /// setChannelData without marks. `axisName` is "output" or "input"; an empty vector clears.
    void setChannels(const std::vector<float>& absmax, const QString& axisName);
    const ChannelData& channelData() const { return m_data; }

    void setOrder(Order order);
    Order order() const { return m_sort; }
    /// Flags channels with absmax > k x median. False (and nothing changes) unless k is finite and > 0.
    bool setFactorThreshold(double k);
    /// Flags the k largest channels (ties: lower index). False (and nothing changes) for k < 0.
    bool setTopKThreshold(int k);
    Threshold thresholdMode() const { return m_mode; }
    double factor() const { return m_factor; }
    int topK() const { return m_topK; }

    /// Flagged channels, ascending by index, and their count.
    const std::vector<int>& flaggedChannels() const { return m_flagged; }
    int flaggedCount() const { return int(m_flagged.size()); }
    int outlierCount() const { return flaggedCount(); } ///< the old name of flaggedCount()
    /// Median absmax (NaN skipped); 0 when there is no channel.
    double median() const { return m_median; }
    static constexpr double outlierFactor = 6.0; ///< the default k

    /// Bar order: barOrder()[position] = channel; positionOf(channel) is its inverse.
    const std::vector<int>& barOrder() const { return m_order; }
    int positionOf(int channel) const;
    /// The channel whose bar is under widget pixel x of the plot (through the sort order), or -1.
    int channelAtPixel(double x) const;
    /// The hover text: channel, absmax, ratio to the median and marks.
    QString tooltipText(int channel) const;

    /// Writes the plot by suffix (.png, .jpg, .pdf, .svg). Returns false with a reason.
    bool exportTo(const QString& path, QString* error = nullptr, int width = 900, int height = 450);
    /// Writes "channel,absmax,flagged,kept,sparse", one line per channel in index order.
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    QString csvText() const;

    QCustomPlot* plot() const { return m_plot; }

public slots:
    void resetView();

signals:
    void channelClicked(int channel);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void recompute();
    void redraw(bool resetX = true);
    void drawMarks(double top);
    void applyTheme();
    QString titleText() const;

    QCustomPlot* m_plot;
    QCPBars* m_normalBars;
    QCPBars* m_flaggedBars;
    QCPGraph* m_keptGraph;
    QCPGraph* m_sparseGraph;
    QCPGraph* m_thresholdGraph;
    ChannelData m_data;
    QString m_problem;
    Order m_sort = Order::Index;
    Threshold m_mode = Threshold::Factor;
    double m_factor = outlierFactor;
    int m_topK = 8;
    double m_median = 0;
    double m_barWidth = 1.0;
    double m_yTop = 1;
    std::vector<int> m_flagged;
    std::vector<char> m_isFlagged, m_isKept;
    std::vector<int> m_order, m_position;
    QPoint m_pressPos;
};

/// Median of the values, NaN skipped (mean of the middle two for an even count); 0 for none.
double medianOf(std::vector<float> values);

} // namespace qs::widgets
