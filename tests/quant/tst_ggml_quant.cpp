// ggml block quantizers: hand-worked Q8_0/Q4_0 blocks, a second implementation of the legacy
// formats written here from the format description, the bytes of ggml's own reference
// quantizers on a deterministic input, and properties of the K-quants.
#include "quant/ggml_quant.h"

#include "core/dtype.h"
#include "core/ggml_blocks.h"

#include <QtTest>

#include "quant_test_support.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace qs;
using namespace qs::quant;
using namespace quanttest;
using core::DType;

Q_DECLARE_METATYPE(qs::core::DType)

namespace {

/// The IEEE half nearest to f, found by bisection over the ordered positive half patterns
/// with the engine's exact half -> float decoding; ties go to the even pattern.
uint16_t halfNearest(float f)
{
    const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    const float a = std::fabs(f);
    if (std::isnan(f)) return sign | 0x7E00;
    if (a >= 65520.f) return sign | 0x7C00;
    uint16_t lo = 0;
    uint16_t hi = 0x7BFF;
    while (hi - lo > 1) {
        const auto mid = static_cast<uint16_t>((lo + hi) / 2);
        (core::f16ToF32(mid) <= a ? lo : hi) = mid;
    }
    if (core::f16ToF32(hi) <= a) lo = hi;
    const double below = a - static_cast<double>(core::f16ToF32(lo));
    const double above = lo == 0x7BFF ? 1e300 : core::f16ToF32(lo + 1) - static_cast<double>(a);
    uint16_t best = lo;
    if (above < below || (above == below && (lo & 1))) best = static_cast<uint16_t>(lo + 1);
    return sign | best;
}

/// The input whose ggml bytes are recorded below; every step is exact or a single rounding,
/// so it is the same on every IEEE machine. It mirrors the C driver that produced the hashes.
Matrix referenceInput()
{
    constexpr int kRows = 8;
    constexpr int kCols = 512;
    uint64_t state = 12345;
    const auto next = [&state] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<uint32_t>(state >> 33);
    };
    std::vector<float> x(kRows * kCols);
    for (int r = 0; r < kRows; ++r) {
        for (int c = 0; c < kCols; ++c) {
            int64_t s = 0;
            for (int k = 0; k < 4; ++k) s += static_cast<int64_t>(next() & 0xFFFFFF) - 0x800000;
            float v = static_cast<float>(s) * 0x1p-24f;
            if (next() % 64 == 0) v *= 8.0f;
            if (r == 1) v *= 1e-6f;               // tiny: subnormal half scales
            if (r == 2 && c < 256) v = 0.0f;      // an all-zero super-block
            if (r == 3) v = 0.75f;                // a constant row
            if (r == 4 && c >= 256) v = std::fabs(v) + 0.5f; // all positive: min clamps to 0
            x[r * kCols + c] = v;
        }
    }
    return matrixOf(kRows, kCols, std::move(x));
}

uint64_t fnv1a(const std::vector<std::byte>& bytes)
{
    uint64_t h = 1469598103934665603ULL;
    for (std::byte b : bytes) {
        h ^= static_cast<uint8_t>(b);
        h *= 1099511628211ULL;
    }
    return h;
}

QByteArray hexOf(const std::vector<std::byte>& bytes, size_t count)
{
    return QByteArray(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<qsizetype>(std::min(count, bytes.size())))
        .toHex();
}

Matrix gaussian(int64_t rows, int64_t cols, uint32_t seed)
{
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (float& x : v) x = normal(gen);
    return matrixOf(rows, cols, std::move(v));
}

double sqnrDb(const Matrix& w, const Matrix& q)
{
    double signal = 0;
    double noise = 0;
    for (size_t i = 0; i < w.data.size(); ++i) {
        signal += double(w.data[i]) * w.data[i];
        noise += (double(w.data[i]) - q.data[i]) * (double(w.data[i]) - q.data[i]);
    }
    return 10 * std::log10(signal / noise);
}

void putHalf(std::vector<std::byte>& out, float v)
{
    const uint16_t h = halfNearest(v);
    out.push_back(std::byte(h & 0xFF));
    out.push_back(std::byte(h >> 8));
}

/// C's float -> 8-bit integer cast for the in-range values these formats produce.
int truncated(float v) { return static_cast<int>(std::trunc(v)); }

