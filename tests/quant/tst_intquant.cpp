// Integer quantization: hand-worked scales, zero points, codes and dequantized values for every
// granularity and rounding mode, plus a naive per-element reference written here (std::nearbyint
// and _Float16 for the FP16 group scales) on random matrices.
#include "quant/quantize.h"
#include "quant/scheme.h"

#include <QtTest>

#include "quant_test_support.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace qs::quant;
using namespace quanttest;

namespace {

Scheme scheme(const char* spec)
{
    auto s = parseScheme(spec);
    if (!s) qFatal("bad scheme %s", spec);
    return *s;
}

Quantized run(const Matrix& w, const char* spec, const RangeOptions& range = {})
{
    auto q = quantizeRtn(w, scheme(spec), range);
    if (!q) qFatal("%s", q.error().message.c_str());
    return std::move(q).value();
}

/// Bitwise comparison, so that NaN == NaN and -0 != 0 are checked exactly.
bool sameFloats(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) && std::isnan(b[i])) continue;
        if (a[i] != b[i]) return false;
    }
    return true;
}

QString dump(const std::vector<float>& v)
{
    QStringList s;
    for (float x : v) s << QString::number(double(x), 'g', 9);
    return s.join(", ");
}

/// The naive reference of intquant.h's definitions: one group's values -> dequantized values.
struct Reference {
    int bits;
    bool asym;
    bool halfScale;

    float scaleOf(float lo, float hi) const
    {
        const float qmax = asym ? float((1 << bits) - 1) : float((1 << (bits - 1)) - 1);
        float s = asym ? (std::max(hi, 0.f) - std::min(lo, 0.f)) / qmax
                       : std::max(std::fabs(lo), std::fabs(hi)) / qmax;
        if (s == 0.f) s = 1.f;
        if (halfScale) s = float(static_cast<_Float16>(s));
        return s;
    }

    void apply(const std::vector<float*>& in, const std::vector<float*>& out) const
    {
        float lo = 0, hi = 0;
        bool first = true;
        for (float* p : in) {
            if (!std::isfinite(*p)) continue;
            lo = first ? *p : std::min(lo, *p);
            hi = first ? *p : std::max(hi, *p);
            first = false;
        }
        const float s = scaleOf(lo, hi);
        const float qmax = asym ? float((1 << bits) - 1) : float((1 << (bits - 1)) - 1);
        const float qmin = asym ? 0.f : -qmax;
        const float zp = asym ? std::clamp(std::nearbyint(-std::min(lo, 0.f) / s), 0.f, qmax) : 0;
        for (size_t i = 0; i < in.size(); ++i) {
            const float x = *in[i];
            const float q = std::clamp(std::nearbyint(x / s) + zp, qmin, qmax);
            *out[i] = std::isfinite(x) ? (q - zp) * s : 0.f; // stored as the zero point
        }
    }
};

} // namespace

class TestIntQuant : public QObject {
    Q_OBJECT
private slots:
    void int4SymmetricHandExample();
    void int4AsymmetricHandExample();
    void asymmetricRangeIncludesZero();
    void int8CodesPacked();
    void int2Levels();
    void granularities_data();
    void granularities();
    void halfAwayVersusEven();
    void stochasticIsUnbiasedAndSeeded();
    void allZeroChannel();
    void nanAndInfExcluded();
    void emptyMatrices();
    void invalidRequests();
    void matchesNaiveReference_data();
    void matchesNaiveReference();
    void fp16GroupScales();
};

void TestIntQuant::int4SymmetricHandExample()
{
    // absmax 1.75, qmax 7 -> scale 0.25; x / scale = 3.5, -7, 1.75, 0.5 -> codes 4 (tie to
    // even), -7, 2, 0 (tie to even) -> 1.0, -1.75, 0.5, 0.
    const auto q = run(matrixOf(1, 4, {0.875f, -1.75f, 0.4375f, 0.125f}), "int4");
    QCOMPARE(scalesOf(q), std::vector<float>{0.25f});
    QCOMPARE(clipHi(q), std::vector<float>{1.75f});
    QVERIFY(zeroPointsOf(q).empty());
    QCOMPARE(q.dequant.data, (std::vector<float>{1.0f, -1.75f, 0.5f, 0.0f}));
    QCOMPARE(groupsPerRow(q), int64_t(1));
    // 4 x 4 bits + one F32 scale = 48 bits = 6 bytes.
    QCOMPARE(q.bytes, uint64_t(6));
    QCOMPARE(q.bitsPerWeight, 12.0);
}

