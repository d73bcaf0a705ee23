#include "viewmath_charts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace qs::widgets::charts {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
}

double median(const std::vector<float>& values)
{
    std::vector<float> v;
    v.reserve(values.size());
    for (float x : values)
        if (!std::isnan(x)) v.push_back(x);
    if (v.empty()) return nan;
    const auto mid = std::ptrdiff_t(v.size() / 2);
    std::nth_element(v.begin(), v.begin() + mid, v.end());
    const double upper = v[size_t(mid)];
    if (v.size() % 2) return upper;
    const double lower = *std::max_element(v.begin(), v.begin() + mid);
    return 0.5 * (lower + upper);
}

std::vector<int> flagByFactor(const std::vector<float>& absmax, double k)
{
    std::vector<int> flagged;
    const double m = median(absmax);
    if (!std::isfinite(k) || k <= 0 || !std::isfinite(m) || m <= 0) return flagged;
    const double threshold = k * m;
    for (size_t i = 0; i < absmax.size(); ++i)
        if (double(absmax[i]) > threshold) flagged.push_back(int(i)); // false for NaN
    return flagged;
}

std::vector<int> sortOrder(const std::vector<float>& absmax)
{
    std::vector<int> order(absmax.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const float va = absmax[size_t(a)], vb = absmax[size_t(b)];
        if (std::isnan(va)) return false;
        if (std::isnan(vb)) return true;
        return va > vb;
    });
    return order;
}

std::vector<int> flagTopK(const std::vector<float>& absmax, int k)
{
    std::vector<int> flagged;
    if (k <= 0) return flagged;
    for (int channel : sortOrder(absmax)) {
        if (int(flagged.size()) == k || std::isnan(absmax[size_t(channel)])) break;
        flagged.push_back(channel);
    }
    std::sort(flagged.begin(), flagged.end());
    return flagged;
}

std::vector<int> inversePermutation(const std::vector<int>& order)
{
    std::vector<int> position(order.size(), -1);
    for (size_t p = 0; p < order.size(); ++p)
        if (order[p] >= 0 && size_t(order[p]) < order.size()) position[size_t(order[p])] = int(p);
    return position;
}

double LinearMap::toCoord(double pixel) const
{
    return coord0 + (pixel - pixel0) * (coord1 - coord0) / (pixel1 - pixel0);
}

double LinearMap::toPixel(double coord) const
{
    return pixel0 + (coord - coord0) * (pixel1 - pixel0) / (coord1 - coord0);
}

int barIndexAt(double pixel, const LinearMap& map, int barCount, double barWidth)
{
    if (map.pixel0 == map.pixel1 || map.coord0 == map.coord1 || barCount <= 0) return -1;
    const double c = map.toCoord(pixel);
    if (!std::isfinite(c)) return -1;
    const double i = std::floor(c + 0.5); // nearest bar centre; [i - 0.5, i + 0.5) maps to i
    if (i < 0 || i >= barCount) return -1;
    const double half = std::min(barWidth, 1.0) / 2;
    return c >= i - half && c < i + half ? int(i) : -1;
}

std::vector<int> paretoFront(const std::vector<TradeoffPoint>& points)
{
    std::vector<int> valid;
    for (size_t i = 0; i < points.size(); ++i)
        if (std::isfinite(points[i].bitsPerWeight) && !std::isnan(points[i].sqnrDb)) valid.push_back(int(i));
    // Bits ascending, SQNR descending, index ascending: each point need only be compared with the
    // best SQNR seen so far, which belongs to a point with bits <= its own.
    std::stable_sort(valid.begin(), valid.end(), [&](int a, int b) {
        const auto &pa = points[size_t(a)], &pb = points[size_t(b)];
        if (pa.bitsPerWeight != pb.bitsPerWeight) return pa.bitsPerWeight < pb.bitsPerWeight;
        return pa.sqnrDb > pb.sqnrDb;
    });
    std::vector<int> front;
    for (int i : valid) {
        const auto& p = points[size_t(i)];
        if (front.empty()) {
            front.push_back(i);
            continue;
        }
        const auto& last = points[size_t(front.back())];
        const bool duplicate = p.sqnrDb == last.sqnrDb && p.bitsPerWeight == last.bitsPerWeight;
        if (p.sqnrDb > last.sqnrDb || duplicate) front.push_back(i);
    }
    return front;
}

ReferenceLine referenceLine(const std::vector<TradeoffPoint>& points, double anchorBits, double tolerance)
{
    auto usable = [](const TradeoffPoint& p) { return std::isfinite(p.bitsPerWeight) && std::isfinite(p.sqnrDb); };
    int anchor = -1;
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        if (!usable(p) || std::abs(p.bitsPerWeight - anchorBits) > tolerance) continue;
        if (anchor < 0 || p.sqnrDb > points[size_t(anchor)].sqnrDb) anchor = int(i);
    }
    if (anchor < 0) {
        for (size_t i = 0; i < points.size(); ++i) {
            const auto& p = points[i];
            if (!usable(p)) continue;
            const auto* best = anchor < 0 ? nullptr : &points[size_t(anchor)];
            if (!best || p.bitsPerWeight > best->bitsPerWeight
                || (p.bitsPerWeight == best->bitsPerWeight && p.sqnrDb > best->sqnrDb))
                anchor = int(i);
        }
    }
    ReferenceLine line;
    line.anchor = anchor;
    if (anchor >= 0) line.offset = points[size_t(anchor)].sqnrDb - dbPerBit * points[size_t(anchor)].bitsPerWeight;
    return line;
}

double SqnrDisplayRange::clamp(double sqnr) const
{
    if (std::isinf(sqnr)) return sqnr > 0 ? ceiling : floor;
    return sqnr;
}

SqnrDisplayRange sqnrDisplayRange(const std::vector<TradeoffPoint>& points)
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& p : points) {
        if (!std::isfinite(p.sqnrDb)) continue;
        lo = std::min(lo, p.sqnrDb);
        hi = std::max(hi, p.sqnrDb);
    }
    if (lo > hi) return {};
    return {lo - dbPerBit, hi + dbPerBit};
}

int nearestPoint(const std::vector<double>& xs, const std::vector<double>& ys, double x, double y, double radius)
{
    int best = -1;
    double bestDist = radius * radius;
    const size_t n = std::min(xs.size(), ys.size());
    for (size_t i = 0; i < n; ++i) {
        if (std::isnan(xs[i]) || std::isnan(ys[i])) continue;
        const double dx = xs[i] - x, dy = ys[i] - y, d = dx * dx + dy * dy;
        if (d < bestDist || (d == bestDist && best < 0)) {
            best = int(i);
            bestDist = d;
        }
    }
    return best;
}

QString delimitedField(const QString& text, QChar separator)
{
    const bool quote = text.contains(separator) || text.contains('"') || text.contains('\n') || text.contains('\r');
    if (!quote) return text;
    QString escaped = text;
    escaped.replace("\"", "\"\"");
    return '"' + escaped + '"';
}

} // namespace qs::widgets::charts
