// Range choice: quantiles against numpy's linear method worked by hand, the MSE search with a
// hand-made error function, clip methods on tensors with planted outliers (errors measured
// here), and TensorRT's KL calibration on a tiny histogram worked by hand and on Gaussian data.
#include "quant/quantize.h"
#include "quant/range.h"
#include "quant/scheme.h"

#include <QtTest>

#include "quant_test_support.h"

#include <cmath>
#include <limits>
#include <random>

using namespace qs::quant;
using namespace quanttest;

namespace {


Matrix outlierMatrix(int64_t rows, int64_t cols, float outlier, uint32_t seed)
{
    Matrix m;
    m.rows = rows;
    m.cols = cols;
    m.data.resize(size_t(rows * cols));
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    for (float& x : m.data) x = normal(gen);
    for (int64_t r = 0; r < rows; ++r) m.data[size_t(r * cols + (r * 7) % cols)] = outlier;
    return m;
}

/// Squared error of the columns [c0, c1) of row r.
double sse(const Matrix& a, const Matrix& b, int64_t r, int64_t c0, int64_t c1)
{
    double s = 0;
    for (int64_t c = c0; c < c1; ++c) {
        const double d = double(a.row(r)[c]) - double(b.row(r)[c]);
        s += d * d;
    }
    return s;
}

Quantized run(const Matrix& w, const char* spec, ClipMethod method, double percentile = 99.9)
{
    auto s = parseScheme(spec);
    if (!s) qFatal("bad scheme %s", spec);
    RangeOptions o;
    o.method = method;
    o.percentile = percentile;
    auto q = quantizeRtn(w, *s, o);
    if (!q) qFatal("%s", q.error().message.c_str());
    return std::move(q).value();
}

} // namespace

class TestRange : public QObject {
    Q_OBJECT
private slots:
    void quantileLinear_data();
    void quantileLinear();
    void percentileRanges();
    void minMax();
    void mseSearchPicksMinimum();
    void validation();
    void outlierClipBeatsMinMax_data();
    void outlierClipBeatsMinMax();
    void mseNeverWorseThanMinMaxPerGroup_data();
    void mseNeverWorseThanMinMaxPerGroup();
    void clipRefusedWhereTheFormatHasNone_data();
    void clipRefusedWhereTheFormatHasNone();
    void klTinyHandExample();
    void klGaussianThreshold();
    void klDegenerate();
};

void TestRange::quantileLinear_data()
{
    // numpy.quantile([1, 2, 3, 4, 5], q) with the default 'linear' method: q * (n - 1).
    QTest::addColumn<double>("q");
    QTest::addColumn<float>("expected");
    QTest::newRow("min") << 0.0 << 1.f;
    QTest::newRow("median") << 0.5 << 3.f;
    QTest::newRow("0.9: position 3.6") << 0.9 << 4.6f;
    QTest::newRow("0.1: position 0.4") << 0.1 << 1.4f;
    QTest::newRow("max") << 1.0 << 5.f;
}

void TestRange::quantileLinear()
{
    QFETCH(double, q);
    QFETCH(float, expected);
    std::vector<float> v{5, 3, 1, 4, 2};
    QVERIFY(std::fabs(quantile(v, q) - expected) < 1e-6f);
}

void TestRange::percentileRanges()
{
    // |x| = 10, 1, 2, 3 sorted 1 2 3 10; the 50th percentile at position 1.5 is 2.5.
    std::vector<float> v{-10, 1, 2, 3};
    QCOMPARE(percentileRange(v, 50, true), (ClipRange{-2.5f, 2.5f}));
    // Asymmetric 75: the 25% quantile at position 0.75 of -10 1 2 3 is -10 + 0.75 * 11 = -1.75,
    // the 75% quantile at 2.25 is 2.25.
    std::vector<float> w{-10, 1, 2, 3};
    QCOMPARE(percentileRange(w, 75, false), (ClipRange{-1.75f, 2.25f}));
    std::vector<float> none;
    QCOMPARE(percentileRange(none, 99, true), ClipRange{});
}