void TestIntQuant::int4AsymmetricHandExample()
{
    // [lo, hi] = [-0.75, 3]: scale = 3.75 / 15 = 0.25, zp = round(0.75 / 0.25) = 3.
    // x / s = -3, 0, 2.5, 4.4, 12 -> round 2 (even), 4 -> +3 = 0, 3, 5, 7, 15.
    const auto q = run(matrixOf(1, 5, {-0.75f, 0.0f, 0.625f, 1.1f, 3.0f}), "int4:asym");
    QCOMPARE(scalesOf(q), std::vector<float>{0.25f});
    QCOMPARE(zeroPointsOf(q), std::vector<int32_t>{3});
    QCOMPARE(clipPairs(q), (std::vector<float>{-0.75f, 3.0f}));
    QCOMPARE(q.dequant.data, (std::vector<float>{-0.75f, 0.0f, 0.5f, 1.0f, 3.0f}));
    // As stored: 5 x 4 bits in ceil(20 / 8) = 3 bytes + an F32 scale + a U8 zero point = 8.
    QCOMPARE(q.bytes, uint64_t(8));
}

void TestIntQuant::asymmetricRangeIncludesZero()
{
    // All positive [0.5, 3.75]: the range becomes [0, 3.75], scale 0.25, zp 0.
    const auto q = run(matrixOf(1, 3, {0.5f, 3.75f, 1.3f}), "int4:asym");
    QCOMPARE(scalesOf(q), std::vector<float>{0.25f});
    QCOMPARE(zeroPointsOf(q), std::vector<int32_t>{0});
    QCOMPARE(clipPairs(q), (std::vector<float>{0.0f, 3.75f}));
    QCOMPARE(q.dequant.data, (std::vector<float>{0.5f, 3.75f, 1.25f})); // 5.2 -> 5
    // All negative [-2, -1] with int2 asym (levels 0..3): [-2, 0], scale 2/3, zp 3.
    const auto n = run(matrixOf(1, 2, {-2.0f, -1.0f}), "int2:asym");
    QCOMPARE(zeroPointsOf(n), std::vector<int32_t>{3});
    QCOMPARE(scalesOf(n), std::vector<float>{2.0f / 3.0f});
}

void TestIntQuant::int8CodesPacked()
{
    // absmax 63.5 -> scale 0.5; codes 127, -2 (-2.5 to even), 2 (1.5 to even), 0 (0.4).
    const auto q = run(matrixOf(1, 4, {63.5f, -1.25f, 0.75f, 0.2f}), "int8");
    QCOMPARE(signedCodes(q), (std::vector<int8_t>{127, -2, 2, 0}));
    QCOMPARE(q.dequant.data, (std::vector<float>{63.5f, -1.0f, 1.0f, 0.0f}));
    // Restricted range: -63.5 maps to -127, never -128.
    const auto neg = run(matrixOf(1, 2, {-63.5f, 10.0f}), "int8");
    QCOMPARE(signedCodes(neg)[0], int8_t(-127));
    // Asymmetric codes are unsigned: [1, 255] -> range [0, 255], scale 1, zp 0: 1, 255.
    // int4 symmetric [3.5, 7]: scale 1, codes 3.5 -> 4 (to even), 7.
    QCOMPARE(run(matrixOf(1, 2, {1.f, 255.f}), "int8:asym").codes, (std::vector<uint8_t>{1, 255}));
    QCOMPARE(signedCodes(run(matrixOf(1, 2, {3.5f, 7.f}), "int4")), (std::vector<int8_t>{4, 7}));
}