/// Legacy blocks written from the format description (ggml-common.h layouts and the rules of
/// quantize_row_*_ref): symmetric types take the signed value of largest magnitude `max`,
/// d = max / -2^(bits-1), code = min(2^bits - 1, trunc(x * (1/d) + 2^(bits-1) + 0.5));
/// asymmetric types d = (hi - lo) / (2^bits - 1), m = lo, code = trunc((x - lo) * (1/d) + 0.5);
/// Q8_0 d = absmax / 127, code = round-half-away(x * (1/d)). Codes j and j + 16 share a byte
/// (low, high nibble); 5-bit types put bit 4 of code j into bit j of a 32-bit qh.
std::vector<std::byte> secondLegacy(DType type, const float* x)
{
    std::vector<std::byte> out;
    const bool sym = type == DType::Q4_0 || type == DType::Q5_0 || type == DType::Q8_0;
    const int bits = type == DType::Q8_0 ? 8 : (type == DType::Q5_0 || type == DType::Q5_1) ? 5 : 4;
    float d = 0;
    float lo = x[0];
    float hi = x[0];
    float max = 0;
    for (int j = 0; j < 32; ++j) {
        lo = std::min(lo, x[j]);
        hi = std::max(hi, x[j]);
        if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
    }
    if (type == DType::Q8_0) d = std::fabs(max) / 127.f;
    else if (sym) d = max / -static_cast<float>(1 << (bits - 1));
    else d = (hi - lo) / static_cast<float>((1 << bits) - 1);
    const float id = d != 0 ? 1.f / d : 0.f;
    putHalf(out, d);
    if (!sym) putHalf(out, lo);
    int codes[32];
    for (int j = 0; j < 32; ++j) {
        if (type == DType::Q8_0)
            codes[j] = static_cast<int>(std::round(x[j] * id));
        else if (sym)
            codes[j] = std::min((1 << bits) - 1,
                                truncated(x[j] * id + float(1 << (bits - 1)) + 0.5f));
        else
            codes[j] = std::min((1 << bits) - 1, truncated((x[j] - lo) * id + 0.5f));
    }
    if (type == DType::Q8_0) {
        for (int c : codes) out.push_back(std::byte(static_cast<uint8_t>(c)));
        return out;
    }
    if (bits == 5) {
        uint32_t qh = 0;
        for (int j = 0; j < 32; ++j) qh |= uint32_t((codes[j] >> 4) & 1) << j;
        for (int k = 0; k < 4; ++k) out.push_back(std::byte((qh >> (8 * k)) & 0xFF));
    }
    for (int j = 0; j < 16; ++j)
        out.push_back(std::byte((codes[j] & 15) | ((codes[j + 16] & 15) << 4)));
    return out;
}

/// Q4_K header decoded from the layout: d, dmin halves, then 12 bytes holding eight 6-bit
/// scales and mins (j < 4: low 6 bits of bytes j and j + 4; j >= 4: nibbles of byte j + 4
/// plus bits 6-7 of bytes j - 4 and j).
void q4kScales(const std::byte* b, int sc[8], int mn[8])
{
    const auto u = [b](int i) { return int(uint8_t(b[4 + i])); };
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            sc[j] = u(j) & 63;
            mn[j] = u(j + 4) & 63;
        } else {
            sc[j] = (u(j + 4) & 15) | ((u(j - 4) >> 6) << 4);
            mn[j] = (u(j + 4) >> 4) | ((u(j) >> 6) << 4);
        }
    }
}

float halfAt(const std::byte* p)
{
    uint16_t h = 0;
    std::memcpy(&h, p, 2);
    return core::f16ToF32(h);
}

/// A super-block of a varied kind: gaussian at a random power-of-two scale (2^-140 ..
/// 2^120), all zero, constant, one outlier, subnormal, near FLT_MAX, integer-valued (ties),
/// sparse, sub-blocks of their own scales (some constant, some positive only), or all
/// positive / all negative. Used to compare two paths to the same bytes.
void variedSuperBlock(std::mt19937_64& gen, float* x)
{
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    std::uniform_int_distribution<int> exponent(-140, 120);
    const float scale = std::ldexp(1.f, exponent(gen));
    const float c = normal(gen) * scale;
    const int kind = int(gen() % 12);
    for (int i = 0; i < 256; ++i) {
        const float g = normal(gen);
        switch (kind) {
        case 0: x[i] = g * scale; break;
        case 1: x[i] = 0.f; break;
        case 2: x[i] = c; break;
        case 3: x[i] = i == 77 ? 50.f * g : g; break;
        case 4: x[i] = uniform(gen) * 1e-38f; break;
        case 5: x[i] = uniform(gen) * 3e38f; break;
        case 6: x[i] = std::nearbyint(uniform(gen) * 8.f); break;
        case 7: x[i] = gen() % 4 == 0 ? g : 0.f; break;
        case 8: x[i] = (i / 32) % 3 == 0 ? c : (i / 32) % 3 == 1 ? std::fabs(g) * scale + scale : g * scale; break;
        case 9: x[i] = i == 5 ? 1e30f : g * 1e-30f; break;
        case 10: x[i] = std::fabs(g) + 3.f; break;
        default: x[i] = -std::fabs(g) * scale; break;
        }
    }
}

} // namespace

