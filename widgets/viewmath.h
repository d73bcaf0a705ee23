#pragma once
/// The arithmetic behind the quantization histogram and the error heatmap, kept out of paint
/// code so that tests can check it: binning, level-line thinning, clip counting, pixel <-> value
/// mapping, the heatmap's cell <-> element mapping (the engine's pooling rule) and colour ranges.
#include <cstdint>
#include <span>
#include <vector>

namespace qs::widgets::viewmath {

// ---------------------------------------------------------------------------------------------
// Histogram

/// Counts per bin over [lo, hi) in `bins` equal bins; edge(i) = lo + i * (hi - lo) / bins, bin i
/// holds edge(i) <= x < edge(i + 1), and the last bin is closed (it holds x == hi).
struct BinCounts {
    double lo = 0, hi = 0;
    std::vector<uint64_t> counts; ///< empty when the range or the bin count is unusable
    uint64_t nonFinite = 0;       ///< NaN and +-Inf values, ignored
    uint64_t outside = 0;         ///< finite values outside [lo, hi]

    int bins() const { return static_cast<int>(counts.size()); }
    /// The one definition of a bin edge; edge(bins()) == hi exactly.
    double edge(int i) const;
};

/// Bins `values` as BinCounts describes. `bins` <= 0, a non-finite bound or hi <= lo give no bins
/// (every finite value then counts as outside).
BinCounts binCounts(std::span<const float> values, double lo, double hi, int bins);

/// The bin of x under BinCounts' rule, or -1 outside [lo, hi] (or for NaN).
int binOf(double x, double lo, double hi, int bins);

/// Float and dequantized values binned on the same edges (the histogram's two series).
struct PairedBins {
    BinCounts weights;
    BinCounts dequant;
};
PairedBins rebin(std::span<const float> weights, std::span<const float> dequant, double lo, double hi,
                 int bins);

/// How many bins a view `pixels` wide shows: one per `pixelsPerBin` pixels, at least 8, at most
/// 512 (finer bins than that cannot be told apart on screen).
int binsForWidth(int pixels, int pixelsPerBin = 4);

/// Finite values outside [lo, hi], i.e. x < lo or x > hi; +-Inf count (a quantizer clamps
/// them), NaN does not.
uint64_t countOutside(std::span<const float> values, double lo, double hi);

/// A range covering every finite value of the three inputs, padded by 3% of its width on each
/// side; a single value v gets v -+ max(0.5 |v|, 0.5); no finite value at all gives [-1, 1].
struct Range {
    double lo = 0, hi = 0;
};
Range histogramRange(std::span<const float> values, std::span<const float> dequant,
                     std::span<const float> levels);

/// The level lines to draw in [lo, hi].
struct LevelLines {
    std::vector<double> values; ///< drawn positions, ascending
    int visible = 0;            ///< distinct finite levels inside [lo, hi]
    int stride = 1;             ///< every stride-th level is drawn (1 = all)
    bool thinned() const { return stride > 1; }
};

/// The distinct finite levels inside [lo, hi]. When more than `maxLines` are visible, only the
/// levels whose index in the sorted distinct list is a multiple of stride = ceil(visible /
/// maxLines) are kept. Indexing the whole list (not the visible part) keeps a line in place
/// while the view pans. maxLines < 1 is taken as 1.
LevelLines visibleLevels(std::span<const float> levels, double lo, double hi, int maxLines);
/// The same rule on positions given as doubles (the heatmap's group boundaries).
LevelLines visibleLines(std::vector<double> positions, double lo, double hi, int maxLines);

/// Index into `sortedLevels` (ascending) of the level nearest to x if it lies within
/// `tolerance` of x, else -1; of two equally near levels, the lower.
int nearestLevel(std::span<const double> sortedLevels, double x, double tolerance);

/// A linear map between a value range and a pixel range (either may run backwards, as a
/// y axis does on screen).
struct AxisMap {
    double valueLo = 0, valueHi = 1;
    double pixelLo = 0, pixelHi = 1;
    double toPixel(double value) const;
    double toValue(double pixel) const;
    /// Value units per pixel (positive).
    double valuePerPixel() const;
};

// ---------------------------------------------------------------------------------------------
// Heatmap: a gridRows x gridCols pooled map of an n-row, m-column window. As in the engine's
// quant::errorMap, the grid is first clamped to [1, n] (and [1, m]) and cell i covers the
// elements [edge(i), edge(i + 1)) with edge(i) = floor(i * n / g): cell sizes differ by at most 1.

/// The grid size actually used for `requested` cells over n elements: clamp(requested, 1, n);
/// 0 when n <= 0.
int64_t clampedGrid(int64_t requested, int64_t n);
/// floor(i * n / g), the first element of cell i (g already clamped).
int64_t cellEdge(int64_t i, int64_t n, int64_t g);
/// The cell holding element e (0 <= e < n): floor(((e + 1) * g - 1) / n), the one i with
/// cellEdge(i) <= e < cellEdge(i + 1); -1 when e is outside [0, n).
int64_t cellOf(int64_t e, int64_t n, int64_t g);

struct CellIndex {
    int64_t row = -1, col = -1;
    bool valid() const { return row >= 0 && col >= 0; }
};
/// Half-open element ranges [rowLo, rowHi) x [colLo, colHi).
struct ElementRange {
    int64_t rowLo = 0, rowHi = 0, colLo = 0, colHi = 0;
};

/// The cell pooling element (r, c) of a rows x cols matrix on a gridRows x gridCols grid (both
/// clamped as the engine does); invalid when (r, c) is outside the matrix.
CellIndex cellOfElement(int64_t r, int64_t c, int64_t rows, int64_t cols, int64_t gridRows,
                        int64_t gridCols);
/// The elements cell (i, j) pools; empty when the cell is outside the clamped grid.
ElementRange elementRangeOfCell(int64_t i, int64_t j, int64_t rows, int64_t cols, int64_t gridRows,
                                int64_t gridCols);

/// What each drawn column (or row) of the heatmap image shows: the map cell it takes its value
/// from. A window of n <= exactLimit elements is drawn one image cell per element, each taking
/// the value of cellOf(e, n, g), so cell boundaries land exactly on the engine's element edges;
/// a larger one is drawn one image cell per map cell (boundaries then off by under one element).
/// One cell is drawn twice ({0, 0}): an image needs two cells to span a width.
std::vector<int64_t> drawnCells(int64_t n, int64_t g, int64_t exactLimit = 1024);

/// The element at plot coordinate x when element e spans [e, e + 1): floor(x), or -1 when x is
/// outside [0, n) or not finite.
int64_t elementAt(double x, int64_t n);

/// The whole elements a view [lo, hi] touches, clamped to [0, n): [floor(lo), ceil(hi)).
struct Span {
    int64_t lo = 0, hi = 0;
};
Span visibleElements(double lo, double hi, int64_t n);

/// Whether one axis of a view would show more with a finer map: the view reaches outside the
/// map's extent [mapLo, mapHi) (by more than half an element), or a map cell covers more than
/// one element and more than `minPixelsPerCell` pixels. `cells` is the map's cell count on that
/// axis, `pixels` the view's length on screen.
bool wantsFinerMap(double viewLo, double viewHi, int pixels, int64_t mapLo, int64_t mapHi,
                   int64_t cells, double minPixelsPerCell = 4.0);

/// The colour range for cells: signed -> [-m, m] with m = max |finite cell|, else [0, max finite
/// cell]. NaN and +-Inf are ignored; when nothing finite is left, or m == 0, the range is
/// [-1, 1] (signed) or [0, 1] so the scale stays usable.
Range colorRange(std::span<const float> cells, bool signedValues);

} // namespace qs::widgets::viewmath
