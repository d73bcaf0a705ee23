#pragma once
/// The arithmetic of the outlier-channel plot and the trade-off chart, apart from any painting so
/// that data-driven tests can check it: medians and thresholds, sort orders, pixel <-> bar
/// mapping, the Pareto front, the 6.02 dB-per-bit reference line and point picking.
#include <QString>

#include <vector>

namespace qs::widgets::charts {

/// Median of the values that are not NaN: the middle value for an odd count, the mean of the two
/// middle values (in double) for an even count. +-Inf take part as ordered values (a mean of
/// -Inf and +Inf is NaN). NaN when no value is left.
double median(const std::vector<float>& values);

/// Channels whose absmax is strictly greater than k x median(absmax), ascending. Nothing is
/// flagged when k is not a finite number > 0 or the median is not finite and > 0 (a zero median
/// would make every non-zero channel an outlier). NaN channels are never flagged.
std::vector<int> flagByFactor(const std::vector<float>& absmax, double k);

/// The k channels with the largest absmax, returned ascending by index. Ties go to the lower
/// index; NaN channels are never flagged; k <= 0 flags nothing; k >= count flags every non-NaN
/// channel.
std::vector<int> flagTopK(const std::vector<float>& absmax, int k);

/// Channel order for a descending plot: order[position] = channel. Stable (equal values keep
/// index order); NaN channels go last, in index order.
std::vector<int> sortOrder(const std::vector<float>& absmax);

/// The inverse of a permutation: position[order[p]] = p.
std::vector<int> inversePermutation(const std::vector<int>& order);

/// A linear axis: pixel p0 shows coordinate c0 and pixel p1 shows c1 (QCPAxis on a linear scale).
struct LinearMap {
    double pixel0 = 0, pixel1 = 1, coord0 = 0, coord1 = 1;
    double toCoord(double pixel) const;
    double toPixel(double coord) const;
};

/// The bar under a pixel when bars sit at coordinates 0 .. barCount-1 with width `barWidth`
/// (<= 1): bar i covers [i - w/2, i + w/2). -1 outside every bar or for a degenerate map.
int barIndexAt(double pixel, const LinearMap& map, int barCount, double barWidth = 1.0);

/// One scheme on the trade-off chart.
struct TradeoffPoint {
    QString scheme;           ///< e.g. "int4 g128"
    double bitsPerWeight = 0; ///< stored bits per weight (bytes * 8 / weights)
    double sqnrDb = 0;        ///< +Inf for an exact scheme, NaN when unknown
    QString family;           ///< marker group, e.g. "int", "fp", "gguf"
};

/// Indices of the Pareto-optimal points in ascending bits order (then ascending index). A point
/// is dominated when another has bits <= and SQNR >= with at least one strict. Exact duplicates
/// do not dominate each other, so all of them are on the front. Points whose bits are not
/// finite or whose SQNR is NaN are left out; +Inf SQNR (exact) dominates every point with more
/// bits, -Inf is an ordinary lowest value.
std::vector<int> paretoFront(const std::vector<TradeoffPoint>& points);

/// 20 log10(2): the SQNR gained per bit by a uniform quantizer (the "6.02 dB per bit" rule).
inline constexpr double dbPerBit = 6.020599913279624;

/// The reference line SQNR = dbPerBit * bits + offset, drawn through one anchor point.
struct ReferenceLine {
    int anchor = -1;   ///< index of the anchor point, -1 when no point qualifies
    double offset = 0; ///< sqnr[anchor] - dbPerBit * bits[anchor]
    double at(double bits) const { return dbPerBit * bits + offset; }
};

/// The anchor is the point with the highest finite SQNR among those with finite bits within
/// anchorBits +- tolerance (ties: lower index). With no such point it is the point with the most
/// bits among those with finite bits and SQNR (ties: higher SQNR, then lower index).
ReferenceLine referenceLine(const std::vector<TradeoffPoint>& points, double anchorBits = 8.0,
                            double tolerance = 0.5);

/// Where to draw SQNR values that are infinite: +Inf at `ceiling` = the largest finite SQNR +
/// dbPerBit, -Inf at `floor` = the smallest finite SQNR - dbPerBit; {0, 100} with no finite SQNR.
struct SqnrDisplayRange {
    double floor = 0, ceiling = 100;
    double clamp(double sqnr) const; ///< +-Inf to ceiling/floor, finite values unchanged, NaN kept
};
SqnrDisplayRange sqnrDisplayRange(const std::vector<TradeoffPoint>& points);

/// The index whose pixel position is nearest to (x, y) within `radius` pixels (Euclidean; ties:
/// lower index), or -1. Positions with a NaN coordinate are skipped.
int nearestPoint(const std::vector<double>& xs, const std::vector<double>& ys, double x, double y, double radius);

/// A field for a delimited text line: quoted (with quotes doubled) when it holds the separator,
/// a quote, a carriage return or a newline; otherwise unchanged.
QString delimitedField(const QString& text, QChar separator);

} // namespace qs::widgets::charts