class TestGgmlQuant : public QObject {
    Q_OBJECT
private slots:
    void halfRounding_data();
    void halfRounding();
    void halfRoundingAgreesWithBisection();
    void q8_0HandBlock();
    void q4_0HandBlocks();
    void legacyMatchesSecondImplementation_data();
    void legacyMatchesSecondImplementation();
    void matchesGgmlReferenceBytes_data();
    void matchesGgmlReferenceBytes();
    void sizes_data();
    void sizes();
    void kQuantsDecodeToDequant_data();
    void kQuantsDecodeToDequant();
    void q4kScalesAndNearestCodes();
    void pairedBlocksMatchSingleBlocks_data();
    void pairedBlocksMatchSingleBlocks();
    void codecPairsBlocksWithinRows_data();
    void codecPairsBlocksWithinRows();
    void sqnrOrderingOnGaussian();
    void rejectsBadShapesAndTypes();
    void nonFiniteValues();
    void extremeMagnitudes();
    void emptyMatrix();
    void progressAndCancel();
};

void TestGgmlQuant::halfRounding_data()
{
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("bits");
    QTest::newRow("1") << 1.0f << 0x3C00;
    QTest::newRow("-2") << -2.0f << 0xC000;
    QTest::newRow("0.1") << 0.1f << 0x2E66;
    QTest::newRow("-0") << -0.0f << 0x8000;
    QTest::newRow("max half") << 65504.f << 0x7BFF;
    QTest::newRow("just below 65520") << std::bit_cast<float>(0x477FEFFFu) << 0x7BFF;
    QTest::newRow("65520 ties to Inf") << 65520.f << 0x7C00;
    QTest::newRow("1e6") << 1e6f << 0x7C00;
    QTest::newRow("inf") << std::numeric_limits<float>::infinity() << 0x7C00;
    QTest::newRow("1+2^-11 tie to even") << 1.0f + 0x1p-11f << 0x3C00;
    QTest::newRow("1+3*2^-11 tie to even") << 1.0f + 3 * 0x1p-11f << 0x3C02;
    QTest::newRow("2^-24") << 0x1p-24f << 0x0001;
    QTest::newRow("2^-25 tie to 0") << 0x1p-25f << 0x0000;
    QTest::newRow("1.5*2^-25") << 1.5f * 0x1p-25f << 0x0001;
    QTest::newRow("3*2^-25 tie to 2") << 3 * 0x1p-25f << 0x0002;
    QTest::newRow("2^-14") << 0x1p-14f << 0x0400;
    QTest::newRow("2^-14-2^-25 rounds up to normal") << 0x1p-14f - 0x1p-25f << 0x0400;
    QTest::newRow("2^-30") << 0x1p-30f << 0x0000;
}

void TestGgmlQuant::halfRounding()
{
    QFETCH(float, value);
    QFETCH(int, bits);
    QCOMPARE(int(f32ToF16RoundNearestEven(value)), bits);
    QCOMPARE(int(halfNearest(value)), bits); // the test's own bisection agrees with the hand value
    QCOMPARE(int(f32ToF16RoundNearestEven(std::numeric_limits<float>::quiet_NaN())) & 0x7FFF,
             0x7E00);
}

void TestGgmlQuant::halfRoundingAgreesWithBisection()
{
    std::mt19937 gen(7);
    std::uniform_int_distribution<uint32_t> any(0, 0x7FFFFFFF);
    for (int i = 0; i < 200000; ++i) {
        // Magnitudes concentrated where halves live (2^-26 .. 2^17), plus every sign.
        uint32_t bits = any(gen);
        bits = (bits & 0x807FFFFFu) | ((102u + (bits >> 23) % 42u) << 23);
        const float f = std::bit_cast<float>(bits);
        if (f32ToF16RoundNearestEven(f) != halfNearest(f))
            QFAIL(qPrintable(QString("f16 of %1 (0x%2)").arg(double(f)).arg(bits, 8, 16)));
    }
}

void TestGgmlQuant::q8_0HandBlock()
{
    // x_j = (j - 16) / 4: absmax 4, d = 4/127 (f32 0x3D010204), 1/d = 31.75 exactly, so the
    // code of k = j - 16 is round-half-away(7.9375 k): -127 for k = -16, 8 per step except
    // that 7.9375 * 8 = 63.5 rounds away to 64 (and -63.5 to -64). The stored d is the half
    // nearest 0.0314960..: 2^-5 * (1 + 8.063/1024) -> mantissa 8, bits 0x2808 = 0.031494140625.
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = float(j - 16) * 0.25f;
    const int codes[32] = {-127, -119, -111, -103, -95, -87, -79, -71, -64, -56, -48,
                           -40,  -32,  -24,  -16,  -8,  0,   8,   16,  24,  32,  40,
                           48,   56,   64,   71,   79,  87,  95,  103, 111, 119};
    auto q = quantizeGgml(matrixOf(1, 32, x), DType::Q8_0);
    QVERIFY(q.ok());
    QCOMPARE(blocksOf(*q).size(), size_t(34));
    QCOMPARE(uint8_t(blocksOf(*q)[0]), uint8_t(0x08));
    QCOMPARE(uint8_t(blocksOf(*q)[1]), uint8_t(0x28));
    for (int j = 0; j < 32; ++j) {
        QCOMPARE(int(int8_t(blocksOf(*q)[2 + j])), codes[j]);
        QCOMPARE(q->dequant.data[j], float(codes[j]) * 0.031494140625f);
    }
    QCOMPARE(clipHi(*q), std::vector<float>{4.0f});
    QCOMPARE(q->bytes, uint64_t(34));
    QCOMPARE(q->bitsPerWeight, 8.5);
}

