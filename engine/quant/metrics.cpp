// Error metrics in double precision. Large inputs are split into chunks whose boundaries do not
// depend on the thread count, each chunk is summed in a fixed lane order (chunkSums), and the
// chunk partials are merged in chunk order, so a result is the same bits on any machine, with
// any number of threads and whichever instruction-set clone runs.
#include "metrics.h"

#include "core/parallel.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

namespace qs::quant {

namespace {

constexpr uint64_t kChunk = kMetricChunk;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// std::isfinite as a bit test, so that element loops vectorise.
[[gnu::always_inline]] inline bool isFiniteValue(float v)
{
    return (std::bit_cast<uint32_t>(v) & 0x7fffffffu) < 0x7f800000u;
}

/// Sequential sums for groupMse (not part of compareValues' order).
struct Partial : MetricSums {
    void add(float wf, float qf)
    {
        if (!std::isfinite(wf) || !std::isfinite(qf)) {
            ++skipped;
            return;
        }
        const double e = static_cast<double>(wf) - static_cast<double>(qf);
        sumE2 += e * e;
        ++count;
    }
};

void merge(MetricSums& into, const MetricSums& o)
{
    into.sumW2 += o.sumW2;
    into.sumQ2 += o.sumQ2;
    into.sumWQ += o.sumWQ;
    into.sumE2 += o.sumE2;
    into.maxAbs = std::max(into.maxAbs, o.maxAbs);
    into.count += o.count;
    into.skipped += o.skipped;
}

ErrorMetrics finish(const MetricSums& p)
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

// The eight lanes are one GCC vector of eight doubles (one AVX-512 register, two AVX2 or four
// SSE2 registers): lane j of every operation is element j, so each lane performs exactly the
// scalar sequence above, whatever the width the clone splits it into.
#pragma GCC diagnostic ignored "-Wpsabi" // lane vectors cross only inlined functions
using LanesD = double __attribute__((vector_size(64)));
using LanesL = int64_t __attribute__((vector_size(64)));
using LanesF = float __attribute__((vector_size(32)));
using LanesI = int32_t __attribute__((vector_size(32)));

/// |v| on every lane (the sign bit cleared, as std::fabs).
[[gnu::always_inline]] inline LanesD absLanes(LanesD v)
{
    LanesL bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= std::numeric_limits<int64_t>::max();
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

template <class V>
[[gnu::always_inline]] inline auto laneTree(const V& v)
{
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

struct LaneSums {
    LanesD ww{}, qq{}, wq{}, ee{}, mx{};
    LanesL used{};

    /// Adds eight pairs, pair j to lane j; a non-finite pair adds zeros and is not counted.
    [[gnu::always_inline]] void add(const float* w, const float* q)
    {
        LanesF wf, qf;
        LanesI wb, qb;
        std::memcpy(&wf, w, sizeof wf);
        std::memcpy(&qf, q, sizeof qf);
        std::memcpy(&wb, w, sizeof wb);
        std::memcpy(&qb, q, sizeof qb);
        const LanesI finite = ((wb & 0x7fffffff) < 0x7f800000) & ((qb & 0x7fffffff) < 0x7f800000);
        const LanesL keep = __builtin_convertvector(finite, LanesL);
        const LanesD zero{};
        const LanesD a = keep ? __builtin_convertvector(wf, LanesD) : zero;
        const LanesD b = keep ? __builtin_convertvector(qf, LanesD) : zero;
        const LanesD e = a - b;
        ww += a * a;
        qq += b * b;
        wq += a * b;
        ee += e * e;
        const LanesD absE = absLanes(e);
        mx = mx < absE ? absE : mx; // std::max(mx, |e|)
        used -= keep;                          // keep is -1 for a counted pair
    }
};

[[gnu::target_clones("avx512f", "avx2", "default")]] MetricSums chunkSums(const float* w, const float* q, uint64_t n)
{
    LaneSums s;
    const uint64_t whole = n - n % kLanes;
    for (uint64_t i = 0; i < whole; i += kLanes) s.add(w + i, q + i);
    if (whole < n) {
        // The tail in lanes 0..n-whole-1; the padding is NaN, which adds exact zeros.
        float wt[kLanes], qt[kLanes];
        std::fill_n(wt, kLanes, std::numeric_limits<float>::quiet_NaN());
        std::fill_n(qt, kLanes, std::numeric_limits<float>::quiet_NaN());
        std::copy(w + whole, w + n, wt);
        std::copy(q + whole, q + n, qt);
        s.add(wt, qt);
    }
    MetricSums p;
    p.sumW2 = laneTree(s.ww), p.sumQ2 = laneTree(s.qq), p.sumWQ = laneTree(s.wq);
    p.sumE2 = laneTree(s.ee);
    for (int j = 0; j < kLanes; ++j) p.maxAbs = std::max(p.maxAbs, s.mx[j]); // max: order-free
    p.count = static_cast<uint64_t>(laneTree(s.used));
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

MetricSums metricChunkSums(const float* reference, const float* quantized, uint64_t n)
{
    return chunkSums(reference, quantized, n);
}

ErrorMetrics metricsFromChunks(std::span<const MetricSums> chunks, uint64_t unpaired)
{
    MetricSums total;
    for (const MetricSums& p : chunks) merge(total, p);
    total.skipped += unpaired;
    return finish(total);
}

ErrorMetrics compareValues(std::span<const float> reference, std::span<const float> quantized)
{
    const uint64_t n = std::min(reference.size(), quantized.size());
    const uint64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<MetricSums> partials(chunks);
    core::parallelChunks(chunks, chunks > 4 ? core::defaultThreadCount() : 1,
                         [&](uint64_t c, unsigned) {
                             const uint64_t begin = c * kChunk;
                             partials[c] = metricChunkSums(reference.data() + begin,
                                                           quantized.data() + begin,
                                                           std::min(n, begin + kChunk) - begin);
                         });
    // Values without a partner cannot be compared: they count as skipped.
    return metricsFromChunks(partials, std::max(reference.size(), quantized.size()) - n);
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

/// The error of one pair under K, and whether it has one (both values finite; for a relative
/// error of a zero weight, a zero error).
template <ErrorKind K>
[[gnu::always_inline]] inline double pairError(float wf, float qf, bool& has)
{
    has = isFiniteValue(wf) && isFiniteValue(qf);
    const double w = wf;
    const double e = w - static_cast<double>(qf);
    if constexpr (K == ErrorKind::Absolute) return std::fabs(e);
    if constexpr (K == ErrorKind::Signed) return e;
    const bool zero = wf == 0.0f;
    has = has && (!zero || e == 0);
    return zero ? 0.0 : std::fabs(e) / std::fabs(zero ? 1.0 : w);
}

/// A cell being pooled: the running sum (Mean) or the first error of largest magnitude (Max).
struct CellAcc {
    double sum = 0;
    double best = 0;
    double bestAbs = -1; ///< below every |error|: the first error always replaces it
    uint64_t n = 0;
};

/// Mean: adds the errors of one row segment in index order.
template <ErrorKind K>
void addSegmentMean(const float* w, const float* q, int64_t n, CellAcc& acc)
{
    for (int64_t i = 0; i < n; ++i) {
        bool has = false;
        const double e = pairError<K>(w[i], q[i], has);
        acc.sum += has ? e : 0.0;
        acc.n += has ? 1 : 0;
    }
}

/// |error| of eight pairs under K (lanes of LaneSums' vector types), -1 where a pair has none.
template <ErrorKind K>
[[gnu::always_inline]] inline LanesD absErrorLanes(const float* w, const float* q)
{
    LanesF wf, qf;
    LanesI wb, qb;
    std::memcpy(&wf, w, sizeof wf);
    std::memcpy(&qf, q, sizeof qf);
    std::memcpy(&wb, w, sizeof wb);
    std::memcpy(&qb, q, sizeof qb);
    LanesL has = __builtin_convertvector(((wb & 0x7fffffff) < 0x7f800000) & ((qb & 0x7fffffff) < 0x7f800000), LanesL);
    const LanesD zero{};
    const LanesD a = __builtin_convertvector(wf, LanesD);
    const LanesD e = a - __builtin_convertvector(qf, LanesD);
    LanesD v = absLanes(e);
    if constexpr (K == ErrorKind::Relative) {
        const LanesL wZero = a == zero;
        has &= ~wZero | (e == zero);
        v = wZero ? zero : v / (wZero ? zero + 1.0 : absLanes(a));
    }
    return has ? v : zero - 1.0;
}

/// The largest of eight lanes that hold no NaN, by a shuffle tree (a cell is only two or
/// three vectors wide, so a scalar loop over the lanes would cost as much as the cell).
[[gnu::always_inline]] inline double maxOfLanes(LanesD v)
{
    LanesD s = __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
    v = v < s ? s : v;
    s = __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5);
    v = v < s ? s : v;
    s = __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6);
    v = v < s ? s : v;
    return v[0];
}

/// Max: the largest |error| of one segment (an order-free reduction, so it vectorises); the
/// segment's first error of that magnitude replaces the cell's only when strictly larger, which
/// is the row-major "first of the largest" rule. (Max needs no count: a cell has a pair
/// exactly when its best is at least 0.)
template <ErrorKind K>
[[gnu::always_inline]] inline void addSegmentMax(const float* w, const float* q, int64_t n, CellAcc& acc)
{
    double top = -1;
    int64_t i = 0;
    if (n >= 8) {
        LanesD lanes = absErrorLanes<K>(w, q);
        for (i = 8; i + 8 <= n; i += 8) {
            const LanesD v = absErrorLanes<K>(w + i, q + i);
            lanes = lanes < v ? v : lanes;
        }
        top = std::max(top, maxOfLanes(lanes));
    }
    for (; i < n; ++i) {
        bool has = false;
        const double e = std::fabs(pairError<K>(w[i], q[i], has));
        top = std::max(top, has ? e : -1.0);
    }
    acc.n += top >= 0 ? 1 : 0;
    if (!(top > acc.bestAbs)) return;
    acc.bestAbs = top;
    acc.best = top;
    if constexpr (K == ErrorKind::Signed) {
        for (i = 0; i < n; ++i) {
            bool has = false;
            const double e = pairError<K>(w[i], q[i], has);
            if (has && std::fabs(e) == top) {
                acc.best = e;
                break;
            }
        }
    }
}

template <ErrorKind K>
[[gnu::always_inline]] inline void poolRowT(const float* w, const float* q, const int64_t* edges, int64_t cells,
                                            Pooling pooling, CellAcc* acc)
{
    for (int64_t j = 0; j < cells; ++j) {
        const int64_t c0 = edges[j], c1 = edges[j + 1];
        if (pooling == Pooling::Max) addSegmentMax<K>(w + c0, q + c0, c1 - c0, acc[j]);
        else addSegmentMean<K>(w + c0, q + c0, c1 - c0, acc[j]);
    }
}

/// Pools one matrix row into the accumulators of its `cells` cells, whose columns are
/// [edges[j], edges[j + 1]) (errorMapEdge, worked out once per row of cells: two 64-bit
/// divisions per cell and matrix row cost as much as the pooling itself).
[[gnu::target_clones("avx512f", "avx2", "default")]] void poolRow(const float* w, const float* q, const int64_t* edges,
                                                                  int64_t cells, ErrorKind kind, Pooling pooling,
                                                                  CellAcc* acc)
{
    switch (kind) {
    case ErrorKind::Absolute: return poolRowT<ErrorKind::Absolute>(w, q, edges, cells, pooling, acc);
    case ErrorKind::Signed: return poolRowT<ErrorKind::Signed>(w, q, edges, cells, pooling, acc);
    case ErrorKind::Relative: return poolRowT<ErrorKind::Relative>(w, q, edges, cells, pooling, acc);
    }
}

} // namespace

std::pair<int64_t, int64_t> errorMapGrid(int64_t rows, int64_t cols, int64_t gridRows, int64_t gridCols)
{
    if (rows <= 0 || cols <= 0) return {0, 0};
    return {std::clamp<int64_t>(gridRows, 1, rows), std::clamp<int64_t>(gridCols, 1, cols)};
}

void errorMapRow(const Matrix& reference, const Matrix& quantized, int64_t i, ErrorKind kind,
                 Pooling pooling, Matrix& map)
{
    std::vector<CellAcc> acc(static_cast<size_t>(map.cols));
    std::vector<int64_t> edges(static_cast<size_t>(map.cols + 1));
    for (int64_t j = 0; j <= map.cols; ++j) edges[size_t(j)] = errorMapEdge(j, reference.cols, map.cols);
    const int64_t r1 = errorMapEdge(i + 1, reference.rows, map.rows);
    for (int64_t r = errorMapEdge(i, reference.rows, map.rows); r < r1; ++r)
        poolRow(reference.row(r), quantized.row(r), edges.data(), map.cols, kind, pooling, acc.data());
    float* out = map.row(i);
    for (int64_t j = 0; j < map.cols; ++j) {
        const CellAcc& a = acc[static_cast<size_t>(j)];
        out[j] = a.n == 0 ? std::numeric_limits<float>::quiet_NaN()
                          : static_cast<float>(pooling == Pooling::Max ? a.best : a.sum / static_cast<double>(a.n));
    }
}

Matrix errorMap(const Matrix& reference, const Matrix& quantized, int64_t gridRows,
                int64_t gridCols, ErrorKind kind, Pooling pooling)
{
    Matrix map;
    if (!sameShape(reference, quantized)) return map;
    std::tie(map.rows, map.cols) = errorMapGrid(reference.rows, reference.cols, gridRows, gridCols);
    map.data.assign(static_cast<size_t>(map.rows * map.cols), 0.f);
    core::parallelChunks(static_cast<uint64_t>(map.rows),
                         map.rows > 4 ? core::defaultThreadCount() : 1,
                         [&](uint64_t i, unsigned) {
                             errorMapRow(reference, quantized, static_cast<int64_t>(i), kind, pooling, map);
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
