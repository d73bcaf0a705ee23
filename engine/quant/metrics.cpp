// Error metrics in double precision. Large inputs are split into chunks whose boundaries do not
// depend on the thread count, each chunk is summed in a fixed lane order (chunkSums), and the
// chunk partials are merged in chunk order, so a result is the same bits on any machine, with
// any number of threads and whichever instruction-set clone runs.
#include "metrics.h"

#include "core/parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::quant {

namespace {

constexpr uint64_t kChunk = uint64_t{1} << 16; ///< values per partial sum
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Partial {
    double sumW2 = 0, sumQ2 = 0, sumWQ = 0, sumE2 = 0, maxAbs = 0;
    uint64_t count = 0, skipped = 0;

    void add(float wf, float qf)
    {
        if (!std::isfinite(wf) || !std::isfinite(qf)) {
            ++skipped;
            return;
        }
        const double w = wf;
        const double q = qf;
        const double e = w - q; // exact for all but pathological exponent gaps
        sumW2 += w * w;
        sumQ2 += q * q;
        sumWQ += w * q;
        sumE2 += e * e;
        maxAbs = std::max(maxAbs, std::fabs(e));
        ++count;
    }
    void merge(const Partial& o)
    {
        sumW2 += o.sumW2;
        sumQ2 += o.sumQ2;
        sumWQ += o.sumWQ;
        sumE2 += o.sumE2;
        maxAbs = std::max(maxAbs, o.maxAbs);
        count += o.count;
        skipped += o.skipped;
    }
};

ErrorMetrics finish(const Partial& p)
{
    ErrorMetrics m;
    m.count = p.count;
    m.skipped = p.skipped;
    if (p.count == 0) return m; // nothing to compare: zero error, cosine 1
    m.mse = p.sumE2 / static_cast<double>(p.count);
    m.rmse = std::sqrt(m.mse);
    m.maxAbsErr = p.maxAbs;
    m.sqnrDb = p.sumE2 == 0 ? kInf : 10.0 * std::log10(p.sumW2 / p.sumE2);
    if (p.sumW2 == 0 && p.sumQ2 == 0)
        m.cosine = 1;
    else if (p.sumW2 == 0 || p.sumQ2 == 0)
        m.cosine = 0;
    else
        m.cosine = p.sumWQ / (std::sqrt(p.sumW2) * std::sqrt(p.sumQ2));
    m.relFro = p.sumW2 == 0 ? (p.sumE2 == 0 ? 0 : kInf) : std::sqrt(p.sumE2 / p.sumW2);
    return m;
}

/// The sums of one chunk in a fixed order that no clone or vector width changes: element i of
/// the chunk goes to lane i % kLanes, each lane adds its elements in index order, and the lanes
/// are combined as ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)). A non-finite pair contributes
/// zeros and is counted as skipped. The AVX-512, AVX2 and baseline clones all perform exactly
/// these double operations (the engine builds with -ffp-contract=off: no fused multiply-add),
/// so the sums, and every metric derived from them, are bit-identical on every x86-64 machine.
constexpr int kLanes = 8;

template <class T>
T laneTree(const T (&v)[kLanes])
{
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

struct LaneSums {
    double ww[kLanes] = {}, qq[kLanes] = {}, wq[kLanes] = {}, ee[kLanes] = {}, mx[kLanes] = {};
    uint64_t used[kLanes] = {};

    [[gnu::always_inline]] void add(int lane, float wf, float qf)
    {
        const bool finite = std::isfinite(wf) && std::isfinite(qf);
        const double a = finite ? static_cast<double>(wf) : 0.0;
        const double b = finite ? static_cast<double>(qf) : 0.0;
        const double e = a - b;
        ww[lane] += a * a;
        qq[lane] += b * b;
        wq[lane] += a * b;
        ee[lane] += e * e;
        mx[lane] = std::max(mx[lane], std::fabs(e));
        used[lane] += finite ? 1 : 0;
    }
};

[[gnu::target_clones("avx512f", "avx2", "default")]] Partial chunkSums(const float* w, const float* q, uint64_t n)
{
    LaneSums s;
    const uint64_t whole = n - n % kLanes;
    for (uint64_t i = 0; i < whole; i += kLanes) {
        for (int lane = 0; lane < kLanes; ++lane) s.add(lane, w[i + lane], q[i + lane]);
    }
    for (uint64_t i = whole; i < n; ++i) s.add(int(i - whole), w[i], q[i]);
    Partial p;
    p.sumW2 = laneTree(s.ww), p.sumQ2 = laneTree(s.qq), p.sumWQ = laneTree(s.wq);
    p.sumE2 = laneTree(s.ee);
    for (double m : s.mx) p.maxAbs = std::max(p.maxAbs, m); // max: order-free
    p.count = laneTree(s.used);
    p.skipped = n - p.count;
    return p;
}

/// Mean of the finite squared differences in [begin, end) of two rows.
double finiteMse(const float* w, const float* q, int64_t begin, int64_t end)
{
    Partial p;
    for (int64_t i = begin; i < end; ++i) p.add(w[i], q[i]);
    return p.count ? p.sumE2 / static_cast<double>(p.count) : 0.0;
}

bool sameShape(const Matrix& a, const Matrix& b)
{
    return a.rows == b.rows && a.cols == b.cols &&
           a.data.size() == static_cast<size_t>(a.rows * a.cols) && b.data.size() == a.data.size();
}

} // namespace

ErrorMetrics compareValues(std::span<const float> reference, std::span<const float> quantized)
{
    const uint64_t n = std::min(reference.size(), quantized.size());
    const uint64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<Partial> partials(chunks);
    core::parallelChunks(chunks, chunks > 4 ? core::defaultThreadCount() : 1,
                         [&](uint64_t c, unsigned) {
                             const uint64_t begin = c * kChunk;
                             partials[c] = chunkSums(reference.data() + begin,
                                                     quantized.data() + begin,
                                                     std::min(n, begin + kChunk) - begin);
                         });
    Partial total;
    for (const Partial& p : partials) total.merge(p);
    // Values without a partner cannot be compared: they count as skipped.
    total.skipped += std::max(reference.size(), quantized.size()) - n;
    return finish(total);
}

std::vector<double> rowMse(const Matrix& reference, const Matrix& quantized)
{
    return groupMse(reference, quantized, reference.cols);
}

std::vector<double> groupMse(const Matrix& reference, const Matrix& quantized, int64_t groupSize)
{
    if (!sameShape(reference, quantized) || reference.rows == 0) return {};
    const int64_t cols = reference.cols;
    const int64_t size = groupSize > 0 ? std::min(groupSize, std::max<int64_t>(cols, 1)) : cols;
    const int64_t groups = size > 0 ? (cols + size - 1) / size : 1;
    std::vector<double> out(static_cast<size_t>(reference.rows * groups), 0.0);
    const int64_t rowsPerChunk =
        std::max<int64_t>(1, static_cast<int64_t>(kChunk) / std::max<int64_t>(cols, 1));
    const auto chunks = static_cast<uint64_t>((reference.rows + rowsPerChunk - 1) / rowsPerChunk);
    core::parallelChunks(chunks, chunks > 4 ? core::defaultThreadCount() : 1,
                         [&](uint64_t c, unsigned) {
                             const int64_t r0 = static_cast<int64_t>(c) * rowsPerChunk;
                             const int64_t r1 = std::min(reference.rows, r0 + rowsPerChunk);
                             for (int64_t r = r0; r < r1; ++r) {
                                 for (int64_t g = 0; g < groups; ++g) {
                                     out[r * groups + g] =
                                         finiteMse(reference.row(r), quantized.row(r), g * size,
                                                   std::min(cols, (g + 1) * size));
                                 }
                             }
                         });
    return out;
}

namespace {

/// The error of one pair under `kind`, or NaN when it has none (a non-finite value, or a
/// relative error of a zero weight with a nonzero quantized value).
double pairError(float wf, float qf, ErrorKind kind)
{
    if (!std::isfinite(wf) || !std::isfinite(qf)) return kNaN;
    const double e = static_cast<double>(wf) - static_cast<double>(qf);
    switch (kind) {
    case ErrorKind::Absolute: return std::fabs(e);
    case ErrorKind::Signed: return e;
    case ErrorKind::Relative:
        if (wf == 0) return e == 0 ? 0.0 : kNaN;
        return std::fabs(e) / std::fabs(static_cast<double>(wf));
    }
    return kNaN;
}

/// Pools the cell [r0, r1) x [c0, c1); NaN when no pair in it has an error.
float poolCell(const Matrix& w, const Matrix& q, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
               ErrorKind kind, Pooling pooling)
{
    double best = kNaN;
    double sum = 0;
    uint64_t n = 0;
    for (int64_t r = r0; r < r1; ++r) {
        const float* wr = w.row(r);
        const float* qr = q.row(r);
        for (int64_t c = c0; c < c1; ++c) {
            const double e = pairError(wr[c], qr[c], kind);
            if (std::isnan(e)) continue;
            sum += e;
            ++n;
            if (std::isnan(best) || std::fabs(e) > std::fabs(best)) best = e;
        }
    }
    if (n == 0) return std::numeric_limits<float>::quiet_NaN();
    return static_cast<float>(pooling == Pooling::Max ? best : sum / static_cast<double>(n));
}

} // namespace

Matrix errorMap(const Matrix& reference, const Matrix& quantized, int64_t gridRows,
                int64_t gridCols, ErrorKind kind, Pooling pooling)
{
    Matrix map;
    if (!sameShape(reference, quantized) || reference.rows == 0 || reference.cols == 0)
        return map;
    map.rows = std::clamp<int64_t>(gridRows, 1, reference.rows);
    map.cols = std::clamp<int64_t>(gridCols, 1, reference.cols);
    map.data.assign(static_cast<size_t>(map.rows * map.cols), 0.f);
    // Cell i covers [i * rows / gridRows, (i + 1) * rows / gridRows): sizes differ by at most 1.
    const auto edge = [](int64_t i, int64_t n, int64_t g) { return i * n / g; };
    core::parallelChunks(static_cast<uint64_t>(map.rows),
                         map.rows > 4 ? core::defaultThreadCount() : 1,
                         [&](uint64_t gr, unsigned) {
                             const auto i = static_cast<int64_t>(gr);
                             const int64_t r0 = edge(i, reference.rows, map.rows);
                             const int64_t r1 = edge(i + 1, reference.rows, map.rows);
                             for (int64_t j = 0; j < map.cols; ++j) {
                                 map.row(i)[j] = poolCell(reference, quantized, r0, r1,
                                                          edge(j, reference.cols, map.cols),
                                                          edge(j + 1, reference.cols, map.cols),
                                                          kind, pooling);
                             }
                         });
    return map;
}

} // namespace qs::quant