void TestGgmlQuant::q4_0HandBlocks()
{
    // Block 1: x_j = (j - 15) / 8; the largest magnitude is +2 (j = 31), so d = 2 / -8 = -0.25
    // (half 0xB400) and 1/d = -4: code = min(15, trunc(8.5 - (j - 15) / 2)) = min(15,
    // trunc((32 - j) / 2)): 16 -> 15 for j = 0, then 15 15 14 14 13 ... 1 1 0.
    // Block 2: the same values negated: max = -2, d = +0.25 (0x3400), the same codes.
    // Block 3: all zero: max = +0, d = +0 / -8 = -0 (half 0x8000), 1/d taken as 0, every code
    // trunc(8.5) = 8 (bytes 0x88).
    std::vector<float> x(96, 0.f);
    for (int j = 0; j < 32; ++j) {
        x[j] = float(j - 15) * 0.125f;
        x[32 + j] = -x[j];
    }
    int codes[32];
    for (int j = 0; j < 32; ++j) codes[j] = std::min(15, (32 - j) / 2);
    auto q = quantizeGgml(matrixOf(1, 96, x), DType::Q4_0);
    QVERIFY(q.ok());
    const auto p = blocksOf(*q);
    QCOMPARE(p.size(), size_t(54));
    QCOMPARE(uint8_t(p[0]), uint8_t(0x00));
    QCOMPARE(uint8_t(p[1]), uint8_t(0xB4));
    QCOMPARE(uint8_t(p[18]), uint8_t(0x00));
    QCOMPARE(uint8_t(p[19]), uint8_t(0x34));
    for (int j = 0; j < 16; ++j) {
        const auto expected = uint8_t(codes[j] | (codes[j + 16] << 4));
        QCOMPARE(uint8_t(p[2 + j]), expected);
        QCOMPARE(uint8_t(p[20 + j]), expected);
        QCOMPARE(uint8_t(p[38 + j]), uint8_t(0x88));
    }
    QCOMPARE(uint8_t(p[36]), uint8_t(0));
    QCOMPARE(uint8_t(p[37]), uint8_t(0x80));
    for (int j = 0; j < 32; ++j) {
        QCOMPARE(q->dequant.data[j], float(codes[j] - 8) * -0.25f);
        QCOMPARE(q->dequant.data[32 + j], float(codes[j] - 8) * 0.25f);
        QCOMPARE(q->dequant.data[64 + j], 0.f);
    }
    QCOMPARE(q->dequant.data[0], -1.75f); // -1.875 clamped to code 15
    QCOMPARE(clipHi(*q), (std::vector<float>{2.f, 2.f, 0.f}));
    QCOMPARE(groupsPerRow(*q), int64_t(3));
}

void TestGgmlQuant::legacyMatchesSecondImplementation_data()
{
    QTest::addColumn<DType>("type");
    QTest::newRow("Q8_0") << DType::Q8_0;
    QTest::newRow("Q4_0") << DType::Q4_0;
    QTest::newRow("Q4_1") << DType::Q4_1;
    QTest::newRow("Q5_0") << DType::Q5_0;
    QTest::newRow("Q5_1") << DType::Q5_1;
}

void TestGgmlQuant::legacyMatchesSecondImplementation()
{
    QFETCH(DType, type);
    Matrix w = gaussian(16, 256, 11);
    for (int c = 0; c < 32; ++c) {
        w.row(1)[c] = 0.f;                 // all-zero block
        w.row(2)[c] = 0.3f;                // constant block
        w.row(3)[c] = std::fabs(w.row(3)[c]) * 1e-5f; // tiny, positive
        w.row(4)[c] *= 1000.f;             // large
    }
    auto q = quantizeGgml(w, type);
    QVERIFY(q.ok());
    const auto& info = core::dtypeInfo(type);
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t b = 0; b < w.cols / 32; ++b) {
            const auto expected = secondLegacy(type, w.row(r) + 32 * b);
            const std::byte* got = blockData(*q) + (r * (w.cols / 32) + b) * info.blockBytes;
            QCOMPARE(expected.size(), size_t(info.blockBytes));
            if (std::memcmp(expected.data(), got, expected.size()) != 0)
                QFAIL(qPrintable(QString("row %1 block %2 differs").arg(r).arg(b)));
        }
    }
}

