#pragma once
/// The trade-off chart of one layer: every scheme as a point of bits per weight (x) against
/// SQNR in dB (y), one marker shape and colour per family, the Pareto front (fewer bits and more
/// SQNR dominate) as a dashed line, and the 6.02 dB-per-bit line of a uniform quantizer drawn
/// through an anchor point (see charts::referenceLine: by default the best point within 8 +- 0.5
/// bits). Exact schemes (SQNR +Inf) sit on a dotted "exact" line one bit (6.02 dB) above the best
/// finite point. A and B are ringed and labelled. Hover names the point, a click emits
/// pointClicked(index), drag pans, the wheel zooms, a double click or resetView() shows all.
#include "viewmath_charts.h"

#include <QWidget>

#include <vector>

class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;

namespace qs::widgets {

class TradeoffChart : public QWidget {
    Q_OBJECT
public:
    explicit TradeoffChart(QWidget* parent = nullptr);
    ~TradeoffChart() override;

    /// Replaces the points (the selection is cleared). `title` names the layer.
    void setPoints(const std::vector<charts::TradeoffPoint>& points, const QString& title = {});
    const std::vector<charts::TradeoffPoint>& points() const { return m_points; }

    /// Rings point a as "A" and b as "B"; -1 or an index outside the points shows none.
    void setSelection(int a, int b);
    int selectionA() const { return m_a; }
    int selectionB() const { return m_b; }

    /// The bit width the reference line is anchored near (default 8, tolerance 0.5). False
    /// (and nothing changes) unless finite.
    bool setReferenceAnchorBits(double bits);
    const charts::ReferenceLine& referenceLine() const { return m_reference; }
    /// Pareto-optimal points in ascending bits order (charts::paretoFront).
    const std::vector<int>& paretoIndices() const { return m_front; }

    /// Families in first-appearance order; familyGraph(i) draws family i's points.
    const QStringList& families() const { return m_families; }
    QCPGraph* familyGraph(int family) const;

    /// Widget pixel position of a point (NaN for a point that is not drawn: NaN SQNR or bits).
    QPointF pixelOf(int index) const;
    /// The point within 8 pixels of (x, y), nearest first (ties: lower index), or -1.
    int pointAtPixel(double x, double y) const;
    /// The hover text: scheme, family, bits per weight, SQNR, Pareto / A / B.
    QString tooltipText(int index) const;

    /// Writes the plot by suffix (.png, .jpg, .pdf, .svg). Returns false with a reason.
    bool exportTo(const QString& path, QString* error = nullptr, int width = 900, int height = 560);
    /// Writes "index,scheme,family,bits_per_weight,sqnr_db,reference_sqnr_db,pareto,selected": inputs
    /// in their shortest exact form, the reference line to 10 digits, selected "A", "B", "AB" or empty.
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    QString csvText() const;

    QCustomPlot* plot() const { return m_plot; }

public slots:
    void resetView();

signals:
    void pointClicked(int index);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void rebuild();
    void drawFamilies();
    void drawFrontAndReference();
    void drawSelection();
    void applyTheme();
    double displayY(int index) const;

    QCustomPlot* m_plot;
    QCPGraph* m_frontGraph;
    QCPGraph* m_referenceGraph;
    QCPGraph* m_aGraph;
    QCPGraph* m_bGraph;
    QCPItemText* m_aLabel;
    QCPItemText* m_bLabel;
    QCPItemStraightLine* m_exactLine;
    QCPItemText* m_exactLabel;
    std::vector<QCPGraph*> m_familyGraphs;
    std::vector<charts::TradeoffPoint> m_points;
    std::vector<int> m_familyOf;
    QStringList m_families;
    std::vector<int> m_front;
    charts::ReferenceLine m_reference;
    charts::SqnrDisplayRange m_display;
    double m_anchorBits = 8.0;
    QString m_title;
    int m_a = -1, m_b = -1;
    QPoint m_pressPos;
};

} // namespace qs::widgets
