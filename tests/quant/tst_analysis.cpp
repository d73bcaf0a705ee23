// quantizeAndMeasure (the fused pass) against the separate passes: the same codes and decoded
// values as quantizeRtn, metrics bit-identical to compareValues and an error map
// bit-identical to errorMap, on shapes whose metric chunks and map cells straddle the codecs'
// row blocks. errorMap itself is checked against a plain second implementation of its
// definition (cells pooled in row-major order, in double).
#include "quant/analysis.h"

#include "quant_test_support.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

Q_DECLARE_METATYPE(qs::quant::ErrorKind)
Q_DECLARE_METATYPE(qs::quant::Pooling)

using namespace qs::quant;
using quanttest::kInf;
using quanttest::kNaN;

namespace {

Matrix randomLayer(int64_t rows, int64_t cols, bool nonFinite, unsigned seed)
{
    Matrix w{rows, cols, std::vector<float>(size_t(rows * cols))};
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.f, 0.05f);
    for (float& x : w.data) x = normal(gen);
    if (nonFinite && w.data.size() > 40) {
        w.data[3] = kNaN;
        w.data[w.data.size() / 2] = kInf;
        w.data[w.data.size() - 7] = -kInf;
    }
    return w;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool sameBits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

/// errorMap's definition written out plainly: every cell's pairs in row-major order.
Matrix plainErrorMap(const Matrix& w, const Matrix& q, int64_t gridRows, int64_t gridCols, ErrorKind kind,
                     Pooling pooling)
{
    Matrix map{std::min(gridRows, w.rows), std::min(gridCols, w.cols), {}};
    map.data.resize(size_t(map.rows * map.cols));
    for (int64_t i = 0; i < map.rows; ++i) {
        for (int64_t j = 0; j < map.cols; ++j) {
            double sum = 0, best = std::numeric_limits<double>::quiet_NaN();
            uint64_t n = 0;
            for (int64_t r = i * w.rows / map.rows; r < (i + 1) * w.rows / map.rows; ++r) {
                for (int64_t c = j * w.cols / map.cols; c < (j + 1) * w.cols / map.cols; ++c) {
                    const float a = w.data[size_t(r * w.cols + c)], b = q.data[size_t(r * w.cols + c)];
                    if (!std::isfinite(a) || !std::isfinite(b)) continue;
                    double e = double(a) - double(b);
                    if (kind == ErrorKind::Absolute) e = std::fabs(e);
                    if (kind == ErrorKind::Relative) {
                        if (a == 0 && e != 0) continue;
                        e = a == 0 ? 0.0 : std::fabs(e) / std::fabs(double(a));
                    }
                    sum += e;
                    ++n;
                    if (std::isnan(best) || std::fabs(e) > std::fabs(best)) best = e;
                }
            }
            map.data[size_t(i * map.cols + j)] =
                n == 0 ? std::numeric_limits<float>::quiet_NaN() : float(pooling == Pooling::Max ? best : sum / double(n));
        }
    }
    return map;
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT
private slots:
    void fusedEqualsSeparatePasses_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<int>("gridRows");
        QTest::addColumn<int>("gridCols");
        QTest::addColumn<ErrorKind>("kind");
        QTest::addColumn<Pooling>("pooling");
        QTest::addColumn<bool>("nonFinite");
        // 300 columns: 218-row codec blocks against 65,536-value chunks that straddle them.
        QTest::newRow("int8 300x300 abs max") << "int8" << 300 << 300 << 7 << 5 << ErrorKind::Absolute << Pooling::Max << false;
        QTest::newRow("int4:g128 odd, signed mean") << "int4:g128" << 517 << 389 << 64 << 64 << ErrorKind::Signed << Pooling::Mean << true;
        QTest::newRow("int4:g32:asym, relative max") << "int4:g32:asym" << 96 << 1000 << 9 << 31 << ErrorKind::Relative << Pooling::Max << true;
        QTest::newRow("nf4 grid above shape") << "nf4" << 13 << 200 << 100 << 300 << ErrorKind::Signed << Pooling::Max << true;
        QTest::newRow("nf4:dq two passes") << "nf4:dq" << 700 << 192 << 3 << 3 << ErrorKind::Absolute << Pooling::Mean << false;
        QTest::newRow("mxfp4 256 cells") << "mxfp4" << 512 << 512 << 256 << 256 << ErrorKind::Absolute << Pooling::Max << true;
        QTest::newRow("nvfp4 odd") << "nvfp4" << 129 << 1001 << 16 << 16 << ErrorKind::Relative << Pooling::Mean << true;
        QTest::newRow("fp8 per channel") << "fp8_e4m3:channel" << 77 << 4096 << 10 << 64 << ErrorKind::Signed << Pooling::Max << true;
        QTest::newRow("int8 inchannel, wide rows") << "int8:inchannel" << 5 << 70000 << 2 << 9 << ErrorKind::Absolute << Pooling::Mean << false;
        QTest::newRow("q4_k") << "q4_k" << 64 << 512 << 8 << 8 << ErrorKind::Absolute << Pooling::Max << false;
        QTest::newRow("q6_k odd rows") << "q6_k" << 301 << 256 << 64 << 4 << ErrorKind::Signed << Pooling::Mean << true;
        QTest::newRow("one row") << "int8" << 1 << 33 << 4 << 4 << ErrorKind::Absolute << Pooling::Max << false;
    }

