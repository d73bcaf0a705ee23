// Error metrics against hand calculations and naive loops written here.
#include "quant/metrics.h"

#include <QtTest>

#include "quant_test_support.h"

#include <cmath>
#include <limits>
#include <random>

using namespace qs::quant;
using namespace quanttest;

Q_DECLARE_METATYPE(qs::quant::ErrorKind)
Q_DECLARE_METATYPE(qs::quant::Pooling)

namespace {

Matrix random(int64_t rows, int64_t cols, uint32_t seed, float scale = 1.f)
{
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (float& x : v) x = normal(gen);
    return matrixOf(rows, cols, std::move(v));
}

bool close(double a, double b, double rel = 1e-12)
{
    return std::fabs(a - b) <= rel * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

} // namespace

class TestMetrics : public QObject {
    Q_OBJECT
private slots:
    void handExample();
    void nanAndInfSkipped();
    void zeroVectors_data();
    void zeroVectors();
    void largeInputMatchesNaiveSums();
    void rowAndGroupMse();
    void errorMapPooling_data();
    void errorMapPooling();
    void errorMapGridClampedAndUneven();
    void outputErrorMatchesNaiveTripleLoop_data();
    void outputErrorMatchesNaiveTripleLoop();
    void outputErrorDegenerate();
};

void TestMetrics::handExample()
{
    // w = [1,2,3,4], q = [1,2,3,5]: one error of 1. sum w^2 = 30, sum q^2 = 39, <w,q> = 34.
    const std::vector<float> w{1, 2, 3, 4};
    const std::vector<float> q{1, 2, 3, 5};
    const ErrorMetrics m = compareValues(w, q);
    QCOMPARE(m.count, uint64_t(4));
    QCOMPARE(m.skipped, uint64_t(0));
    QCOMPARE(m.mse, 0.25);
    QCOMPARE(m.rmse, 0.5);
    QCOMPARE(m.maxAbsErr, 1.0);
    QVERIFY(close(m.sqnrDb, 10 * std::log10(30.0)));
    QVERIFY(close(m.cosine, 34 / std::sqrt(30.0 * 39.0)));
    QVERIFY(close(m.relFro, 1 / std::sqrt(30.0)));
}

void TestMetrics::nanAndInfSkipped()
{
    // The same hand example with three non-finite pairs mixed in: identical metrics.
    const std::vector<float> w{1, kNaN, 2, 3, kInf, 4, 7};
    const std::vector<float> q{1, 5, 2, 3, 1, 5, -kInf};
    const ErrorMetrics m = compareValues(w, q);
    QCOMPARE(m.count, uint64_t(4));
    QCOMPARE(m.skipped, uint64_t(3));
    QCOMPARE(m.mse, 0.25);
    QVERIFY(close(m.cosine, 34 / std::sqrt(30.0 * 39.0)));
    // Unequal lengths: the extra values have no partner and count as skipped.
    const ErrorMetrics u =
        compareValues(std::vector<float>{1, 2, 3, 4, 9}, std::vector<float>{1, 2, 3, 5});
    QCOMPARE(u.count, uint64_t(4));
    QCOMPARE(u.skipped, uint64_t(1));
    QCOMPARE(u.mse, 0.25);
}

void TestMetrics::zeroVectors_data()
{
    QTest::addColumn<std::vector<float>>("w");
    QTest::addColumn<std::vector<float>>("q");
    QTest::addColumn<double>("sqnr");
    QTest::addColumn<double>("cosine");
    QTest::addColumn<double>("relFro");
    const double inf = std::numeric_limits<double>::infinity();
    QTest::newRow("both zero") << std::vector<float>{0, 0, 0} << std::vector<float>{0, 0, 0}
                               << inf << 1.0 << 0.0;
    QTest::newRow("q zero") << std::vector<float>{3, 4} << std::vector<float>{0, 0}
                            << 0.0 << 0.0 << 1.0;
    QTest::newRow("w zero") << std::vector<float>{0, 0} << std::vector<float>{1, 0}
                            << -inf << 0.0 << inf;
    QTest::newRow("exact") << std::vector<float>{3, -4} << std::vector<float>{3, -4}
                           << inf << 1.0 << 0.0;
    QTest::newRow("negated") << std::vector<float>{3, -4} << std::vector<float>{-3, 4}
                             << 10 * std::log10(25.0 / 100.0) << -1.0 << 2.0;
}

void TestMetrics::zeroVectors()
{
    QFETCH(std::vector<float>, w);
    QFETCH(std::vector<float>, q);
    QFETCH(double, sqnr);
    QFETCH(double, cosine);
    QFETCH(double, relFro);
    const ErrorMetrics m = compareValues(w, q);
    if (std::isinf(sqnr))
        QCOMPARE(m.sqnrDb, sqnr);
    else
        QVERIFY(close(m.sqnrDb, sqnr));
    QVERIFY(close(m.cosine, cosine));
    if (std::isinf(relFro))
        QCOMPARE(m.relFro, relFro);
    else
        QVERIFY(close(m.relFro, relFro));
    const ErrorMetrics empty = compareValues({}, {});
    QCOMPARE(empty.count, uint64_t(0));
    QCOMPARE(empty.mse, 0.0);
    QCOMPARE(empty.cosine, 1.0);
}

void TestMetrics::largeInputMatchesNaiveSums()
{
    // More than one parallel chunk, with NaNs sprinkled in; naive sums in long double here.
    const Matrix w = random(1, 1'000'003, 1);
    Matrix q = random(1, 1'000'003, 2, 0.01f);
    for (size_t i = 0; i < q.data.size(); ++i) q.data[i] += w.data[i];
    for (size_t i = 0; i < q.data.size(); i += 9973) q.data[i] = kNaN;
    long double ww = 0, qq = 0, wq = 0, ee = 0, mx = 0;
    uint64_t n = 0;
    for (size_t i = 0; i < w.data.size(); ++i) {
        if (std::isnan(q.data[i])) continue;
        const long double a = w.data[i], b = q.data[i];
        ww += a * a, qq += b * b, wq += a * b, ee += (a - b) * (a - b);
        mx = std::max(mx, std::fabs(a - b));
        ++n;
    }
    const ErrorMetrics m = compareValues(w.data, q.data);
    QCOMPARE(m.count, n);
    QCOMPARE(m.skipped, uint64_t(w.data.size() - n));
    QVERIFY(close(m.mse, double(ee / n), 1e-10));
    QVERIFY(close(m.sqnrDb, double(10 * std::log10(ww / ee)), 1e-10));
    QVERIFY(close(m.cosine, double(wq / std::sqrt(ww * qq)), 1e-12));
    QCOMPARE(m.maxAbsErr, double(mx));
    // Deterministic: the same call gives the same bits.
    const ErrorMetrics again = compareValues(w.data, q.data);
    QCOMPARE(again.mse, m.mse);
    QCOMPARE(again.cosine, m.cosine);
}

void TestMetrics::rowAndGroupMse()
{
    // 2 x 5; errors row 0: [0, 1, 0, 2, 0], row 1: [3, 0, NaN, 0, 4].
    const Matrix w = matrixOf(2, 5, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    const Matrix q = matrixOf(2, 5, {1, 1, 3, 2, 5, 3, 7, kNaN, 9, 6});
    const std::vector<double> rows = rowMse(w, q);
    QCOMPARE(rows.size(), size_t(2));
    QCOMPARE(rows[0], 5.0 / 5);  // (1 + 4) / 5
    QCOMPARE(rows[1], 25.0 / 4); // (9 + 16) / 4 finite pairs
    // Groups of 2: [0,1] [2,3] [4]: row 0: 0.5, 2, 0; row 1: 4.5, 0 (one finite pair), 16.
    const std::vector<double> groups = groupMse(w, q, 2);
    QCOMPARE(groups, (std::vector<double>{0.5, 2.0, 0.0, 4.5, 0.0, 16.0}));
    QVERIFY(groupMse(w, matrixOf(1, 5, {1, 2, 3, 4, 5}), 2).empty()); // shape mismatch
}

void TestMetrics::errorMapPooling_data()
{
    // w - q on a 4x4 matrix (rows):
    //   [ 1 -2 |  0  0 ]
    //   [ 0  3 |  1  1 ]
    //   ------+-------
    //   [-4  0 |  2  2 ]
    //   [ 0  1 |  2 -2 ]
    // w = 2 everywhere except w[0][0] = 4 (for relative errors).
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<Pooling>("pooling");
    QTest::addColumn<std::vector<float>>("expected");
    QTest::newRow("abs max") << ErrorKind::Absolute << Pooling::Max
                             << std::vector<float>{3, 1, 4, 2};
    QTest::newRow("abs mean") << ErrorKind::Absolute << Pooling::Mean
                              << std::vector<float>{6.f / 4, 2.f / 4, 5.f / 4, 8.f / 4};
    QTest::newRow("signed max keeps sign") << ErrorKind::Signed << Pooling::Max
                                           << std::vector<float>{3, 1, -4, 2};
    QTest::newRow("signed mean") << ErrorKind::Signed << Pooling::Mean
                                 << std::vector<float>{2.f / 4, 2.f / 4, -3.f / 4, 4.f / 4};
    QTest::newRow("relative max") << ErrorKind::Relative << Pooling::Max
                                  << std::vector<float>{1.5f, 0.5f, 2.f, 1.f};
    QTest::newRow("relative mean") << ErrorKind::Relative << Pooling::Mean
                                   << std::vector<float>{(0.25f + 1 + 1.5f) / 4, 1.f / 4,
                                                         2.5f / 4, 4.f / 4};
}

void TestMetrics::errorMapPooling()
{
    QFETCH(ErrorKind, kind);
    QFETCH(Pooling, pooling);
    QFETCH(std::vector<float>, expected);
    const std::vector<float> err{1, -2, 0, 0, 0, 3, 1, 1, -4, 0, 2, 2, 0, 1, 2, -2};
    Matrix w = matrixOf(4, 4, std::vector<float>(16, 2.f));
    w.data[0] = 4;
    Matrix q = w;
    for (int i = 0; i < 16; ++i) q.data[i] = w.data[i] - err[i];
    const Matrix map = errorMap(w, q, 2, 2, kind, pooling);
    QCOMPARE(map.rows, int64_t(2));
    QCOMPARE(map.cols, int64_t(2));
    for (int i = 0; i < 4; ++i) QCOMPARE(map.data[i], expected[i]);
}

void TestMetrics::errorMapGridClampedAndUneven()
{
    // 3 x 5 into 2 x 2: rows split [0,1) [1,3), columns [0,2) [2,5). |err| = index + 1.
    Matrix w = matrixOf(3, 5, std::vector<float>(15, 0.f));
    Matrix q = w;
    for (int i = 0; i < 15; ++i) q.data[i] = -float(i + 1);
    const Matrix max = errorMap(w, q, 2, 2, ErrorKind::Absolute, Pooling::Max);
    QCOMPARE(max.data, (std::vector<float>{2, 5, 12, 15}));
    const Matrix mean = errorMap(w, q, 2, 2, ErrorKind::Absolute, Pooling::Mean);
    QCOMPARE(mean.data, (std::vector<float>{1.5f, 4.f, (6 + 7 + 11 + 12) / 4.f,
                                            (8 + 9 + 10 + 13 + 14 + 15) / 6.f}));
    // A grid larger than the matrix is clamped to it: one cell per weight.
    const Matrix full = errorMap(w, q, 100, 100, ErrorKind::Signed, Pooling::Mean);
    QCOMPARE(full.rows, int64_t(3));
    QCOMPARE(full.cols, int64_t(5));
    for (int i = 0; i < 15; ++i) QCOMPARE(full.data[i], float(i + 1));
    // A cell whose only pair is NaN is NaN; relative error of w = 0, q != 0 has none.
    Matrix w1 = matrixOf(1, 2, {kNaN, 0.f});
    Matrix q1 = matrixOf(1, 2, {1.f, 1.f});
    const Matrix rel = errorMap(w1, q1, 1, 2, ErrorKind::Relative, Pooling::Max);
    QVERIFY(std::isnan(rel.data[0]) && std::isnan(rel.data[1]));
    QCOMPARE(errorMap(w, matrixOf(1, 1, {0}), 2, 2, ErrorKind::Absolute, Pooling::Max).rows,
             int64_t(0));
}

void TestMetrics::outputErrorMatchesNaiveTripleLoop_data()
{
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::newRow("tiny") << 1 << 1 << 1;
    QTest::newRow("odd") << 7 << 13 << 29;
    QTest::newRow("blocks+tail") << 9 << 130 << 1100;
}

void TestMetrics::outputErrorMatchesNaiveTripleLoop()
{
    QFETCH(int, n);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const Matrix x = random(n, cols, 10);
    const Matrix w = random(rows, cols, 11);
    Matrix q = w;
    const Matrix noise = random(rows, cols, 12, 0.05f);
    for (size_t i = 0; i < q.data.size(); ++i) q.data[i] += noise.data[i];
    long double num = 0, den = 0;
    for (int i = 0; i < n; ++i) {
        for (int r = 0; r < rows; ++r) {
            long double yw = 0, yq = 0;
            for (int c = 0; c < cols; ++c) {
                yw += (long double)x.row(i)[c] * w.row(r)[c];
                yq += (long double)x.row(i)[c] * q.row(r)[c];
            }
            num += (yw - yq) * (yw - yq);
            den += yw * yw;
        }
    }
    const double expected = double(std::sqrt(num / den));
    const double got = *outputError(x, w, q);
    QVERIFY2(std::fabs(got - expected) <= 1e-5 * expected,
             qPrintable(QString("%1 vs %2").arg(got, 0, 'g', 17).arg(expected, 0, 'g', 17)));
}

void TestMetrics::outputErrorDegenerate()
{
    const Matrix x = random(3, 4, 1);
    const Matrix w = random(2, 4, 2);
    QCOMPARE(*outputError(x, w, w), 0.0);
    const auto mismatch = outputError(random(3, 5, 1), w, w); // cols mismatch
    QVERIFY(!mismatch);
    QCOMPARE(mismatch.error().code, qs::core::ErrorCode::InvalidArgument);
    const Matrix zero = matrixOf(2, 4, std::vector<float>(8, 0.f));
    QCOMPARE(*outputError(x, zero, zero), 0.0);
    QCOMPARE(*outputError(x, zero, w), std::numeric_limits<double>::infinity());
    QCOMPARE(*outputError(matrixOf(0, 4, {}), w, w), 0.0);
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
