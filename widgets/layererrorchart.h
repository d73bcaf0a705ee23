#pragma once
/// The per-layer error of a whole-model run: one bar per quantized tensor, its SQNR in dB (taller
/// is better), in the order given, with the tensor names as tick labels and a dashed line at the
/// parameter-weighted average. Tensors quantized without error (+Inf dB) get no bar; they are
/// counted in the title. Hover shows a tensor's name and value.
#include <QString>
#include <QWidget>

#include <vector>

class QCPBars;
class QCPItemStraightLine;
class QCPTextElement;
class QCustomPlot;

namespace qs::widgets {

class LayerErrorChart : public QWidget {
    Q_OBJECT
public:
    explicit LayerErrorChart(QWidget* parent = nullptr);
    ~LayerErrorChart() override;

    /// Shows one bar per finite entry of `sqnrDb` (names[i] labels sqnrDb[i]); +Inf entries are
    /// counted as exact, NaN and -Inf ones as failed measurements. `averageDb` (NaN: none) is
    /// drawn as a line. Vectors of different lengths clear the chart and return false.
    bool setLayers(const std::vector<QString>& names, const std::vector<double>& sqnrDb, double averageDb);
    void clear();

    /// Bars drawn (finite SQNR) and tensors left out as exact.
    int barCount() const { return int(m_names.size()); }
    int exactCount() const { return m_exact; }
    /// The title above the bars ("SQNR per tensor (3 tensors; 1 exact, not drawn)").
    QString title() const;

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void applyTheme();

    QCustomPlot* m_plot;
    QCPBars* m_bars = nullptr;
    QCPItemStraightLine* m_average = nullptr;
    QCPTextElement* m_title = nullptr;
    std::vector<QString> m_names;
    std::vector<double> m_values;
    int m_exact = 0;
};

} // namespace qs::widgets