    void fusedEqualsSeparatePasses()
    {
        QFETCH(QString, scheme);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(int, gridRows);
        QFETCH(int, gridCols);
        QFETCH(ErrorKind, kind);
        QFETCH(Pooling, pooling);
        QFETCH(bool, nonFinite);
        const auto s = parseScheme(scheme.toStdString());
        QVERIFY2(s.ok(), qPrintable(scheme));
        const Matrix w = randomLayer(rows, cols, nonFinite, unsigned(rows * 31 + cols));
        auto plain = quantizeRtn(w, *s);
        QVERIFY(plain.ok());
        const MeasureOptions options{gridRows, gridCols, kind, pooling};
        Measured previous;
        for (int run = 0; run < 2; ++run) { // fresh buffers, then reusing the previous result's
            auto fused = quantizeAndMeasure(w, *s, {}, options, nullptr, run == 0 ? nullptr : &previous);
            if (!fused) QFAIL(fused.error().message.c_str());
            QCOMPARE(fused->q.codes, plain->codes);
            QVERIFY(sameBits(fused->q.dequant.data, plain->dequant.data));

            const ErrorMetrics expected = compareValues(w.values(), plain->dequant.values());
            const ErrorMetrics& got = fused->metrics;
            QVERIFY(sameBits(got.mse, expected.mse) && sameBits(got.rmse, expected.rmse));
            QVERIFY(sameBits(got.sqnrDb, expected.sqnrDb) && sameBits(got.maxAbsErr, expected.maxAbsErr));
            QVERIFY(sameBits(got.cosine, expected.cosine) && sameBits(got.relFro, expected.relFro));
            QCOMPARE(got.count, expected.count);
            QCOMPARE(got.skipped, expected.skipped);

            const Matrix map = errorMap(w, plain->dequant, gridRows, gridCols, kind, pooling);
            QCOMPARE(fused->errorMap.rows, map.rows);
            QCOMPARE(fused->errorMap.cols, map.cols);
            QVERIFY(sameBits(fused->errorMap.data, map.data));
            QVERIFY(sameBits(map.data, plainErrorMap(w, plain->dequant, gridRows, gridCols, kind, pooling).data));
            previous = std::move(*fused);
        }
    }

    void refusesAnEmptyGrid()
    {
        const Matrix w = randomLayer(4, 32, false, 1);
        auto r = quantizeAndMeasure(w, *parseScheme("int8"), {}, MeasureOptions{0, 4});
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("at least 1 x 1") != std::string::npos);
    }

    void refusesAMatrixWithoutItsValues()
    {
        // A shape whose product is huge and not the data size is an error, not an allocation.
        auto r = quantizeAndMeasure(Matrix{int64_t(1) << 40, int64_t(1) << 40, {1.f, 2.f}}, *parseScheme("int8"));
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("does not match") != std::string::npos);
    }

    void emptyMatrix()
    {
        auto r = quantizeAndMeasure(Matrix{0, 8, {}}, *parseScheme("int8"));
        QVERIFY(r.ok());
        QCOMPARE(r->metrics.count, uint64_t(0));
        QCOMPARE(r->errorMap.rows, int64_t(0));
    }
};

QTEST_GUILESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