void TestIntQuant::int2Levels()
{
    // int2 symmetric: qmax 1, levels {-1, 0, 1}; scale 1; 0.4 -> 0, 0.6 -> 1, 0.5 -> 0 (even).
    const auto q = run(matrixOf(1, 5, {-1.0f, 0.4f, 0.6f, 1.0f, 0.5f}), "int2");
    QCOMPARE(q.dequant.data, (std::vector<float>{-1.0f, 0.0f, 1.0f, 1.0f, 0.0f}));
}

void TestIntQuant::granularities_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<std::vector<float>>("scales");
    QTest::addColumn<std::vector<float>>("dequant");
    QTest::addColumn<qint64>("groupsPerRow");
    // W = [[1.75, 3.5, -7, 0.4375], [0.25, -0.875, 0.125, 14]], int4 (qmax 7); every scale is
    // a power of two so the hand values are exact.
    QTest::newRow("tensor: scale 14/7 = 2")
        << "int4:tensor" << std::vector<float>{2.f}
        << std::vector<float>{2, 4, -8, 0, 0, 0, 0, 14} << 1ll;
    QTest::newRow("channel: 1 and 2")
        << "int4" << std::vector<float>{1.f, 2.f}
        << std::vector<float>{2, 4, -7, 0, 0, 0, 0, 14} << 1ll;
    QTest::newRow("inchannel: 0.25 0.5 1 2")
        << "int4:inchannel" << std::vector<float>{0.25f, 0.5f, 1.f, 2.f}
        << std::vector<float>{1.75f, 3.5f, -7, 0, 0.25f, -1, 0, 14} << 4ll;
    QTest::newRow("group 2")
        << "int4:g2" << std::vector<float>{0.5f, 1.f, 0.125f, 2.f}
        << std::vector<float>{2, 3.5f, -7, 0, 0.25f, -0.875f, 0, 14} << 2ll;
    QTest::newRow("group 3, short last group")
        << "int4:g3" << std::vector<float>{1.f, 0.0625f, 0.125f, 2.f}
        << std::vector<float>{2, 4, -7, 0.4375f, 0.25f, -0.875f, 0.125f, 14} << 2ll;
}

void TestIntQuant::granularities()
{
    QFETCH(QString, spec);
    QFETCH(std::vector<float>, scales);
    QFETCH(std::vector<float>, dequant);
    QFETCH(qint64, groupsPerRow);
    const Matrix w = matrixOf(2, 4, {1.75f, 3.5f, -7.f, 0.4375f, 0.25f, -0.875f, 0.125f, 14.f});
    const auto q = run(w, spec.toUtf8().constData());
    QCOMPARE(scalesOf(q), scales);
    QVERIFY2(q.dequant.data == dequant, qPrintable(dump(q.dequant.data)));
    QCOMPARE(q.grid.perRow, groupsPerRow);
    QCOMPARE(clipHi(q).size(), scales.size());
    for (size_t i = 0; i < scales.size(); ++i) QCOMPARE(clipHi(q)[i], scales[i] * 7.f);
}

void TestIntQuant::halfAwayVersusEven()
{
    // int8 tensor scale 1 (absmax 127): ties 0.5, 1.5, 2.5, -0.5, -2.5.
    const Matrix w = matrixOf(1, 6, {127.f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f});
    QCOMPARE(run(w, "int8").dequant.data,
             (std::vector<float>{127.f, 0.f, 2.f, 2.f, -0.f, -2.f}));
    QCOMPARE(run(w, "int8:away").dequant.data,
             (std::vector<float>{127.f, 1.f, 2.f, 3.f, -1.f, -3.f}));
    // Just below a tie stays below with both.
    const Matrix below = matrixOf(1, 2, {127.f, std::nextafter(0.5f, 0.f)});
    QCOMPARE(run(below, "int8:away").dequant.data[1], 0.f);
}

