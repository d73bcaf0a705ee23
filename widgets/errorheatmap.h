#pragma once
/// The error heatmap: a pooled error map (quant::errorMap's output, carried in HeatmapData)
/// stretched over the weight's element coordinates, x = column in [0, cols), y = row in
/// [0, rows) with row 0 at the top; a colour scale (sequential from 0 for |w-q| and |w-q|/|w|,
/// diverging and centred on 0 for the signed error; NaN cells grey); the scale groups' column
/// boundaries as toggleable vertical lines; zoom and pan on both axes (wheel, drag), reset on
/// double-click or resetView(); a hover tooltip naming the element under the cursor, the map
/// cell that pooled it and, through `elementInfo`, the element's own value, code and scale.
///
/// Map geometry follows the engine exactly (viewmath::cellOfElement): map cell (i, j) of a
/// gridRows x gridCols map pools the rows [floor(i * R / gridRows), floor((i + 1) * R / gridRows))
/// and likewise the columns, R and C being the pooled window's size.
///
/// Finer maps on zoom: the app gives a map of the whole matrix first. When the view, after a
/// zoom or pan has settled (150 ms), would show more with a finer map -- a map cell covers more
/// than one element and more than 4 pixels on some axis, or the view reaches outside the window
/// the current map covers (viewmath::wantsFinerMap) -- the widget emits viewChanged with the
/// visible element window. The app then runs errorMap on that window (rows [rowLo, rowHi) x
/// columns [colLo, colHi) of W and Q) with a grid of about viewPixels() (clamped to the window)
/// and calls setData with HeatmapData::rowLo..colHi set to that window, keeping the view. Zooming
/// back out emits viewChanged for the larger window. The app may ignore the signal: the coarse
/// map stays correct, only less detailed.
#include "viewmath.h"

#include <QPointF>
#include <QSize>
#include <QWidget>

#include <cstdint>
#include <functional>
#include <vector>

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPItemStraightLine;
class QTimer;

namespace qs::widgets {

struct HeatmapData {
    int64_t rows = 0, cols = 0; ///< the whole weight matrix (a conv: out x in*kh*kw)
    /// The window the map pools, [rowLo, rowHi) x [colLo, colHi); rowHi == 0 means rows and
    /// colHi == 0 means cols, so the defaults are the whole matrix.
    int64_t rowLo = 0, rowHi = 0, colLo = 0, colHi = 0;
    int64_t gridRows = 0, gridCols = 0; ///< the map's size, already clamped to the window
    std::vector<float> cells;           ///< gridRows x gridCols, row-major; NaN = no value
    QString kind = "|w-q|";             ///< "|w-q|", "w-q", "|w-q|/|w|": the colour scale's label
    bool signedValues = false;          ///< true for w-q: a diverging scale centred on 0
    std::vector<int64_t> groupColumns;  ///< column boundaries of scale groups (those in (0, cols) drawn)
};

class ErrorHeatmap : public QWidget {
    Q_OBJECT
public:
    explicit ErrorHeatmap(QWidget* parent = nullptr);
    ~ErrorHeatmap() override;

    /// Shows `data`. A new matrix size (rows, cols) resets the view; a new window of the same
    /// matrix keeps it. Returns false, sets `error` and keeps the old map when the data does not
    /// fit together (sizes, window, cells count).
    bool setData(HeatmapData data, QString* error = nullptr);
    void clear();
    const HeatmapData& data() const { return m_data; }

    /// Returns "w = ..., q = ..., code ..., scale ..." for element (r, c) of the whole matrix,
    /// shown under the pooled value in the tooltip; unset or an empty answer shows nothing.
    std::function<QString(int64_t r, int64_t c)> elementInfo;

    void setGroupLinesVisible(bool visible);
    bool groupLinesVisible() const { return m_groupLinesVisible; }
    /// Group lines drawn now (those in view, thinned to one per 4 pixels).
    int groupLineCount() const;

    /// The colour range in use (viewmath::colorRange of the cells).
    viewmath::Range colorRange() const { return m_colorRange; }
    /// The element under plot pixel p, invalid outside the matrix.
    viewmath::CellIndex elementAt(QPointF p) const;
    /// The plot pixel at the centre of element (r, c).
    QPointF pixelOfElement(int64_t r, int64_t c) const;
    /// The tooltip text for plot pixel p ("" outside the matrix).
    QString hoverText(QPointF p) const;
    /// The map's value for element (r, c) of the whole matrix (NaN outside the window).
    float valueAt(int64_t r, int64_t c) const;
    /// The axis rect's size in pixels: a good grid size for a finer map of the view.
    QSize viewPixels() const;
    /// Shows rows [rowLo, rowHi] and columns [colLo, colHi] (element coordinates).
    void setView(double rowLo, double rowHi, double colLo, double colHi);

    /// Writes the plot by suffix: .png, .jpg, .pdf, .svg (exportPlot). False with a reason.
    bool exportTo(const QString& path, QString* error = nullptr, int width = 800, int height = 600);
    /// One line per map cell: "row_lo,row_hi,col_lo,col_hi,value" (element ranges half-open, in
    /// whole-matrix coordinates; value "nan" when the cell has none).
    bool exportCsv(const QString& path, QString* error = nullptr) const;

    QCustomPlot* plot() const { return m_plot; }
    QCPColorMap* colorMap() const { return m_map; }
    QCPColorScale* colorScale() const { return m_scale; }

public slots:
    void resetView();

signals:
    /// The view settled on a window that a finer map would show better (see the file comment).
    void viewChanged(int64_t rowLo, int64_t rowHi, int64_t colLo, int64_t colHi);
    /// A click (press and release within 3 pixels) on element (r, c).
    void elementClicked(int64_t r, int64_t c);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    bool validate(const HeatmapData& d, QString* error) const;
    void fillMap();
    void updateGroupLines();
    void checkView();
    void applyPalette();
    viewmath::AxisMap xMap() const;
    viewmath::AxisMap yMap() const;
    int64_t windowRows() const { return m_data.rowHi - m_data.rowLo; }
    int64_t windowCols() const { return m_data.colHi - m_data.colLo; }

    QCustomPlot* m_plot;
    QCPColorMap* m_map;
    QCPColorScale* m_scale;
    QTimer* m_viewTimer;
    std::vector<QCPItemStraightLine*> m_groupItems;
    HeatmapData m_data;
    viewmath::Range m_colorRange{0, 1};
    bool m_groupLinesVisible = true;
    QPointF m_pressPos{-1, -1};
    int64_t m_lastEmitted[4] = {-1, -1, -1, -1};
};

} // namespace qs::widgets