void TestGgmlQuant::matchesGgmlReferenceBytes_data()
{
    // What these vouch for: ggml's own reference quantizers, not ours. Recorded from ggml-org/ggml
    // commit d99724f2b141fed9e1a9f402213506c081433465 (2026-08-21), src/ggml-quants.c, functions
    // quantize_row_q8_0_ref, _q4_0_ref, _q4_1_ref, _q5_0_ref, _q5_1_ref, _q4_K_ref, _q5_K_ref and
    // _q6_K_ref, compiled alone with gcc 12.2 -O2 -ffp-contract=off for baseline x86-64 and
    // called once per row (k = 512) of referenceInput(): the 64-bit LCG above seeded with 12345
    // (x[0] = 0x1.518cd8p-2, x[1000] = -0x1.c53f0ep-21, checked below). Each hash is FNV-1a 64
    // over the 8 rows' blocks concatenated; firstBytes is the first block (the first 40 bytes
    // for the K types) in hex. Re-run of that driver on 2026-12-02 against the same commit: all
    // eight hashes and prefixes reproduced. Built with -march=native (FMA contraction) instead,
    // ggml's Q6_K bytes change (hash 0x106785575b1b1e57) while the other seven stay: the hashes
    // hold for un-contracted float arithmetic, which is how the engine is built.
    QTest::addColumn<DType>("type");
    QTest::addColumn<qulonglong>("hash");
    QTest::addColumn<QByteArray>("firstBytes");
    QTest::newRow("Q8_0") << DType::Q8_0 << qulonglong(0x85694e4a5286e683ULL)
                          << QByteArray("ed1f2be77f75ff3df2b78aa41e2e15d20d"
                                        "78b6ec64292e5aef575dbc11ef054365c8");
    QTest::newRow("Q4_0") << DType::Q4_0 << qulonglong(0xee9aaa9406cbd7ebULL)
                          << QByteArray("ddafd59a20515824993d2fce7695874b27c0");
    QTest::newRow("Q4_1") << DType::Q4_1 << qulonglong(0x08c8dbdeee711f75ULL)
                          << QByteArray("0c304fbb3a66dfaea7db66d3d032896a88b4d84f");
    QTest::newRow("Q5_0") << DType::Q5_0 << qulonglong(0xf206c6d3f9d1a20dULL)
                          << QByteArray("ddabd223438a9b3330b1a05822594f9cec2afd863e71");
    QTest::newRow("Q5_1") << DType::Q5_1 << qulonglong(0xd25c7b0a59c37dddULL)
                          << QByteArray("d52b4fbb2ddcbc7564cccf4e5fa7dda6b06313d50279c18e");
    QTest::newRow("Q4_K") << DType::Q4_K << qulonglong(0x2b44183d5efdabafULL)
                          << QByteArray("441d532998d5619d565462dbe4affefd9aa6dfcf"
                                        "779b8773702279fae9f5780f93a6ee8a3a7dc69d");
    QTest::newRow("Q5_K") << DType::Q5_K << qulonglong(0x36295b8c0219bf15ULL)
                          << QByteArray("16195a2998d45f9e565361dce3affffdcfd2cbc7"
                                        "8493ced8dc8c19d3d3c299c59e8ecfc3c595d2c3");
    QTest::newRow("Q6_K") << DType::Q6_K << qulonglong(0x63ec4200921ac844ULL)
                          << QByteArray("f566903210c0f4a33e7768e43b5c1da20736a163"
                                        "c204a5955315cb256eeb01f1bca7182d910cbd83");
}

void TestGgmlQuant::matchesGgmlReferenceBytes()
{
    QFETCH(DType, type);
    QFETCH(qulonglong, hash);
    QFETCH(QByteArray, firstBytes);
    const Matrix w = referenceInput();
    // The generator itself, against the driver's printout (%a): x[0] and x[1000].
    QCOMPARE(w.data[0], 0x1.518cd8p-2f);
    QCOMPARE(w.data[1000], -0x1.c53f0ep-21f);
    auto q = quantizeGgml(w, type);
    QVERIFY(q.ok());
    QCOMPARE(hexOf(blocksOf(*q), size_t(firstBytes.size() / 2)), firstBytes);
    QCOMPARE(qulonglong(fnv1a(blocksOf(*q))), hash);
}