void TestIntQuant::stochasticIsUnbiasedAndSeeded()
{
    // Scale 1 (absmax 127); 0.3 rounds up with probability 0.3, -0.3 down with 0.3.
    const int n = 20000;
    std::vector<float> v(size_t(2 * n + 1), 0.3f);
    for (int i = n; i < 2 * n; ++i) v[size_t(i)] = -0.3f;
    v.back() = 127.f;
    const Matrix w = matrixOf(1, int64_t(v.size()), v);
    const auto q = run(w, "int8:tensor:stochastic=1234");
    double up = 0, down = 0;
    for (int i = 0; i < n; ++i) {
        const float a = q.dequant.data[size_t(i)];
        const float b = q.dequant.data[size_t(n + i)];
        QVERIFY(a == 0.f || a == 1.f);
        QVERIFY(b == 0.f || b == -1.f);
        up += a;
        down += b;
    }
    // Standard error sqrt(0.21 / 20000) = 0.0032: allow 5 of them.
    QVERIFY2(std::fabs(up / n - 0.3) < 0.017, qPrintable(QString::number(up / n)));
    QVERIFY2(std::fabs(down / n + 0.3) < 0.017, qPrintable(QString::number(down / n)));
    // Same seed, same result; another seed, another result.
    QVERIFY(run(w, "int8:tensor:stochastic=1234").dequant.data == q.dequant.data);
    QVERIFY(run(w, "int8:tensor:stochastic=99").dequant.data != q.dequant.data);
    // Many rows (run on several threads) give the same result twice.
    std::vector<float> big(size_t(512 * 64));
    std::mt19937 gen(3);
    std::normal_distribution<float> normal;
    for (float& x : big) x = normal(gen);
    const Matrix m = matrixOf(512, 64, big);
    QVERIFY(run(m, "int4:g16:stochastic=5").dequant.data ==
            run(m, "int4:g16:stochastic=5").dequant.data);
    // Exact integers never move.
    const auto exact = run(matrixOf(1, 3, {127.f, 3.f, -5.f}), "int8:stochastic=8");
    QCOMPARE(exact.dequant.data, (std::vector<float>{127.f, 3.f, -5.f}));
}

void TestIntQuant::allZeroChannel()
{
    const Matrix w = matrixOf(2, 3, {0.f, 0.f, 0.f, 1.f, -2.f, 0.5f});
    for (const char* spec : {"int8", "int4:asym", "int4:g2", "int3:g2:asym", "int8:inchannel"}) {
        const auto q = run(w, spec);
        const auto scales = scalesOf(q);
        QVERIFY2(std::all_of(scales.begin(), scales.end(), [](float s) { return s > 0; }), spec);
        QCOMPARE(q.dequant.data[0], 0.f);
        QCOMPARE(q.dequant.data[1], 0.f);
        QCOMPARE(q.dequant.data[2], 0.f);
    }
    const auto q = run(w, "int8");
    QCOMPARE(scalesOf(q)[0], 1.f);
    const auto a = run(w, "int4:asym");
    QCOMPARE(scalesOf(a)[0], 1.f);
    QCOMPARE(zeroPointsOf(a)[0], 0);
    // A whole zero tensor.
    const auto z = run(matrixOf(2, 2, {0, 0, 0, 0}), "int8:tensor");
    QCOMPARE(scalesOf(z), std::vector<float>{1.f});
    QCOMPARE(z.dequant.data, (std::vector<float>{0, 0, 0, 0}));
}