namespace qs::quant {

namespace {

constexpr int64_t kOutRows = 256;    ///< weight rows per GEMM pass
constexpr int64_t kActRows = 2048;   ///< activation rows per GEMM pass (bounds the output tile)

/// Adds the squared entries of y in index order, in double.
double sumSquares(const std::vector<float>& y)
{
    double s = 0;
    for (float v : y) s += double(v) * double(v);
    return s;
}

} // namespace

double OutputNorms::relative() const
{
    if (reference == 0) return error == 0 ? 0.0 : kInf;
    return std::sqrt(error / reference);
}

core::Result<OutputNorms> outputNorms(const Matrix& x, const Matrix& w, const Matrix& q, const core::Gemm& gemm)
{
    if (!sameShape(w, q) || x.cols != w.cols || x.data.size() != static_cast<size_t>(x.rows * x.cols))
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "output error: activations " + std::to_string(x.rows) + "x" + std::to_string(x.cols) +
                                   " do not fit weights " + std::to_string(w.rows) + "x" + std::to_string(w.cols));
    OutputNorms total;
    const int64_t cols = w.cols;
    std::vector<float> diff, yw, yd;
    // Tiles of X W^T and X (W - Q)^T, each summed in index order, tiles in a fixed order.
    for (int64_t r0 = 0; r0 < w.rows; r0 += kOutRows) {
        const int64_t nr = std::min(kOutRows, w.rows - r0);
        // W - Q once, in f32: the rounding of each difference is relative to the difference.
        diff.resize(size_t(nr * cols));
        for (size_t k = 0; k < diff.size(); ++k) diff[k] = w.data[size_t(r0 * cols) + k] - q.data[size_t(r0 * cols) + k];
        for (int64_t i0 = 0; i0 < x.rows; i0 += kActRows) {
            const int64_t ni = std::min(kActRows, x.rows - i0);
            yw.assign(size_t(ni * nr), 0.0f);
            yd.assign(yw.size(), 0.0f);
            auto st = gemm.sgemm(false, true, ni, nr, cols, 1.0f, x.row(i0), cols, w.row(r0), cols, 0.0f, yw.data(), nr);
            if (st) st = gemm.sgemm(false, true, ni, nr, cols, 1.0f, x.row(i0), cols, diff.data(), cols, 0.0f, yd.data(), nr);
            if (!st) return st.error();
            total.reference += sumSquares(yw);
            total.error += sumSquares(yd);
        }
    }
    return total;
}

core::Result<double> outputError(const Matrix& x, const Matrix& w, const Matrix& q, const core::Gemm& gemm)
{
    auto n = outputNorms(x, w, q, gemm);
    if (!n) return n.error();
    return n->relative();
}

} // namespace qs::quant
