// errorMetricsOnDevice against the reference backend's definitions (quant::compareValues,
// quant::errorMap) on lavapipe with the validation layer: odd shapes, NaN/Inf, zero weights,
// a large-offset case, every kind and pooling, small chunks that split the map into bands.
//
// Exact (bit for bit): count, skipped, maxAbsErr, and Max-pooled maps of Absolute and Signed
// errors (ranked by the exact difference, ties to the first in row-major order).
// Tolerances, u = 2^-24, derived from the f32 reductions on the device (each of n terms is
// rounded once or twice, then added in some order: |error| <= (n + 3) u sum |terms|):
//   sums of squares S (w^2, q^2, e^2): relative (n + 3) u, n the pairs compared;
//   mse, relFro: (n + 3) u relative; rmse half that; sqnrDb: 10 / ln 10 x 2 (n + 3) u dB;
//   cosine: 2 (n + 3) u absolute (sum |w q| <= sqrt(sum w^2 sum q^2));
//   a Mean cell of m errors: ((m + 5) u sum |errors|) / m + 2 u |value| (the final roundings;
//   +4 u per term covers the relative error's f32 division, 2.5 ulp);
//   a Max cell of Relative errors: 5 u |value|.
#include "backends/vulkan/kernels/vk_metrics.h"
#include "vulkan_helpers.h"

#include "quant/metrics.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <random>

using namespace qs;
using namespace qs::backends::vulkan;
using qs::backends::ErrorMapOptions;

namespace {

constexpr double kU = 0x1p-24;

enum Pattern { Plain, Special, Offset };

/// w and a rounded copy q (as a quantizer would make), from a fixed seed.
std::pair<quant::Matrix, quant::Matrix> makePair(int64_t rows, int64_t cols, Pattern pattern, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    quant::Matrix w{rows, cols, {}}, q{rows, cols, {}};
    for (int64_t i = 0; i < rows * cols; ++i) {
        float a = pattern == Offset ? 1.0e4f + 0.05f * normal(rng) : normal(rng);
        float b = pattern == Offset ? a + 0.01f * normal(rng) : std::round(a * 7.0f) / 7.0f;
        if (pattern == Special) {
            const uint32_t r = rng() % 20;
            if (r == 0) a = NAN;
            if (r == 1) b = INFINITY;
            if (r == 2) a = 0.0f;           // a zero weight, b its rounding (0): an exact pair
            if (r == 3) a = 0.0f, b = 0.5f; // a zero weight with an error: no relative error
            if (r == 4) b = a;
        }
        w.data.push_back(a);
        q.data.push_back(b);
    }
    return {w, q};
}

/// The number of finite pairs of a map cell and the sum of their |error| under `kind`, as
/// errorMap defines a cell's block (errorMapEdge) and the error (metrics.h).
std::pair<uint64_t, double> cellTerms(const quant::Matrix& w, const quant::Matrix& q, const quant::Matrix& map,
                                      int64_t i, int64_t j, quant::ErrorKind kind)
{
    uint64_t m = 0;
    double sum = 0;
    for (int64_t r = quant::errorMapEdge(i, w.rows, map.rows); r < quant::errorMapEdge(i + 1, w.rows, map.rows); ++r)
        for (int64_t c = quant::errorMapEdge(j, w.cols, map.cols); c < quant::errorMapEdge(j + 1, w.cols, map.cols); ++c) {
            const double a = w.row(r)[c], b = q.row(r)[c];
            if (!std::isfinite(a) || !std::isfinite(b)) continue;
            const double e = std::abs(a - b);
            if (kind == quant::ErrorKind::Relative && a == 0 && e != 0) continue;
            ++m;
            sum += kind == quant::ErrorKind::Relative ? (a == 0 ? 0 : e / std::abs(a)) : e;
        }
    return {m, sum};
}

bool sameFloat(float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b) || (std::isnan(a) && std::isnan(b)); }

} // namespace

class TestVkMetrics : public QObject {
    Q_OBJECT
    vktest::Fixture m_f;

private slots:
    void initTestCase()
    {
        VKTEST_OPEN_FIXTURE(m_f);
    }