void TestRange::minMax()
{
    const std::vector<float> v{-3, 1, 2};
    QCOMPARE(minMaxRange(v, false), (ClipRange{-3, 2}));
    QCOMPARE(minMaxRange(v, true), (ClipRange{-3, 3}));
    QCOMPARE(minMaxRange({}, true), ClipRange{});
}

void TestRange::mseSearchPicksMinimum()
{
    // Error (hi - 0.8)^2 is smallest at ratio 0.8, reached with k = 20 (21 steps or more).
    auto err = [](ClipRange c) { return double(c.hi - 0.8f) * double(c.hi - 0.8f); };
    const ClipRange best = mseRange({-1.f, 1.f}, 50, err);
    QVERIFY(std::fabs(best.hi - 0.8f) < 1e-6f);
    QCOMPARE(best.lo, -best.hi);
    // With 10 steps the smallest ratio tried is 0.91.
    QVERIFY(std::fabs(mseRange({-1.f, 1.f}, 10, err).hi - 0.91f) < 1e-6f);
    // A flat error keeps the full range (the first tried).
    QCOMPARE(mseRange({-2.f, 3.f}, 50, [](ClipRange) { return 1.0; }), (ClipRange{-2.f, 3.f}));
}

void TestRange::validation()
{
    RangeOptions o;
    QVERIFY(validateRange(o).ok());
    o.percentile = 0;
    QVERIFY(!validateRange(o).ok());
    o.percentile = 100.5;
    QVERIFY(!validateRange(o).ok());
    o.percentile = 100;
    QVERIFY(validateRange(o).ok());
    o.mseSteps = 0;
    QVERIFY(!validateRange(o).ok());
    QVERIFY(QString::fromStdString(validateRange(o).error().message).contains("mseSteps"));
}

void TestRange::outlierClipBeatsMinMax_data()
{
    QTest::addColumn<QString>("spec");
    QTest::newRow("int4 channel") << "int4";
    QTest::newRow("int4 channel asym") << "int4:asym";
    QTest::newRow("int3 tensor") << "int3:tensor";
}

void TestRange::outlierClipBeatsMinMax()
{
    // Rows of 4096 N(0, 1) values with one planted 20: min-max spends the grid on the outlier
    // (step 20/7, almost everything rounds to 0); a clip near 3.3 sigma loses the outlier
    // (~(20 - 3.3)^2 / 4096 = 0.07) but resolves the rest.
    QFETCH(QString, spec);
    const Matrix w = outlierMatrix(6, 4096, 20.f, 17);
    const QByteArray s = spec.toUtf8();
    const auto mm = run(w, s.constData(), ClipMethod::MinMax);
    const auto pc = run(w, s.constData(), ClipMethod::Percentile, 99.9);
    const auto ms = run(w, s.constData(), ClipMethod::Mse);
    double eMm = 0, ePc = 0, eMs = 0;
    for (int64_t r = 0; r < w.rows; ++r) {
        eMm += sse(w, mm.dequant, r, 0, w.cols);
        ePc += sse(w, pc.dequant, r, 0, w.cols);
        eMs += sse(w, ms.dequant, r, 0, w.cols);
    }
    QVERIFY2(ePc < 0.5 * eMm, qPrintable(QString("percentile %1 minmax %2").arg(ePc).arg(eMm)));
    QVERIFY2(eMs < 0.8 * eMm, qPrintable(QString("mse %1 minmax %2").arg(eMs).arg(eMm)));
    // The reported clips: min-max keeps the outlier, the others clip below it.
    for (float hi : clipHi(mm)) QCOMPARE(hi, 20.f);
    float maxPc = 0;
    for (float c : clipPairs(pc)) maxPc = std::max(maxPc, std::fabs(c));
    QVERIFY2(maxPc < 6.f, qPrintable(QString::number(maxPc)));
    for (float c : clipPairs(ms)) QVERIFY(std::fabs(c) <= 20.f);
}