void TestIntQuant::nanAndInfExcluded()
{
    // Row 0: NaN and Inf do not enter the range: absmax 3.5 -> scale 0.5.
    const Matrix w = matrixOf(2, 4, {kNaN, 1.75f, -3.5f, kInf, 7.f, 1.f, -kInf, 0.5f});
    const auto q = run(w, "int4");
    QCOMPARE(scalesOf(q), (std::vector<float>{0.5f, 1.f}));
    // An integer code cannot hold NaN or Inf: they are stored as the zero point (value 0), and
    // dequant shows what is stored.
    QVERIFY(sameFloats(q.dequant.data, {0.f, 2.f, -3.5f, 0.f, 7.f, 1.f, 0.f, 0.f}));
    // Per tensor, the range ignores them too (absmax 7 -> scale 1).
    const auto t = run(w, "int4:tensor");
    QCOMPARE(scalesOf(t), std::vector<float>{1.f});
    QVERIFY(sameFloats(t.dequant.data, {0.f, 2.f, -4.f, 0.f, 7.f, 1.f, 0.f, 0.f}));
    // int8 codes of non-finite values are 0.
    const auto c = run(matrixOf(1, 2, {kNaN, 127.f}), "int8");
    QCOMPARE(signedCodes(c)[0], int8_t(0));
    // A group of only NaN gets scale 1 and zero point 0; asymmetric codes are the zero point.
    const auto g = run(matrixOf(1, 4, {kNaN, kNaN, 1.f, 2.f}), "int8:g2:asym");
    QCOMPARE(scalesOf(g)[0], 1.f);
    QCOMPARE(zeroPointsOf(g)[0], 0);
    QCOMPARE(g.codes[0], uint8_t(0));
    QCOMPARE(g.dequant.data[0], 0.f);
    // Asymmetric: [-1, 3] -> scale 4/255, zp round(63.75) = 64; NaN is stored as 64.
    const auto a = run(matrixOf(1, 3, {-1.f, kNaN, 3.f}), "int8:asym");
    QCOMPARE(zeroPointsOf(a)[0], 64);
    QCOMPARE(a.codes[1], uint8_t(64));
    QCOMPARE(a.dequant.data[1], 0.f);
}

void TestIntQuant::emptyMatrices()
{
    // What a file stores for an empty tensor: no codes, but the scales of the groups that
    // exist (one F32 per tensor; one per row for channel scales; none for empty groups).
    struct Case {
        int64_t rows, cols;
        const char* spec;
        uint64_t bytes;
        size_t groups;
    };
    const Case cases[] = {
        {0, 0, "int8", 0, 0},       {0, 0, "int4:g32:asym", 0, 0}, {0, 0, "int8:tensor", 4, 1},
        {0, 0, "int8:inchannel", 0, 0}, {0, 7, "int8", 0, 0},      {0, 7, "int4:g32:asym", 0, 0},
        {0, 7, "int8:tensor", 4, 1}, {0, 7, "int8:inchannel", 28, 7}, {5, 0, "int8", 20, 5},
        {5, 0, "int4:g32:asym", 0, 0}, {5, 0, "int8:tensor", 4, 1}, {5, 0, "int8:inchannel", 0, 0},
    };
    for (const Case& c : cases) {
        const auto q = run(matrixOf(c.rows, c.cols, {}), c.spec);
        QCOMPARE(q.dequant.rows, c.rows);
        QCOMPARE(q.dequant.cols, c.cols);
        QVERIFY(q.dequant.data.empty());
        QVERIFY(q.codes.empty());
        QCOMPARE(q.bytes, c.bytes);
        QCOMPARE(q.bitsPerWeight, 0.0);
        QCOMPARE(q.clip.size(), c.groups);
    }
}

void TestIntQuant::invalidRequests()
{
    auto mismatch = quantizeRtn(matrixOf(2, 2, {1, 2, 3}), scheme("int8"));
    QVERIFY(!mismatch.ok());
    QCOMPARE(mismatch.error().code, qs::core::ErrorCode::InvalidArgument);
    QVERIFY(QString::fromStdString(mismatch.error().message).contains("3 values"));
    RangeOptions bad;
    bad.method = ClipMethod::Percentile;
    bad.percentile = 0;
    QVERIFY(!quantizeRtn(matrixOf(1, 1, {1}), scheme("int8"), bad).ok());
    bad.percentile = 99;
    bad.mseSteps = 101;
    QVERIFY(!quantizeRtn(matrixOf(1, 1, {1}), scheme("int8"), bad).ok());
    Scheme wrong = scheme("int8");
    wrong.bits = 9;
    QVERIFY(!quantizeRtn(matrixOf(1, 1, {1}), wrong).ok());
    wrong = scheme("int4:g32");
    wrong.groupSize = 0;
    QVERIFY(!quantizeRtn(matrixOf(1, 1, {1}), wrong).ok());
    qs::core::Progress cancel;
    cancel.cancelRequested = true;
    auto c = quantizeRtn(matrixOf(1, 1, {1}), scheme("int8"), {}, &cancel);
    QVERIFY(!c.ok());
    QCOMPARE(c.error().code, qs::core::ErrorCode::Cancelled);
}

