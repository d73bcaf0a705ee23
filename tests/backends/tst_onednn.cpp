// The oneDNN linear layer and int8 reorder against plain loops written here.
#include "backends/onednn/onednn_linear.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace qs;
using namespace qs::backends::onednn;

namespace {

quant::Matrix randomMatrix(int64_t rows, int64_t cols, uint64_t seed, float lo = -1, float hi = 1)
{
    quant::Matrix m;
    m.rows = rows, m.cols = cols;
    m.data.resize(static_cast<size_t>(rows * cols));
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float& v : m.data)
        v = dist(rng);
    return m;
}

/// y = x W^T in double.
std::vector<double> referenceLinear(const std::vector<float>& x, int64_t batch,
                                    const quant::Matrix& w)
{
    std::vector<double> y(static_cast<size_t>(batch * w.rows));
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t n = 0; n < w.rows; ++n) {
            double acc = 0;
            for (int64_t k = 0; k < w.cols; ++k)
                acc += double(x[size_t(b * w.cols + k)]) * double(w.data[size_t(n * w.cols + k)]);
            y[size_t(b * w.rows + n)] = acc;
        }
    return y;
}

/// Round to nearest even, then saturate: what a oneDNN f32 -> int8 reorder does.
int32_t toInt(float v, int32_t lo, int32_t hi)
{
    return std::clamp(static_cast<int32_t>(std::nearbyint(v)), lo, hi);
}

bool hasVnni() { return cpuIsaName().find("no VNNI") == std::string::npos; }

} // namespace

class TestOnednn : public QObject {
    Q_OBJECT
private slots:
    void f32MatchesReferenceOnOddShapes_data();
    void f32MatchesReferenceOnOddShapes();
    void bf16WithinBf16Bound();
    void f16RunsExactlyWhereProbed();
    void reorderQuantizeMatchesHandRounding();
    void reorderSaturatesAndRoundsTiesToEven();
    void int8MatmulMatchesIntegerReference_data();
    void int8MatmulMatchesIntegerReference();
    void badArgumentsAreErrors();
};

void TestOnednn::f32MatchesReferenceOnOddShapes_data()
{
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("in");
    QTest::addColumn<int>("out");
    QTest::newRow("1x37x19") << 1 << 37 << 19;
    QTest::newRow("3x64x10") << 3 << 64 << 10;
    QTest::newRow("7x129x65") << 7 << 129 << 65;
}

void TestOnednn::f32MatchesReferenceOnOddShapes()
{
    QFETCH(int, batch);
    QFETCH(int, in);
    QFETCH(int, out);
    const auto w = randomMatrix(out, in, 1);
    const auto x = randomMatrix(batch, in, 2).data;
    auto linear = Linear::create(w, batch, Precision::F32);
    QVERIFY2(linear.ok(), linear.ok() ? "" : linear.error().message.c_str());
    std::vector<float> y(size_t(batch * out));
    QVERIFY((*linear)->run(x, y).ok());
    const auto ref = referenceLinear(x, batch, w);
    for (size_t i = 0; i < y.size(); ++i) // f32 accumulation of `in` products of |.| <= 1
        QVERIFY2(std::abs(y[i] - ref[i]) <= 1e-6 * in + 1e-6, qPrintable(QString::number(i)));
    QVERIFY(!(*linear)->implementation().empty());
}

void TestOnednn::bf16WithinBf16Bound()
{
    const int batch = 4, in = 96, out = 33;
    const auto w = randomMatrix(out, in, 3);
    const auto x = randomMatrix(batch, in, 4).data;
    auto linear = Linear::create(w, batch, Precision::BF16);
    QVERIFY2(linear.ok(), linear.ok() ? "" : linear.error().message.c_str());
    std::vector<float> y(size_t(batch * out));
    QVERIFY((*linear)->run(x, y).ok());
    const auto ref = referenceLinear(x, batch, w);
    // bf16 keeps 8 significant bits: each operand is off by at most 2^-9 relative, so each
    // product by at most ~2^-8 relative; |x|,|w| <= 1 bounds the sum of errors by in * 2^-8.
    const double bound = in * std::ldexp(1.0, -8);
    double worst = 0;
    for (size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::abs(y[i] - ref[i]));
    QVERIFY2(worst <= bound, qPrintable(QString("worst %1 bound %2").arg(worst).arg(bound)));
    QVERIFY(worst > 0); // it really ran in bf16
}

void TestOnednn::f16RunsExactlyWhereProbed()
{
    const int batch = 3, in = 80, out = 17;
    const auto w = randomMatrix(out, in, 9);
    const auto x = randomMatrix(batch, in, 10).data;
    auto linear = Linear::create(w, batch, Precision::F16);
    const core::Status probe = f16MatmulSupport();
    QCOMPARE(linear.ok(), probe.ok());
    if (!linear.ok()) { // oneDNN 2.6 without AVX512-FP16: the primitive cannot be created
        QCOMPARE(int(linear.error().code), int(core::ErrorCode::Unsupported));
        QCOMPARE(int(probe.error().code), int(core::ErrorCode::Unsupported));
        qInfo("%s (%s)", linear.error().message.c_str(), cpuIsaName().c_str());
        return;
    }
    std::vector<float> y(size_t(batch * out));
    QVERIFY((*linear)->run(x, y).ok());
    const auto ref = referenceLinear(x, batch, w);
    // A half keeps 11 significant bits: each operand is off by at most 2^-12 relative, each
    // product by at most ~2^-11; |x|,|w| <= 1 bounds the sum of errors by in * 2^-11 (+ f32 sums).
    const double bound = in * std::ldexp(1.0, -11) + in * std::ldexp(1.0, -23);
    for (size_t i = 0; i < y.size(); ++i)
        QVERIFY2(std::abs(y[i] - ref[i]) <= bound, qPrintable(QString::number(i)));
}