void TestRange::mseNeverWorseThanMinMaxPerGroup_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<int>("group"); // 0 = channel
    QTest::newRow("int4 g128") << "int4:g128" << 128;
    QTest::newRow("int3 g64 asym") << "int3:g64:asym" << 64;
    QTest::newRow("int8 channel") << "int8" << 0;
    QTest::newRow("fp8 e4m3 channel") << "fp8_e4m3" << 0;
}

void TestRange::mseNeverWorseThanMinMaxPerGroup()
{
    // The search includes ratio 1 and scores with the same quantizer, so no group may get worse.
    QFETCH(QString, spec);
    QFETCH(int, group);
    const Matrix w = outlierMatrix(16, 512, 9.f, 5);
    const QByteArray s = spec.toUtf8();
    const auto mm = run(w, s.constData(), ClipMethod::MinMax);
    const auto ms = run(w, s.constData(), ClipMethod::Mse);
    const int64_t g = group == 0 ? w.cols : group;
    int better = 0;
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t c0 = 0; c0 < w.cols; c0 += g) {
            const double a = sse(w, mm.dequant, r, c0, c0 + g);
            const double b = sse(w, ms.dequant, r, c0, c0 + g);
            QVERIFY2(b <= a * (1 + 1e-9), qPrintable(QString("row %1 col %2").arg(r).arg(c0)));
            better += b < a ? 1 : 0;
        }
    }
    QVERIFY(better > 0);
}

void TestRange::clipRefusedWhereTheFormatHasNone_data()
{
    QTest::addColumn<QString>("scheme");
    QTest::addColumn<bool>("clips");
    QTest::newRow("int4") << "int4" << true;
    QTest::newRow("int4:g32:asym") << "int4:g32:asym" << true;
    QTest::newRow("fp8_e4m3") << "fp8_e4m3" << true;
    QTest::newRow("nf4") << "nf4" << false;
    QTest::newRow("mxfp4") << "mxfp4" << false;
    QTest::newRow("nvfp4") << "nvfp4" << false;
    QTest::newRow("q4_k") << "q4_k" << false;
    QTest::newRow("q8_0") << "q8_0" << false;
}

void TestRange::clipRefusedWhereTheFormatHasNone()
{
    // A clip the format cannot apply (its scales come from each block's absmax) is refused
    // with a message, never dropped; min-max is every format's own range.
    QFETCH(QString, scheme);
    QFETCH(bool, clips);
    const auto s = parseScheme(scheme.toStdString());
    QVERIFY(bool(s));
    const Matrix w = outlierMatrix(2, 256, 8.f, 5);
    for (ClipMethod m : {ClipMethod::Mse, ClipMethod::Percentile}) {
        RangeOptions range;
        range.method = m;
        range.percentile = 99.0;
        const auto q = quantizeRtn(w, *s, range);
        QCOMPARE(bool(q), clips);
        if (!clips) {
            QCOMPARE(q.error().code, qs::core::ErrorCode::InvalidArgument);
            QVERIFY2(QString::fromStdString(q.error().message).contains("does not apply"), q.error().message.c_str());
        }
        QCOMPARE(bool(checkClip(*s, range)), clips);
    }
    QVERIFY(bool(quantizeRtn(w, *s, RangeOptions{})));
}