void TestIntQuant::matchesNaiveReference_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("asym");
    QTest::addColumn<int>("group"); // -1 tensor, 0 channel, -2 inchannel
    QTest::newRow("int8 channel") << "int8" << 8 << false << 0;
    QTest::newRow("int8 tensor asym") << "int8:tensor:asym" << 8 << true << -1;
    QTest::newRow("int5 channel asym") << "int5:asym" << 5 << true << 0;
    QTest::newRow("int3 inchannel") << "int3:inchannel" << 3 << false << -2;
    QTest::newRow("int4 g16") << "int4:g16" << 4 << false << 16;
    QTest::newRow("int4 g32 asym") << "int4:g32:asym" << 4 << true << 32;
    QTest::newRow("int6 g7 asym") << "int6:g7:asym" << 6 << true << 7;
    QTest::newRow("int2 g128") << "int2:g128" << 2 << false << 128;
}

void TestIntQuant::matchesNaiveReference()
{
    QFETCH(QString, spec);
    QFETCH(int, bits);
    QFETCH(bool, asym);
    QFETCH(int, group);
    const int64_t rows = 37, cols = 53;
    std::mt19937 gen(11);
    std::normal_distribution<float> normal(0.1f, 0.8f);
    std::vector<float> v(size_t(rows * cols));
    for (float& x : v) x = normal(gen);
    v[5] = kNaN;
    v[200] = -kInf;
    Matrix w = matrixOf(rows, cols, v);
    std::vector<float> expect(v.size());
    const Reference ref{bits, asym, group > 0};
    auto ptrs = [&](auto pick) {
        std::vector<float*> in, out;
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                if (!pick(r, c)) continue;
                in.push_back(&w.data[size_t(r * cols + c)]);
                out.push_back(&expect[size_t(r * cols + c)]);
            }
        }
        ref.apply(in, out);
    };
    if (group == -1) ptrs([](int64_t, int64_t) { return true; });
    if (group == 0) {
        for (int64_t rr = 0; rr < rows; ++rr) ptrs([rr](int64_t r, int64_t) { return r == rr; });
    }
    if (group == -2) {
        for (int64_t cc = 0; cc < cols; ++cc) ptrs([cc](int64_t, int64_t c) { return c == cc; });
    }
    if (group > 0) {
        for (int64_t rr = 0; rr < rows; ++rr) {
            for (int64_t g0 = 0; g0 < cols; g0 += group) {
                ptrs([=](int64_t r, int64_t c) { return r == rr && c >= g0 && c < g0 + group; });
            }
        }
    }
    const auto q = run(w, spec.toUtf8().constData());
    QVERIFY(sameFloats(q.dequant.data, expect));
}

void TestIntQuant::fp16GroupScales()
{
    // Group scale 1/7 is stored as the nearest half: 0x3092 = 0.142822265625 (1/7 =
    // 0.142857...; half has 10 fraction bits: 1.0010010010b * 2^-3 = 0.142822265625).
    const auto q = run(matrixOf(1, 2, {1.f, 0.5f}), "int4:g2");
    QCOMPARE(scalesOf(q), std::vector<float>{0.142822265625f});
    // Per channel the same scale stays F32.
    const auto c = run(matrixOf(1, 2, {1.f, 0.5f}), "int4");
    QCOMPARE(scalesOf(c), std::vector<float>{1.f / 7.f});
}

QTEST_APPLESS_MAIN(TestIntQuant)
#include "tst_intquant.moc"
