// Floating-point formats: the published E2M1 and NF4 tables as literals, E4M3/E5M2 encodings
// against the engine's independent decoders (core::e4m3ToF32 / e5m2ToF32) and hand values
// (saturation, subnormals, ties), and FP8 / MXFP4 / MXFP8 / NVFP4 / NF4 blocks worked by hand.
#include "quant/floatquant.h"
#include "quant/quantize.h"
#include "quant/scheme.h"

#include "core/dtype.h"

#include <QtTest>

#include "quant_test_support.h"

#include <bit>
#include <cmath>
#include <random>
#include <limits>

using namespace qs::quant;
using namespace quanttest;

namespace {

Quantized run(const Matrix& w, const char* spec, const RangeOptions& range = {})
{
    auto s = parseScheme(spec);
    if (!s) qFatal("bad scheme %s", spec);
    auto q = quantizeRtn(w, *s, range);
    if (!q) qFatal("%s", q.error().message.c_str());
    return std::move(q).value();
}

/// A row of `n` values: `head` followed by zeros.
std::vector<float> padded(std::vector<float> head, size_t n)
{
    head.resize(n, 0.0f);
    return head;
}

bool sameBits(float a, float b)
{
    return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

} // namespace

class TestFloatQuant : public QObject {
    Q_OBJECT
private slots:
    void e2m1Table();
    void e4m3AllCodesRoundTrip();
    void e5m2AllCodesRoundTrip();
    void e4m3HandValues_data();
    void e4m3HandValues();
    void e5m2HandValues_data();
    void e5m2HandValues();
    void fp8Scaled();
    void fp8OverflowModes();
    void mxfp4Blocks();
    void mxfp8Block();
    void mxShortAndZeroBlocks();
    void nvfp4Example();
    void nf4Table();
    void branchFreeBitsMatchScalarEncoder();
    void nf4Blocks();
    void nf4DoubleQuant();
    void nonFiniteAndEmpty_data();
    void nonFiniteAndEmpty();
};

void TestFloatQuant::e2m1Table()
{
    // OCP MX v1.0, table 5: FP4 E2M1 values by code 0..7 (sign bit 3).
    const float table[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                             -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
    for (int c = 0; c < 16; ++c) {
        QVERIFY(sameBits(decodeMiniFloat(uint8_t(c), kE2M1), table[c]));
        QCOMPARE(int(encodeMiniFloat(table[c], kE2M1)), c);
    }
    // Ties to even, saturation, no NaN code.
    QCOMPARE(roundToMiniFloat(5.0f, kE2M1, Overflow::Saturate), 4.0f);
    QCOMPARE(roundToMiniFloat(2.5f, kE2M1, Overflow::Saturate), 2.0f);
    QCOMPARE(roundToMiniFloat(0.25f, kE2M1, Overflow::Saturate), 0.0f);
    QCOMPARE(roundToMiniFloat(0.75f, kE2M1, Overflow::Saturate), 1.0f);
    QCOMPARE(roundToMiniFloat(1.75f, kE2M1, Overflow::Saturate), 2.0f);
    QCOMPARE(roundToMiniFloat(-7.9f, kE2M1, Overflow::NaN), -6.0f);
    QCOMPARE(roundToMiniFloat(kInf, kE2M1, Overflow::Saturate), 6.0f);
}

void TestFloatQuant::e4m3AllCodesRoundTrip()
{
    for (int c = 0; c < 256; ++c) {
        const float ref = qs::core::e4m3ToF32(uint8_t(c));
        QVERIFY2(sameBits(decodeMiniFloat(uint8_t(c), kE4M3), ref), qPrintable(QString::number(c)));
        if (std::isnan(ref)) continue;
        QCOMPARE(int(encodeMiniFloat(ref, kE4M3, Overflow::NaN)), c);
        QVERIFY(sameBits(roundToMiniFloat(ref, kE4M3, Overflow::Saturate), ref));
    }
    QCOMPARE(int(encodeMiniFloat(kNaN, kE4M3)), 0x7F);
}

void TestFloatQuant::e5m2AllCodesRoundTrip()
{
    for (int c = 0; c < 256; ++c) {
        const float ref = qs::core::e5m2ToF32(uint8_t(c));
        QVERIFY(sameBits(decodeMiniFloat(uint8_t(c), kE5M2), ref));
        if (std::isnan(ref)) continue;
        QCOMPARE(int(encodeMiniFloat(ref, kE5M2, Overflow::NaN)), c);
    }
    // Saturating: Inf becomes the largest finite value 0x7B = 57344.
    QCOMPARE(int(encodeMiniFloat(kInf, kE5M2, Overflow::Saturate)), 0x7B);
    QCOMPARE(int(encodeMiniFloat(-kInf, kE5M2, Overflow::Saturate)), 0xFB);
}

void TestFloatQuant::e4m3HandValues_data()
{
    QTest::addColumn<float>("x");
    QTest::addColumn<float>("sat");
    QTest::addColumn<float>("nonSat");
    QTest::addColumn<int>("code"); // saturating
    QTest::newRow("max") << 448.f << 448.f << 448.f << 0x7E;
    QTest::newRow("500 overflows") << 500.f << 448.f << kNaN << 0x7E;
    QTest::newRow("464 ties down to 448") << 464.f << 448.f << 448.f << 0x7E;
    QTest::newRow("465 rounds past max") << 465.f << 448.f << kNaN << 0x7E;
    QTest::newRow("-1000") << -1000.f << -448.f << kNaN << 0xFE;
    QTest::newRow("one") << 1.f << 1.f << 1.f << 0x38;
    QTest::newRow("1.0625 ties to 1") << 1.0625f << 1.f << 1.f << 0x38;
    QTest::newRow("1.1875 ties to 1.25") << 1.1875f << 1.25f << 1.25f << 0x3A;
    QTest::newRow("300 -> 288") << 300.f << 288.f << 288.f << 0x79;
    QTest::newRow("min subnormal 2^-9") << 0.001953125f << 0.001953125f << 0.001953125f << 0x01;
    QTest::newRow("2^-10 ties to 0") << 0.0009765625f << 0.f << 0.f << 0x00;
    QTest::newRow("1.5 * 2^-10 -> 2^-9") << 0.00146484375f << 0.001953125f << 0.001953125f
                                          << 0x01;
    QTest::newRow("3 * 2^-10 ties to 2^-8") << 0.0029296875f << 0.00390625f << 0.00390625f
                                            << 0x02;
    QTest::newRow("max subnormal 7 * 2^-9") << 0.013671875f << 0.013671875f << 0.013671875f
                                            << 0x07;
    QTest::newRow("7.5 * 2^-9 ties to 2^-6") << 0.0146484375f << 0.015625f << 0.015625f
                                             << 0x08;
    QTest::newRow("-0") << -0.f << -0.f << -0.f << 0x80;
}

void TestFloatQuant::e4m3HandValues()
{
    QFETCH(float, x);
    QFETCH(float, sat);
    QFETCH(float, nonSat);
    QFETCH(int, code);
    QVERIFY(sameBits(roundToMiniFloat(x, kE4M3, Overflow::Saturate), sat));
    QVERIFY(sameBits(roundToMiniFloat(x, kE4M3, Overflow::NaN), nonSat));
    QCOMPARE(int(encodeMiniFloat(x, kE4M3, Overflow::Saturate)), code);
}

void TestFloatQuant::e5m2HandValues_data()
{
    QTest::addColumn<float>("x");
    QTest::addColumn<float>("sat");
    QTest::addColumn<float>("nonSat");
    QTest::newRow("max") << 57344.f << 57344.f << 57344.f;
    QTest::newRow("61440 ties up past max") << 61440.f << 57344.f << kInf;
    QTest::newRow("60000 -> 57344") << 60000.f << 57344.f << 57344.f;
    QTest::newRow("Inf") << kInf << 57344.f << kInf;
    QTest::newRow("2.75 ties to 3") << 2.75f << 3.f << 3.f;
    QTest::newRow("2.25 ties to 2") << 2.25f << 2.f << 2.f;
    QTest::newRow("min subnormal 2^-16") << 0x1p-16f << 0x1p-16f << 0x1p-16f;
    QTest::newRow("2^-17 ties to 0") << 0x1p-17f << 0.f << 0.f;
    QTest::newRow("min normal 2^-14") << 0x1p-14f << 0x1p-14f << 0x1p-14f;
}

void TestFloatQuant::e5m2HandValues()
{
    QFETCH(float, x);
    QFETCH(float, sat);
    QFETCH(float, nonSat);
    QVERIFY(sameBits(roundToMiniFloat(x, kE5M2, Overflow::Saturate), sat));
    QVERIFY(sameBits(roundToMiniFloat(x, kE5M2, Overflow::NaN), nonSat));
}

void TestFloatQuant::fp8Scaled()
{
    // Per channel: row 0 absmax 448 -> scale 1; row 1 absmax 896 -> scale 2.
    const Matrix w = matrixOf(2, 4, {448.f, 1.0625f, 0.001953125f, -300.f,  //
                                     896.f, 3.f, 2.125f, 0.f});
    const auto q = run(w, "fp8_e4m3");
    QCOMPARE(scalesOf(q), (std::vector<float>{1.f, 2.f}));
    QCOMPARE(clipHi(q), (std::vector<float>{448.f, 896.f}));
    // 2.125 / 2 = 1.0625 ties to 1 -> 2.
    QCOMPARE(q.dequant.data,
             (std::vector<float>{448.f, 1.f, 0.001953125f, -288.f, 896.f, 3.f, 2.f, 0.f}));
    // Per tensor: scale 896 / 448 = 2; 1.0625 / 2 = 0.53125 (exponent -1, step 1/16) ties to
    // 0.5 -> 1.0; 0.001953125 / 2 = 2^-10 ties to 0.
    const auto t = run(w, "fp8_e4m3:tensor");
    QCOMPARE(scalesOf(t), std::vector<float>{2.f});
    QCOMPARE(t.dequant.data,
             (std::vector<float>{448.f, 1.f, 0.f, -288.f, 896.f, 3.f, 2.f, 0.f}));
    // E5M2 per channel, absmax 28672 -> scale 0.5: 1.375 / 0.5 = 2.75 ties to 3 -> 1.5.
    const auto e5 = run(matrixOf(1, 3, {28672.f, 1.375f, 1.25f}), "fp8_e5m2");
    QCOMPARE(scalesOf(e5), std::vector<float>{0.5f});
    QCOMPARE(e5.dequant.data, (std::vector<float>{28672.f, 1.5f, 1.25f}));
    QCOMPARE(e5.bytes, uint64_t(3 + 4));
}

void TestFloatQuant::fp8OverflowModes()
{
    // A 50th-percentile clip of |x| = 1 puts 100 far beyond the range: it saturates to the
    // clip, or becomes NaN with the non-saturating mode.
    RangeOptions p50;
    p50.method = ClipMethod::Percentile;
    p50.percentile = 50;
    const Matrix w = matrixOf(1, 5, {1.f, 1.f, -1.f, 1.f, 100.f});
    const auto sat = run(w, "fp8_e4m3", p50);
    QCOMPARE(clipHi(sat), std::vector<float>{1.f});
    QCOMPARE(scalesOf(sat), std::vector<float>{1.f / 448.f});
    QCOMPARE(sat.dequant.data[4], 448.f * (1.f / 448.f));
    const auto nan = run(w, "fp8_e4m3:nan", p50);
    QVERIFY(std::isnan(nan.dequant.data[4]));
    QCOMPARE(nan.dequant.data[2], -448.f * (1.f / 448.f));
    const auto e5 = run(w, "fp8_e5m2:nan", p50);
    QCOMPARE(e5.dequant.data[4], kInf); // E5M2's non-saturating overflow is Inf
}

void TestFloatQuant::mxfp4Blocks()
{
    // Block 0: amax 5 -> floor(log2 5) = 2, X = 2^(2 - 2) = 1; elements round to nearest even
    // E2M1: 5 -> 4, 2.5 -> 2, 0.25 -> 0, 0.75 -> 1, -1.25 -> -1, 1.75 -> 2.
    // Block 1: amax 100 -> floor(log2 100) = 6, X = 2^4 = 16: 100/16 = 6.25 -> 6 (96),
    // 50/16 = 3.125 -> 3 (48), 7/16 = 0.4375 -> 0.5 (8), -20/16 = -1.25 -> -1 (-16).
    std::vector<float> row = padded({5.f, 2.5f, 0.25f, 0.75f, -1.25f, 1.75f}, 32);
    const std::vector<float> b1 = padded({100.f, 50.f, 7.f, -20.f}, 32);
    row.insert(row.end(), b1.begin(), b1.end());
    const auto q = run(matrixOf(1, 64, row), "mxfp4");
    std::vector<float> expect = padded({4.f, 2.f, 0.f, 1.f, -1.f, 2.f}, 32);
    const std::vector<float> e1 = padded({96.f, 48.f, 8.f, -16.f}, 32);
    expect.insert(expect.end(), e1.begin(), e1.end());
    QCOMPARE(q.dequant.data, expect);
    QCOMPARE(clipHi(q), (std::vector<float>{6.f, 96.f}));
    QCOMPARE(groupsPerRow(q), int64_t(2));
    QCOMPARE(q.bitsPerWeight, 4.25);
    // amax 7.9: X = 1 and 7.9 saturates to 6; amax 0.75: X = 2^(-1 - 2), 0.75 / X = 6.
    const auto s = run(matrixOf(2, 1, {7.9f, 0.75f}), "mxfp4"); // one block per row
    QCOMPARE(s.dequant.data, (std::vector<float>{6.f, 0.75f}));
}

void TestFloatQuant::mxfp8Block()
{
    // amax 1000: floor(log2) = 9, X = 2^(9 - 8) = 2; 1000 / 2 = 500 saturates to 448 -> 896;
    // 3 / 2 = 1.5 exact; 0.1 / 2 = 0.05 -> E4M3 exponent -5, step 2^-8: 12.8 -> 13 -> 0.05078125.
    const auto q = run(matrixOf(1, 3, {1000.f, 3.f, 0.1f}), "mxfp8");
    QCOMPARE(q.dequant.data, (std::vector<float>{896.f, 3.f, 0.1015625f}));
    QCOMPARE(clipHi(q), std::vector<float>{896.f});
    // 3 bytes + 1 scale byte.
    QCOMPARE(q.bytes, uint64_t(4));
}

void TestFloatQuant::mxShortAndZeroBlocks()
{
    // 2 x 40: blocks of 32 and 8 per row; row 1 all zero.
    std::vector<float> v(80, 0.f);
    v[0] = 1.f;
    v[35] = 3.f; // second (short) block: X = 2^(1 - 2), 3 / 0.5 = 6
    const auto q = run(matrixOf(2, 40, v), "mxfp4");
    QCOMPARE(groupsPerRow(q), int64_t(2));
    QCOMPARE(clipHi(q).size(), size_t(4));
    QCOMPARE(clipHi(q)[1], 3.f);
    QCOMPARE(clipHi(q)[2], 6.f * std::ldexp(1.f, -127)); // E8M0's smallest scale
    QCOMPARE(q.dequant.data, v);
    // 80 x 4 bits + 4 blocks x 8 = 352 bits = 44 bytes.
    QCOMPARE(q.bytes, uint64_t(44));
}

void TestFloatQuant::nvfp4Example()
{
    // Tensor amax 2688 = 6 * 448 -> tensor scale 1. Block 0: amax 2688 -> s = 448;
    // 1000 / 448 = 2.23 -> 2 (896), 700 / 448 = 1.5625 -> 1.5 (672).
    // Block 1: amax 2.9 -> 2.9 / 6 = 0.48333 -> E4M3 (step 2^-5 in [0.25, 0.5)) 15.47 -> 15
    // = 0.46875; 2.9 / s = 6.19 saturates to 6 (2.8125); 1.1 / s = 2.35 -> 2 (0.9375);
    // 0.3 / s = 0.64 -> 0.5 (0.234375).
    std::vector<float> row = padded({2688.f, 1000.f, 700.f}, 16);
    const std::vector<float> b1 = padded({2.9f, 1.1f, 0.3f}, 16);
    row.insert(row.end(), b1.begin(), b1.end());
    const auto q = run(matrixOf(1, 32, row), "nvfp4");
    std::vector<float> expect = padded({2688.f, 896.f, 672.f}, 16);
    const std::vector<float> e1 = padded({2.8125f, 0.9375f, 0.234375f}, 16);
    expect.insert(expect.end(), e1.begin(), e1.end());
    QCOMPARE(q.dequant.data, expect);
    QCOMPARE(clipHi(q), (std::vector<float>{2688.f, 2.8125f}));
    QCOMPARE(std::get<BlockScaleParams>(q.params).tensorScale, 1.f);
    // 32 x 4 + 2 x 8 + 32 = 176 bits = 22 bytes = 5.5 bits per weight.
    QCOMPARE(q.bitsPerWeight, 5.5);
    // Doubling every value doubles the tensor scale and every result (powers of two are exact).
    std::vector<float> twice = row;
    for (float& x : twice) x *= 2.f;
    const auto q2 = run(matrixOf(1, 32, twice), "nvfp4");
    QCOMPARE(std::get<BlockScaleParams>(q2.params).tensorScale, 2.f);
    for (size_t i = 0; i < expect.size(); ++i) QCOMPARE(q2.dequant.data[i], 2.f * expect[i]);
}

void TestFloatQuant::branchFreeBitsMatchScalarEncoder()
{
    // The codecs' vectorised miniFloatBits against the scalar encoder (ilogb / ldexp), on every
    // value of each format, the midpoints between neighbours, random floats over the whole
    // exponent range, and the special values.
    std::mt19937 gen(5);
    std::vector<float> xs = {0.f, -0.f, kNaN, -kNaN, kInf, -kInf, 1e-45f, -1e-45f, 3.4e38f, -3.4e38f};
    for (int i = 0; i < 200000; ++i) {
        const uint32_t bits = gen();
        const float f = std::bit_cast<float>(bits);
        xs.push_back(f);
        xs.push_back(std::ldexp(float(bits >> 8) / 16777216.f, int(bits % 40) - 20));
    }
    for (const MiniFloat* f : {&kE4M3, &kE5M2, &kE2M1}) {
        std::vector<float> all = xs;
        for (unsigned c = 0; c < (1u << (1 + f->expBits + f->mantBits)); ++c) {
            const float v = decodeMiniFloat(uint8_t(c), *f);
            all.push_back(v);
            all.push_back(std::nextafter(v, kInf));
            all.push_back(std::nextafter(v, -kInf));
            all.push_back(v * 1.0625f);
        }
        for (Overflow o : {Overflow::Saturate, Overflow::NaN}) {
            for (float x : all) {
                const uint8_t want = encodeMiniFloat(x, *f, o);
                const uint8_t got = miniFloatBits(roundToMiniFloat(x, *f, o), *f);
                if (want != got)
                    QFAIL(qPrintable(QString("x %1 (bits %2): scalar %3, branch-free %4")
                                         .arg(double(x), 0, 'g', 9)
                                         .arg(std::bit_cast<uint32_t>(x), 8, 16, QChar('0'))
                                         .arg(want)
                                         .arg(got)));
            }
        }
    }
}

void TestFloatQuant::nf4Table()
{
    // bitsandbytes functional.py (NF4 table) / QLoRA appendix E, as published.
    const std::array<float, 16> published{
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
        0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
        0.7229568362236023f, 1.0f};
    QCOMPARE(nf4Levels(), published);
    for (int i = 0; i < 16; ++i) QCOMPARE(nf4Index(published[size_t(i)]), i);
    // Midpoint between 0 and 0.0795...: ties to the lower level; just above goes up.
    const float mid = (published[7] + published[8]) * 0.5f;
    QCOMPARE(nf4Index(mid), 7);
    QCOMPARE(nf4Index(std::nextafter(mid, 1.f)), 8);
    QCOMPARE(nf4Index(0.6f), 13); // between 0.5626 and 0.7230, midpoint 0.6428
    QCOMPARE(nf4Index(-2.f), 0);
    QCOMPARE(nf4Index(kNaN), 7);
}

void TestFloatQuant::nf4Blocks()
{
    // One block of 64 with absmax 2: 2 * level comes back exactly; 1.2 / 2 = 0.6 -> 0.5626.
    const auto& l = nf4Levels();
    std::vector<float> v(64, 0.f);
    v[0] = 2.f;
    v[1] = 2.f * l[3];
    v[2] = 1.2f;
    v[3] = -2.f;
    const auto q = run(matrixOf(1, 64, v), "nf4");
    QCOMPARE(clipHi(q), std::vector<float>{2.f});
    QCOMPARE(q.dequant.data[0], 2.f);
    QCOMPARE(q.dequant.data[1], l[3] * 2.f);
    QCOMPARE(q.dequant.data[2], l[13] * 2.f);
    QCOMPARE(q.dequant.data[3], -2.f);
    QCOMPARE(q.dequant.data[4], 0.f);
    // 64 x 4 bits + one F32 absmax = 288 bits = 4.5 bits per weight.
    QCOMPARE(q.bitsPerWeight, 4.5);
    // g32 on 1 x 40: blocks of 32 and 8.
    std::vector<float> w(40, 0.5f);
    w[39] = 4.f;
    const auto g = run(matrixOf(1, 40, w), "nf4:g32");
    QCOMPARE(clipHi(g), (std::vector<float>{0.5f, 4.f}));
    QCOMPARE(groupsPerRow(g), int64_t(2));
    QCOMPARE(g.dequant.data[0], 0.5f);
    QCOMPARE(g.dequant.data[32], l[9] * 4.f); // 0.125 between 0.0796 and 0.1609, nearer 0.1609
}

void TestFloatQuant::nf4DoubleQuant()
{
    // Three blocks of 64 with absmax 1, 2, 4: mean 7/3, deviations -4/3, -1/3, 5/3, one chunk
    // with step s = (5/3) / 127; codes round(dev / s) = -101.6 -> -102, -25.4 -> -25, 127.
    std::vector<float> v(192, 0.f);
    v[0] = 1.f;
    v[64] = -2.f;
    v[128] = 4.f;
    const auto q = run(matrixOf(1, 192, v), "nf4:dq");
    const float mean = float((1.0 + 2.0 + 4.0) / 3.0);
    const float s = (4.f - mean) / 127.f;
    const std::vector<float> expect{-102.f * s + mean, -25.f * s + mean, 127.f * s + mean};
    QCOMPARE(clipHi(q), expect);
    for (size_t i = 0; i < 3; ++i) QVERIFY(std::fabs(clipHi(q)[i] - float(1 << i)) <= s / 2);
    // Each block's extreme value dequantizes to +-its dequantized absmax (level +-1).
    QCOMPARE(q.dequant.data[0], expect[0]);
    QCOMPARE(q.dequant.data[64], -expect[1]);
    QCOMPARE(q.dequant.data[128], expect[2]);
    // 192 x 4 + 3 x 8 + 32 (chunk scale) + 32 (mean) = 856 bits = 107 bytes.
    QCOMPARE(q.bytes, uint64_t(107));
    // 4096 x 4096 of g64 would be 4 + 8/64 + 32/16384 + 32/2^24 ~ 4.127 bits per weight.
    auto dq = parseScheme("nf4:dq");
    QVERIFY(dq.ok());
    const double bpw = double(storageBytes(*dq, 4096, 4096)) * 8.0 / (4096.0 * 4096.0);
    QVERIFY2(std::fabs(bpw - 4.127) < 0.001, qPrintable(QString::number(bpw, 'g', 10)));
}

void TestFloatQuant::nonFiniteAndEmpty_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<float>("nan");     ///< what a NaN weight is stored as (decoded)
    QTest::addColumn<float>("inf");     ///< what +Inf is stored as (-Inf: the negative)
    QTest::addColumn<quint64>("emptyBytes"); ///< bytes stored for an empty [0, 64] tensor
    // FP8 has a NaN; Inf saturates to the largest value (448 / 57344 x scale = the absmax 1).
    // MX and NVFP4 store non-finite weights as code 0. NF4: NaN -> level 0.0, +-Inf -> the
    // levels +-1 (x absmax). Empty tensors still store their per-tensor scalars (an F32 tensor
    // scale, NVFP4's scale_2, NF4 dq's mean).
    QTest::newRow("fp8_e4m3") << "fp8_e4m3" << kNaN << 1.f << 0ull;
    QTest::newRow("fp8_e5m2:tensor") << "fp8_e5m2:tensor" << kNaN << 1.f << 4ull;
    QTest::newRow("mxfp4") << "mxfp4" << 0.f << 0.f << 0ull;
    QTest::newRow("mxfp8") << "mxfp8" << 0.f << 0.f << 0ull;
    QTest::newRow("nvfp4") << "nvfp4" << 0.f << 0.f << 4ull;
    QTest::newRow("nf4") << "nf4" << 0.f << 1.f << 0ull;
    QTest::newRow("nf4:dq") << "nf4:dq" << 0.f << 1.f << 4ull;
}

void TestFloatQuant::nonFiniteAndEmpty()
{
    QFETCH(QString, spec);
    QFETCH(float, nan);
    QFETCH(float, inf);
    QFETCH(quint64, emptyBytes);
    const QByteArray s = spec.toUtf8();
    // NaN and Inf do not spoil the scale of their block: the block's absmax 1.0 comes back (up
    // to the rounding of a non-power-of-two scale) and 0.5 is a level of every format but NF4
    // (0.5 -> 0.4407, below the midpoint 0.5017). They are stored as the format can hold them.
    std::vector<float> v(64, 0.f);
    v[0] = kNaN;
    v[1] = 1.f;
    v[2] = kInf;
    v[3] = 0.5f;
    v[4] = -kInf;
    const auto q = run(matrixOf(1, 64, v), s.constData());
    if (std::isnan(nan)) QVERIFY(std::isnan(q.dequant.data[0]));
    else QCOMPARE(q.dequant.data[0], nan);
    QVERIFY(std::fabs(q.dequant.data[2] - inf) < 1e-2f);
    QVERIFY(std::fabs(q.dequant.data[4] + inf) < 1e-2f);
    if (!spec.startsWith("nf4")) {
        QVERIFY(std::fabs(q.dequant.data[1] - 1.f) < 1e-6f);
        QVERIFY(std::fabs(q.dequant.data[3] - 0.5f) < 1e-6f);
    } else {
        QVERIFY(std::fabs(q.dequant.data[1] - 1.f) < 1e-2f); // dq moves the absmax slightly
        QVERIFY(std::fabs(q.dequant.data[3] - 0.44070982933044434f) < 1e-2f);
    }
    for (float c : clipHi(q)) QVERIFY(std::isfinite(c));
    // Empty matrices give defined, empty results.
    const auto e = run(matrixOf(0, 64, {}), s.constData());
    QVERIFY(e.dequant.data.empty());
    QCOMPARE(e.bytes, uint64_t(emptyBytes));
    QCOMPARE(e.bitsPerWeight, 0.0);
    // All zero: zeros back.
    const auto z = run(matrixOf(2, 32, std::vector<float>(64, 0.f)), s.constData());
    QCOMPARE(z.dequant.data, std::vector<float>(64, 0.f));
}

QTEST_APPLESS_MAIN(TestFloatQuant)
#include "tst_floatquant.moc"
