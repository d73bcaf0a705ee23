#include "viewmath.h"

#include <algorithm>
#include <cmath>

namespace qs::widgets::viewmath {

namespace {

bool usableRange(double lo, double hi) { return std::isfinite(lo) && std::isfinite(hi) && hi > lo; }

/// The bin of a finite x in [lo, hi]: a first guess from the division, then corrected against
/// the edges themselves so that a value exactly on an edge lands where edge() says.
int binOfFinite(double x, double lo, double hi, int bins)
{
    const auto edge = [&](int i) { return i == bins ? hi : lo + i * (hi - lo) / bins; };
    int i = static_cast<int>((x - lo) / (hi - lo) * bins);
    i = std::clamp(i, 0, bins - 1);
    while (i > 0 && x < edge(i)) --i;
    while (i < bins - 1 && x >= edge(i + 1)) ++i;
    return i;
}

} // namespace

double BinCounts::edge(int i) const
{
    const int n = bins();
    if (n == 0) return lo;
    return i >= n ? hi : lo + i * (hi - lo) / n;
}

int binOf(double x, double lo, double hi, int bins)
{
    if (bins <= 0 || !usableRange(lo, hi) || !(x >= lo && x <= hi)) return -1;
    return binOfFinite(x, lo, hi, bins);
}

BinCounts binCounts(std::span<const float> values, double lo, double hi, int bins)
{
    BinCounts out;
    out.lo = lo;
    out.hi = hi;
    const bool ok = bins > 0 && usableRange(lo, hi);
    if (ok) out.counts.assign(static_cast<size_t>(bins), 0);
    for (float v : values) {
        if (!std::isfinite(v)) {
            ++out.nonFinite;
            continue;
        }
        const double x = v;
        if (!ok || x < lo || x > hi) {
            ++out.outside;
            continue;
        }
        ++out.counts[static_cast<size_t>(binOfFinite(x, lo, hi, bins))];
    }
    return out;
}

PairedBins rebin(std::span<const float> weights, std::span<const float> dequant, double lo, double hi,
                 int bins)
{
    return {binCounts(weights, lo, hi, bins), binCounts(dequant, lo, hi, bins)};
}

int binsForWidth(int pixels, int pixelsPerBin)
{
    return std::clamp(pixels / std::max(pixelsPerBin, 1), 8, 512);
}

uint64_t countOutside(std::span<const float> values, double lo, double hi)
{
    uint64_t n = 0;
    for (float v : values)
        if (!std::isnan(v) && (double(v) < lo || double(v) > hi)) ++n;
    return n;
}

Range histogramRange(std::span<const float> values, std::span<const float> dequant,
                     std::span<const float> levels)
{
    double lo = INFINITY, hi = -INFINITY;
    for (auto s : {values, dequant, levels})
        for (float v : s)
            if (std::isfinite(v)) {
                lo = std::min(lo, double(v));
                hi = std::max(hi, double(v));
            }
    if (lo > hi) return {-1, 1};
    if (lo == hi) {
        const double pad = std::max(0.5 * std::fabs(lo), 0.5);
        return {lo - pad, hi + pad};
    }
    const double pad = 0.03 * (hi - lo);
    return {lo - pad, hi + pad};
}

LevelLines visibleLines(std::vector<double> positions, double lo, double hi, int maxLines)
{
    std::erase_if(positions, [](double v) { return !std::isfinite(v); });
    std::sort(positions.begin(), positions.end());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    const auto first = std::lower_bound(positions.begin(), positions.end(), lo);
    const auto last = std::upper_bound(positions.begin(), positions.end(), hi);
    LevelLines out;
    out.visible = first < last ? static_cast<int>(last - first) : 0;
    const int cap = std::max(maxLines, 1);
    out.stride = out.visible > cap ? (out.visible + cap - 1) / cap : 1;
    for (auto it = first; it < last; ++it)
        if ((it - positions.begin()) % out.stride == 0) out.values.push_back(*it);
    return out;
}

LevelLines visibleLevels(std::span<const float> levels, double lo, double hi, int maxLines)
{
    return visibleLines(std::vector<double>(levels.begin(), levels.end()), lo, hi, maxLines);
}

int nearestLevel(std::span<const double> sortedLevels, double x, double tolerance)
{
    if (sortedLevels.empty() || !std::isfinite(x)) return -1;
    const auto above = std::lower_bound(sortedLevels.begin(), sortedLevels.end(), x) - sortedLevels.begin();
    const auto n = static_cast<std::ptrdiff_t>(sortedLevels.size());
    int best = -1;
    double bestDist = 0;
    for (auto c : {above - 1, above}) { // a tie goes to the lower level, the first one looked at
        if (c < 0 || c >= n) continue;
        const double d = std::fabs(sortedLevels[static_cast<size_t>(c)] - x);
        if (d <= tolerance && (best < 0 || d < bestDist)) {
            bestDist = d;
            best = static_cast<int>(c);
        }
    }
    return best;
}

double AxisMap::toPixel(double value) const
{
    return pixelLo + (value - valueLo) * (pixelHi - pixelLo) / (valueHi - valueLo);
}

double AxisMap::toValue(double pixel) const
{
    return valueLo + (pixel - pixelLo) * (valueHi - valueLo) / (pixelHi - pixelLo);
}

double AxisMap::valuePerPixel() const { return std::fabs((valueHi - valueLo) / (pixelHi - pixelLo)); }

int64_t clampedGrid(int64_t requested, int64_t n) { return n <= 0 ? 0 : std::clamp<int64_t>(requested, 1, n); }

int64_t cellEdge(int64_t i, int64_t n, int64_t g) { return i * n / g; }

int64_t cellOf(int64_t e, int64_t n, int64_t g)
{
    if (e < 0 || e >= n || g <= 0) return -1;
    // cellEdge(i) <= e  <=>  i * n < (e + 1) * g  <=>  i <= ((e + 1) * g - 1) / n.
    return ((e + 1) * g - 1) / n;
}

CellIndex cellOfElement(int64_t r, int64_t c, int64_t rows, int64_t cols, int64_t gridRows,
                        int64_t gridCols)
{
    const int64_t gr = clampedGrid(gridRows, rows), gc = clampedGrid(gridCols, cols);
    const int64_t i = cellOf(r, rows, gr), j = cellOf(c, cols, gc);
    if (i < 0 || j < 0) return {};
    return {i, j};
}

ElementRange elementRangeOfCell(int64_t i, int64_t j, int64_t rows, int64_t cols, int64_t gridRows,
                                int64_t gridCols)
{
    const int64_t gr = clampedGrid(gridRows, rows), gc = clampedGrid(gridCols, cols);
    if (i < 0 || j < 0 || i >= gr || j >= gc) return {};
    return {cellEdge(i, rows, gr), cellEdge(i + 1, rows, gr), cellEdge(j, cols, gc), cellEdge(j + 1, cols, gc)};
}

std::vector<int64_t> drawnCells(int64_t n, int64_t g, int64_t exactLimit)
{
    const int64_t cells = clampedGrid(g, n);
    std::vector<int64_t> out;
    if (cells == 0) return out;
    if (cells < n && n <= exactLimit) {
        out.reserve(static_cast<size_t>(n));
        for (int64_t e = 0; e < n; ++e) out.push_back(cellOf(e, n, cells));
    } else {
        for (int64_t j = 0; j < cells; ++j) out.push_back(j);
    }
    if (out.size() == 1) out.push_back(0);
    return out;
}

int64_t elementAt(double x, int64_t n)
{
    if (!std::isfinite(x) || x < 0 || x >= double(n)) return -1;
    return std::min(static_cast<int64_t>(std::floor(x)), n - 1);
}

Span visibleElements(double lo, double hi, int64_t n)
{
    if (!std::isfinite(lo) || !std::isfinite(hi) || n <= 0) return {};
    const double a = std::clamp(std::floor(std::min(lo, hi)), 0.0, double(n));
    const double b = std::clamp(std::ceil(std::max(lo, hi)), 0.0, double(n));
    return {static_cast<int64_t>(a), static_cast<int64_t>(b)};
}

bool wantsFinerMap(double viewLo, double viewHi, int pixels, int64_t mapLo, int64_t mapHi,
                   int64_t cells, double minPixelsPerCell)
{
    if (cells <= 0 || mapHi <= mapLo || pixels <= 0 || !(viewHi > viewLo)) return false;
    const double slack = 0.5;
    // Only the part of the view inside the whole matrix matters; the caller clamps the view to
    // it, so reaching outside the map means the map is a window smaller than the view.
    if (viewLo < double(mapLo) - slack || viewHi > double(mapHi) + slack) return true;
    const double elementsPerCell = double(mapHi - mapLo) / double(cells);
    const double pixelsPerCell = pixels * elementsPerCell / (viewHi - viewLo);
    return elementsPerCell > 1.0 && pixelsPerCell > minPixelsPerCell;
}

Range colorRange(std::span<const float> cells, bool signedValues)
{
    double top = 0;
    for (float v : cells)
        if (std::isfinite(v)) top = std::max(top, signedValues ? std::fabs(double(v)) : double(v));
    if (top == 0) top = 1;
    return signedValues ? Range{-top, top} : Range{0, top};
}

} // namespace qs::widgets::viewmath