void TestGgmlQuant::sizes_data()
{
    // ggml-common.h block sizes: bytes per block / values per block.
    QTest::addColumn<DType>("type");
    QTest::addColumn<int>("blockBytes");
    QTest::addColumn<int>("blockElems");
    QTest::addColumn<double>("bpw");
    QTest::newRow("Q8_0") << DType::Q8_0 << 34 << 32 << 8.5;
    QTest::newRow("Q4_0") << DType::Q4_0 << 18 << 32 << 4.5;
    QTest::newRow("Q4_1") << DType::Q4_1 << 20 << 32 << 5.0;
    QTest::newRow("Q5_0") << DType::Q5_0 << 22 << 32 << 5.5;
    QTest::newRow("Q5_1") << DType::Q5_1 << 24 << 32 << 6.0;
    QTest::newRow("Q4_K") << DType::Q4_K << 144 << 256 << 4.5;
    QTest::newRow("Q5_K") << DType::Q5_K << 176 << 256 << 5.5;
    QTest::newRow("Q6_K") << DType::Q6_K << 210 << 256 << 6.5625;
}

void TestGgmlQuant::sizes()
{
    QFETCH(DType, type);
    QFETCH(int, blockBytes);
    QFETCH(int, blockElems);
    QFETCH(double, bpw);
    const Matrix w = gaussian(3, 512, 5);
    auto q = quantizeGgml(w, type);
    QVERIFY(q.ok());
    const uint64_t blocks = 3 * 512 / blockElems;
    QCOMPARE(q->bytes, blocks * blockBytes);
    QCOMPARE(blocksOf(*q).size(), size_t(blocks * blockBytes));
    QCOMPARE(q->bitsPerWeight, bpw);
    QCOMPARE(clipHi(*q).size(), size_t(blocks));
    QCOMPARE(groupsPerRow(*q), int64_t(512 / blockElems));
    QCOMPARE(q->dequant.rows, int64_t(3));
    QCOMPARE(q->dequant.cols, int64_t(512));
    // clip = each block's absmax, computed here.
    for (uint64_t b = 0; b < blocks; ++b) {
        float amax = 0;
        for (int i = 0; i < blockElems; ++i)
            amax = std::max(amax, std::fabs(w.data[b * blockElems + i]));
        QCOMPARE(clipHi(*q)[b], amax);
    }
}

void TestGgmlQuant::kQuantsDecodeToDequant_data()
{
    QTest::addColumn<DType>("type");
    QTest::newRow("Q4_K") << DType::Q4_K;
    QTest::newRow("Q5_K") << DType::Q5_K;
    QTest::newRow("Q6_K") << DType::Q6_K;
}

void TestGgmlQuant::kQuantsDecodeToDequant()
{
    QFETCH(DType, type);
    Matrix w = gaussian(5, 768, 3);
    std::fill(w.row(2), w.row(2) + 256, 0.f); // an all-zero super-block
    auto q = quantizeGgml(w, type);
    QVERIFY(q.ok());
    const auto& info = core::dtypeInfo(type);
    // Every row re-read on its own from its byte range gives the dequantized row.
    for (int64_t r = 0; r < w.rows; ++r) {
        std::vector<float> row(768);
        const uint64_t blocks = 768 / 256;
        QVERIFY(core::dequantizeGgmlBlocks(type, blockData(*q) + r * blocks * info.blockBytes,
                                           blocks, row.data()));
        QVERIFY(std::equal(row.begin(), row.end(), q->dequant.row(r)));
    }
    for (int c = 0; c < 256; ++c) QCOMPARE(q->dequant.row(2)[c], 0.f);
    // The error of each value is within one code step of its sub-block's largest error scale:
    // a coarse but format-independent bound (|w - q| <= absmax of the super-block / 8).
    for (int64_t b = 0; b < w.rows * 3; ++b) {
        float amax = 0;
        for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(w.data[b * 256 + i]));
        for (int i = 0; i < 256; ++i)
            QVERIFY(std::fabs(w.data[b * 256 + i] - q->dequant.data[b * 256 + i]) <= amax / 8);
    }
}

void TestGgmlQuant::q4kScalesAndNearestCodes()
{
    const Matrix w = gaussian(8, 512, 21);
    auto q = quantizeGgml(w, DType::Q4_K);
    QVERIFY(q.ok());
    for (int64_t b = 0; b < 16; ++b) {
        const std::byte* blk = blockData(*q) + b * 144;
        const float d = halfAt(blk);
        const float dmin = halfAt(blk + 2);
        QVERIFY(std::isfinite(d) && d > 0);
        QVERIFY(std::isfinite(dmin) && dmin >= 0);
        int sc[8];
        int mn[8];
        q4kScales(blk, sc, mn);
        // The largest sub-block scale and min are stored as 63 (they define d and dmin).
        QCOMPARE(*std::max_element(sc, sc + 8), 63);
        QCOMPARE(*std::max_element(mn, mn + 8), 63);
        for (int j = 0; j < 8; ++j) {
            const float step = d * float(sc[j]);
            const float offset = dmin * float(mn[j]);
            for (int i = 0; i < 32; ++i) {
                const int k = 32 * j + i;
                // qs: 32 bytes per 64 values, the first 32 in the low nibbles.
                const int byte = int(uint8_t(blk[16 + 32 * (k / 64) + k % 32]));
                const int code = (byte >> (k % 64 >= 32 ? 4 : 0)) & 15;
                const float x = w.data[b * 256 + k];
                const float value = step * float(code) - offset;
                QCOMPARE(q->dequant.data[b * 256 + k], value);
                // Each code is the nearest level, or the end level for values past the range.
                const bool atEnd = (code == 0 && x < value) || (code == 15 && x > value);
                if (!atEnd) QVERIFY(std::fabs(x - value) <= step * 0.5f * (1 + 1e-5f));
            }
        }
    }
}