    void cleanupTestCase()
    {
        m_f.device.reset();
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void matchesReference_data()
    {
        QTest::addColumn<qint64>("rows");
        QTest::addColumn<qint64>("cols");
        QTest::addColumn<int>("pattern");
        QTest::addColumn<qint64>("gridRows");
        QTest::addColumn<qint64>("gridCols");
        QTest::addColumn<qint64>("chunkBytes");
        const struct { const char* name; qint64 r, c; Pattern p; qint64 gr, gc, chunk; } cases[] = {
            {"13x127 64x64", 13, 127, Plain, 64, 64, 0},
            {"13x127 special 5x9", 13, 127, Special, 5, 9, 0},
            {"1x4097 special 1x100", 1, 4097, Special, 1, 100, 0},
            {"4095x33 special 64x8 bands", 4095, 33, Special, 64, 8, 16384},
            {"4095x33 offset 7x3", 4095, 33, Offset, 7, 3, 0},
            {"4095x33 plain 1x1", 4095, 33, Plain, 1, 1, 0},
            {"empty 0x7", 0, 7, Plain, 4, 4, 0},
        };
        const char* kinds[] = {"abs", "signed", "rel"};
        for (const auto& c : cases)
            for (int k = 0; k < 3; ++k)
                for (int p = 0; p < 2; ++p)
                    QTest::addRow("%s %s %s", c.name, kinds[k], p ? "mean" : "max")
                        << c.r << c.c << int(c.p) << c.gr << c.gc << c.chunk;
    }

    void matchesReference()
    {
        QFETCH(qint64, rows);
        QFETCH(qint64, cols);
        QFETCH(int, pattern);
        QFETCH(qint64, gridRows);
        QFETCH(qint64, gridCols);
        QFETCH(qint64, chunkBytes);
        const QString tag = QTest::currentDataTag();
        ErrorMapOptions o{gridRows, gridCols,
                          tag.contains(" abs ") ? quant::ErrorKind::Absolute
                          : tag.contains(" signed ") ? quant::ErrorKind::Signed : quant::ErrorKind::Relative,
                          tag.endsWith("mean") ? quant::Pooling::Mean : quant::Pooling::Max};
        const auto [w, q] = makePair(rows, cols, Pattern(pattern), 77u + uint32_t(rows));
        auto gpu = errorMetricsOnDevice(*m_f.device, w, q, o, uint64_t(chunkBytes));
        QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
        const auto cpu = quant::compareValues(w.values(), q.values());
        const auto& g = gpu->metrics;
        QCOMPARE(g.count, cpu.count);
        QCOMPARE(g.skipped, cpu.skipped);
        QCOMPARE(std::bit_cast<uint64_t>(g.maxAbsErr), std::bit_cast<uint64_t>(cpu.maxAbsErr));
        const double rel = (double(cpu.count) + 3) * kU;
        QVERIFY(std::abs(g.mse - cpu.mse) <= rel * cpu.mse);
        QVERIFY(std::abs(g.rmse - cpu.rmse) <= rel * cpu.rmse);
        QVERIFY(std::abs(g.relFro - cpu.relFro) <= rel * cpu.relFro);
        QVERIFY(std::abs(g.cosine - cpu.cosine) <= 2 * rel);
        if (std::isfinite(cpu.sqnrDb)) QVERIFY(std::abs(g.sqnrDb - cpu.sqnrDb) <= 10 / std::log(10.0) * 2 * rel);
        else QCOMPARE(g.sqnrDb, cpu.sqnrDb);

        const auto map = quant::errorMap(w, q, gridRows, gridCols, o.kind, o.pooling);
        QCOMPARE(gpu->map.rows, map.rows);
        QCOMPARE(gpu->map.cols, map.cols);
        const bool exact = o.pooling == quant::Pooling::Max && o.kind != quant::ErrorKind::Relative;
        for (int64_t i = 0; i < map.rows; ++i)
            for (int64_t j = 0; j < map.cols; ++j) {
                const float a = gpu->map.row(i)[j], b = map.row(i)[j];
                if (exact || std::isnan(b)) {
                    QVERIFY2(sameFloat(a, b), qPrintable(QString("cell %1,%2: %3 vs %4").arg(i).arg(j).arg(a).arg(b)));
                    continue;
                }
                const auto [m, sum] = cellTerms(w, q, map, i, j, o.kind);
                const double tol = o.pooling == quant::Pooling::Max ? 5 * kU * std::abs(b)
                                                                    : (double(m) + 5) * kU * sum / double(m) + 2 * kU * std::abs(b);
                QVERIFY2(std::abs(double(a) - double(b)) <= tol,
                         qPrintable(QString("cell %1,%2: %3 vs %4 (tol %5)").arg(i).arg(j).arg(a, 0, 'g', 9).arg(b, 0, 'g', 9).arg(tol)));
            }
    }

    void signedMaxRanksByExactDifference()
    {
        // Both errors round to 1.0 in f32, but |1 - 2^-31| > |1 - 2^-30|: the second, negative
        // error is the larger, so the cell and maxAbsErr come from it (hand-computed).
        quant::Matrix w{1, 2, {1.0f, -1.0f}}, q{1, 2, {0x1p-30f, -0x1p-31f}};
        auto gpu = errorMetricsOnDevice(*m_f.device, w, q, {1, 1, quant::ErrorKind::Signed, quant::Pooling::Max});
        QVERIFY(gpu.ok());
        QCOMPARE(gpu->map.row(0)[0], -1.0f);
        QCOMPARE(gpu->metrics.maxAbsErr, 1.0 - 0x1p-31);
        // Equal magnitudes: the first in row-major order wins.
        quant::Matrix w2{2, 2, {0.0f, -1.0f, 1.0f, 0.0f}}, q2{2, 2, {0.0f, -0.5f, 0.5f, 0.0f}};
        gpu = errorMetricsOnDevice(*m_f.device, w2, q2, {1, 1, quant::ErrorKind::Signed, quant::Pooling::Max});
        QVERIFY(gpu.ok());
        QCOMPARE(gpu->map.row(0)[0], -0.5f);
    }

    void badInputIsAnError()
    {
        quant::Matrix a{2, 3, std::vector<float>(6, 1.0f)}, b{3, 2, std::vector<float>(6, 1.0f)};
        auto r = errorMetricsOnDevice(*m_f.device, a, b);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::InvalidArgument);
        r = errorMetricsOnDevice(*m_f.device, a, a, {0, 4, quant::ErrorKind::Absolute, quant::Pooling::Max});
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("at least 1 x 1") != std::string::npos);
        // One row of cells larger than a chunk: refused with the way out named.
        quant::Matrix big{64, 64, std::vector<float>(64 * 64, 1.0f)};
        r = errorMetricsOnDevice(*m_f.device, big, big, {1, 1, quant::ErrorKind::Absolute, quant::Pooling::Max}, 1024);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("ask for more grid rows") != std::string::npos, r.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestVkMetrics)
#include "tst_vk_metrics.moc"