void TestRange::klTinyHandExample()
{
    // |x| = 0.5 x4, 1.5 x2, 4 x1 (amax 4); 4 bins of width 1: hist [4, 2, 0, 1]; 2 levels.
    const std::vector<float> x{0.5f, -0.5f, 0.5f, 0.5f, 1.5f, -1.5f, 4.f};
    // i = 2: P = [4, 2+0+1], Q = [4, 2] (one bin per level) -> p = [4/7, 3/7], q = [4/6, 2/6].
    const double kl2 =
        4. / 7 * std::log((4. / 7) / (4. / 6)) + 3. / 7 * std::log((3. / 7) / (2. / 6));
    // i = 3: P = [4, 2, 0+1]; chunks [0,1) and [1,3) (the last takes the remainder): Q = [4, 1, 1]
    // (the chunk count 2 spread over its two nonzero-P bins).
    const double kl3 = 4. / 7 * std::log((4. / 7) / (4. / 6)) +
                       2. / 7 * std::log((2. / 7) / (1. / 6)) +
                       1. / 7 * std::log((1. / 7) / (1. / 6));
    // i = 4: P = [4, 2, 0, 1], chunks [0,2) and [2,4): Q = [3, 3, 0, 1].
    const double kl4 = 4. / 7 * std::log(4. / 3) + 2. / 7 * std::log(2. / 3);
    const std::vector<uint64_t> hist{4, 2, 0, 1};
    QVERIFY(std::fabs(klDivergenceAt(hist, 2, 2) - kl2) < 1e-12);
    QVERIFY(std::fabs(klDivergenceAt(hist, 3, 2) - kl3) < 1e-12);
    QVERIFY(std::fabs(klDivergenceAt(hist, 4, 2) - kl4) < 1e-12);
    auto k = klCalibrate(x, 4, 2);
    QVERIFY(k.ok());
    QCOMPARE(k->amax, 4.f);
    QCOMPARE(k->bins, 2); // kl2 = 0.0196 < kl3 = 0.0439 < kl4 = 0.0485
    QCOMPARE(k->threshold, 2.f);
    QVERIFY(std::fabs(k->divergence - kl2) < 1e-12);
    // A candidate whose Q is 0 where P is not is infinitely bad: hist [1, 0, 0, 1] at i = 3
    // puts the outlier in bin 2, whose chunk [1, 3) holds no count.
    const std::vector<uint64_t> gap{1, 0, 0, 1};
    QVERIFY(std::isinf(klDivergenceAt(gap, 3, 2)));
}

void TestRange::klGaussianThreshold()
{
    std::mt19937 gen(2024);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(200000);
    for (float& v : x) v = normal(gen);
    auto k = klCalibrate(x);
    QVERIFY(k.ok());
    QVERIFY2(k->threshold > 2.5f && k->threshold < 5.f, qPrintable(QString::number(k->threshold)));
    QVERIFY(k->threshold <= k->amax);
    QVERIFY(k->bins >= 128 && k->bins <= 2048);
    // Scaling the samples scales the threshold (the histogram is the same).
    for (float& v : x) v *= 4.f;
    auto k4 = klCalibrate(x);
    QVERIFY(k4.ok());
    QCOMPARE(k4->bins, k->bins);
    QVERIFY(std::fabs(k4->threshold - 4.f * k->threshold) < 1e-4f * k4->threshold);
}

void TestRange::klDegenerate()
{
    auto zero = klCalibrate(std::vector<float>{0.f, 0.f, kNaN});
    QVERIFY(zero.ok());
    QCOMPARE(zero->threshold, 0.f);
    auto empty = klCalibrate({});
    QVERIFY(empty.ok());
    QCOMPARE(empty->threshold, 0.f);
    // NaN is ignored: the same answer with and without it.
    const std::vector<float> x{0.5f, 0.5f, 1.5f, 4.f};
    const std::vector<float> xn{0.5f, kNaN, 0.5f, 1.5f, 4.f};
    QCOMPARE(klCalibrate(x, 4, 2)->threshold, klCalibrate(xn, 4, 2)->threshold);
    QVERIFY(!klCalibrate(x, 4, 8).ok());
    QVERIFY(!klCalibrate(x, 4, 0).ok());
}

QTEST_APPLESS_MAIN(TestRange)
#include "tst_range.moc"