void TestGgmlQuant::pairedBlocksMatchSingleBlocks_data()
{
    QTest::addColumn<DType>("type");
    QTest::newRow("Q4_K") << DType::Q4_K;
    QTest::newRow("Q5_K") << DType::Q5_K;
}

void TestGgmlQuant::pairedBlocksMatchSingleBlocks()
{
    // The pair function runs two searches side by side; its bytes must be those of the block
    // function (pinned to ggml's own by matchesGgmlReferenceBytes) on each block, whatever the
    // two blocks hold, both orders included.
    QFETCH(DType, type);
    const GgmlBlockFn single = ggmlBlockFunction(type);
    const GgmlBlockPairFn pair = ggmlBlockPairFunction(type);
    QVERIFY(single != nullptr && pair != nullptr);
    const size_t bytes = core::dtypeInfo(type).blockBytes;
    std::mt19937_64 gen(2026);
    std::vector<float> x(512);
    std::vector<std::byte> expected(2 * bytes), got(2 * bytes);
    for (int k = 0; k < 3000; ++k) {
        variedSuperBlock(gen, x.data());
        variedSuperBlock(gen, x.data() + 256);
        single(x.data(), expected.data());
        single(x.data() + 256, expected.data() + bytes);
        pair(x.data(), x.data() + 256, got.data(), got.data() + bytes);
        QVERIFY2(got == expected, qPrintable(QStringLiteral("pair %1").arg(k)));
        pair(x.data() + 256, x.data(), got.data() + bytes, got.data());
        QVERIFY2(got == expected, qPrintable(QStringLiteral("pair %1 swapped").arg(k)));
    }
    for (DType other : {DType::Q8_0, DType::Q4_0, DType::Q6_K}) QVERIFY(ggmlBlockPairFunction(other) == nullptr);
}

void TestGgmlQuant::codecPairsBlocksWithinRows_data()
{
    QTest::addColumn<DType>("type");
    QTest::newRow("Q4_K") << DType::Q4_K;
    QTest::newRow("Q5_K") << DType::Q5_K;
    QTest::newRow("Q6_K") << DType::Q6_K;
}

void TestGgmlQuant::codecPairsBlocksWithinRows()
{
    // Rows of five super-blocks (two pairs and a single one) of varied kinds, a NaN in the
    // second block of a pair and an Inf in the last block: each stored block is the block
    // function's bytes for that block with the non-finite values zeroed.
    QFETCH(DType, type);
    constexpr int kRows = 3;
    constexpr int kCols = 5 * 256;
    std::mt19937_64 gen(7);
    std::vector<float> v(kRows * kCols);
    for (size_t b = 0; b < v.size() / 256; ++b) variedSuperBlock(gen, v.data() + 256 * b);
    std::vector<float> zeroed = v;
    v[256 + 9] = std::numeric_limits<float>::quiet_NaN();
    v[kCols + 4 * 256 + 100] = std::numeric_limits<float>::infinity();
    zeroed[256 + 9] = 0.f;
    zeroed[kCols + 4 * 256 + 100] = 0.f;
    auto q = quantizeGgml(matrixOf(kRows, kCols, std::move(v)), type);
    QVERIFY(q.ok());
    const size_t bytes = core::dtypeInfo(type).blockBytes;
    std::vector<std::byte> expected(zeroed.size() / 256 * bytes);
    for (size_t b = 0; b < zeroed.size() / 256; ++b)
        ggmlBlockFunction(type)(zeroed.data() + 256 * b, expected.data() + b * bytes);
    QVERIFY(blocksOf(*q) == expected);
}