void TestOnednn::reorderQuantizeMatchesHandRounding()
{
    const auto w = randomMatrix(17, 45, 5, -3, 3);
    std::vector<float> scales(17);
    for (int64_t r = 0; r < w.rows; ++r) {
        float amax = 0;
        for (int64_t c = 0; c < w.cols; ++c)
            amax = std::max(amax, std::abs(w.row(r)[c]));
        scales[size_t(r)] = amax / 127.0f;
    }
    auto codes = reorderQuantizeInt8(w, scales);
    QVERIFY2(codes.ok(), codes.ok() ? "" : codes.error().message.c_str());
    for (int64_t r = 0; r < w.rows; ++r) {
        const float inv = 1.0f / scales[size_t(r)];
        for (int64_t c = 0; c < w.cols; ++c)
            QCOMPARE(int((*codes)[size_t(r * w.cols + c)]), toInt(w.row(r)[c] * inv, -128, 127));
    }
}

void TestOnednn::reorderSaturatesAndRoundsTiesToEven()
{
    quant::Matrix w;
    w.rows = 1, w.cols = 6;
    w.data = {0.5f, 1.5f, 2.5f, -2.5f, 300.0f, -300.0f};
    auto codes = reorderQuantizeInt8(w, std::vector<float>{1.0f});
    QVERIFY(codes.ok());
    const std::vector<int8_t> expected{0, 2, 2, -2, 127, -128};
    QCOMPARE(*codes, expected);
}

void TestOnednn::int8MatmulMatchesIntegerReference_data()
{
    QTest::addColumn<bool>("nonNegative");
    QTest::newRow("u8 activations") << true;
    QTest::newRow("s8 activations") << false;
}

void TestOnednn::int8MatmulMatchesIntegerReference()
{
    QFETCH(bool, nonNegative);
    const int batch = 5, in = 70, out = 23;
    // Without VNNI, u8*s8 pairs saturate at int16 inside oneDNN: keep weights to 7 bits there.
    const int wmax = hasVnni() ? 127 : 63;
    std::mt19937_64 rng(6);
    std::uniform_int_distribution<int> codeDist(-wmax, wmax);
    std::vector<int8_t> codes(static_cast<size_t>(in * out));
    for (auto& c : codes)
        c = static_cast<int8_t>(codeDist(rng));
    std::vector<float> scales(static_cast<size_t>(out));
    for (int n = 0; n < out; ++n)
        scales[size_t(n)] = 0.01f * float(n + 1);
    auto x = randomMatrix(batch, in, 7, nonNegative ? 0.0f : -2.0f, 2.0f).data;
    const ActivationRange range{2.0f, nonNegative};
    auto linear = Linear::createInt8({codes, scales, out, in}, batch, range);
    QVERIFY2(linear.ok(), linear.ok() ? "" : linear.error().message.c_str());
    std::vector<float> y(size_t(batch * out));
    QVERIFY((*linear)->run(x, y).ok());

    const float sx = 2.0f / (nonNegative ? 255.0f : 127.0f);
    for (int b = 0; b < batch; ++b)
        for (int n = 0; n < out; ++n) {
            int64_t acc = 0;
            for (int k = 0; k < in; ++k) {
                const int32_t qx = toInt(x[size_t(b * in + k)] * (1.0f / sx),
                                         nonNegative ? 0 : -128, nonNegative ? 255 : 127);
                acc += int64_t(qx) * codes[size_t(n * in + k)];
            }
            const double expected = double(acc) * double(sx * scales[size_t(n)]);
            QVERIFY2(std::abs(y[size_t(b * out + n)] - expected) <= 1e-5 * std::abs(expected) + 1e-6,
                     qPrintable(QString("b%1 n%2: %3 vs %4").arg(b).arg(n)
                                    .arg(y[size_t(b * out + n)]).arg(expected)));
        }
    qInfo("int8 matmul implementation: %s (%s)", (*linear)->implementation().c_str(),
          cpuIsaName().c_str());
}

void TestOnednn::badArgumentsAreErrors()
{
    quant::Matrix empty;
    QVERIFY(!Linear::create(empty, 1, Precision::F32).ok());
    const auto w = randomMatrix(2, 3, 8);
    QVERIFY(!Linear::create(w, 1, Precision::Int8).ok());
    std::vector<int8_t> codes(5);
    std::vector<float> scales(2, 1.0f);
    QVERIFY(!Linear::createInt8({codes, scales, 2, 3}, 1, {}).ok()); // 5 codes for 2x3
    QVERIFY(!reorderQuantizeInt8(w, std::vector<float>{1.0f}).ok());  // one scale for two rows
    auto linear = Linear::create(w, 1, Precision::F32);
    QVERIFY(linear.ok());
    std::vector<float> x(2), y(2); // x needs 3 values
    QVERIFY(!(*linear)->run(x, y).ok());
}

QTEST_GUILESS_MAIN(TestOnednn)
#include "tst_onednn.moc"