void TestGgmlQuant::sqnrOrderingOnGaussian()
{
    // Uniform quantization of a Gaussian gains ~6 dB per bit; 4-bit Lloyd-Max is 20.2 dB,
    // and Q4_K's per-32 scale and min do at least as well.
    const Matrix w = gaussian(64, 1024, 99);
    double s[4] = {};
    const DType types[4] = {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_0};
    for (int i = 0; i < 4; ++i) {
        auto q = quantizeGgml(w, types[i]);
        QVERIFY(q.ok());
        s[i] = sqnrDb(w, q->dequant);
    }
    qInfo("SQNR dB: Q4_K %.2f Q5_K %.2f Q6_K %.2f Q8_0 %.2f", s[0], s[1], s[2], s[3]);
    QVERIFY(s[0] > 20.0 && s[0] < 26.0);
    QVERIFY(s[1] > s[0] + 4.0);
    QVERIFY(s[2] > s[1] + 4.0);
    QVERIFY(s[3] > s[2] + 4.0);
}

void TestGgmlQuant::rejectsBadShapesAndTypes()
{
    auto r = quantizeGgml(gaussian(2, 48, 1), DType::Q8_0);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, core::ErrorCode::InvalidArgument);
    QVERIFY(r.error().message.find("32") != std::string::npos);
    QVERIFY(r.error().message.find("48") != std::string::npos);
    r = quantizeGgml(gaussian(2, 288, 1), DType::Q6_K); // a multiple of 32, not of 256
    QVERIFY(!r.ok());
    QVERIFY(r.error().message.find("256") != std::string::npos);
    for (DType t : {DType::F32, DType::Q2_K, DType::Q8_K, DType::Unsupported}) {
        r = quantizeGgml(gaussian(1, 256, 1), t);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::InvalidArgument);
    }
    Matrix bad = gaussian(2, 64, 1);
    bad.data.pop_back(); // data does not hold rows x cols
    QVERIFY(!quantizeGgml(bad, DType::Q8_0).ok());
}

void TestGgmlQuant::nonFiniteValues()
{
    // A NaN or Inf is quantized as 0 (it cannot spoil its block's scale); the decoded output is
    // what the blocks hold, the same as for a 0 there.
    Matrix w = gaussian(1, 256, 4);
    Matrix zeroed = w;
    w.data[5] = std::numeric_limits<float>::quiet_NaN();
    w.data[77] = -std::numeric_limits<float>::infinity();
    zeroed.data[5] = 0;
    zeroed.data[77] = 0;
    for (DType t : {DType::Q8_0, DType::Q4_1, DType::Q4_K, DType::Q6_K}) {
        auto a = quantizeGgml(w, t);
        auto b = quantizeGgml(zeroed, t);
        QVERIFY(a.ok() && b.ok());
        QVERIFY(blocksOf(*a) == blocksOf(*b));
        QCOMPARE(a->dequant.data, b->dequant.data);
        QVERIFY(std::isfinite(clipHi(*a)[0]));
    }
}

void TestGgmlQuant::extremeMagnitudes()
{
    // Past the half range the stored scale becomes Inf, as in ggml; subnormal inputs give a
    // zero scale. Neither may crash or trip the sanitizers, and nothing turns into NaN codes.
    Matrix w = gaussian(2, 256, 6);
    for (int c = 0; c < 256; ++c) {
        w.row(0)[c] *= 3e37f;
        w.row(1)[c] *= 1e-41f;
    }
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                    DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        auto q = quantizeGgml(w, t);
        QVERIFY(q.ok());
        for (int c = 0; c < 256; ++c) QVERIFY(std::fabs(q->dequant.row(1)[c]) < 1e-30f);
    }
    auto q8 = quantizeGgml(w, DType::Q8_0);
    QCOMPARE(uint8_t(blocksOf(*q8)[1]) & 0x7C, 0x7C); // d = absmax / 127 > 65504: Inf
}

void TestGgmlQuant::emptyMatrix()
{
    auto q = quantizeGgml(matrixOf(0, 256, {}), DType::Q4_K);
    QVERIFY(q.ok());
    QVERIFY(blocksOf(*q).empty());
    QCOMPARE(q->bytes, uint64_t(0));
    QCOMPARE(q->bitsPerWeight, 0.0); // no weights: no rate
}

void TestGgmlQuant::progressAndCancel()
{
    const Matrix w = gaussian(300, 256, 8);
    core::Progress progress;
    std::atomic<uint64_t> last{0};
    std::atomic<uint64_t> total{0};
    progress.report = [&](uint64_t done, uint64_t all) {
        uint64_t prev = last.load();
        while (done > prev && !last.compare_exchange_weak(prev, done)) {}
        total = all;
    };
    QVERIFY(quantizeGgml(w, DType::Q4_0, &progress).ok());
    QCOMPARE(last.load(), uint64_t(300));
    QCOMPARE(total.load(), uint64_t(300));

    core::Progress cancel;
    cancel.cancelRequested = true;
    auto r = quantizeGgml(w, DType::Q4_0, &cancel);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, core::ErrorCode::Cancelled);
}

QTEST_GUILESS_MAIN(TestGgmlQuant)
#include "tst_ggml_quant.moc"
