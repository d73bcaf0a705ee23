// The backend interface: the registry, capability lists, "not supported" answers, and the
// reference and oneDNN backends against each other and against plain loops written here
// (double-precision triple loops, bf16 and f16 roundings by frexp, exact integer sums).
#include "backends/backend.h"
#include "quant/calibration.h"
#include "quant/methods.h"
#include "quant/plan.h"
#include "quant/scheme.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace qs;
using backends::LinearPrecision;
using backends::LinearWeights;
using backends::Op;

namespace {

quant::Matrix randomMatrix(int64_t rows, int64_t cols, uint64_t seed, float lo = -1, float hi = 1)
{
    quant::Matrix m{rows, cols, std::vector<float>(size_t(rows * cols))};
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float& v : m.data)
        v = dist(rng);
    return m;
}

std::unique_ptr<backends::Backend> make(const char* name)
{
    auto b = backends::createBackend(name);
    if (!b) qFatal("createBackend(%s): %s", name, b.error().message.c_str());
    return std::move(*b);
}

/// Standard bound for an f32 sum of K products in any order, FMA or not:
/// |computed - exact| <= (K + 2) u (sum |a b| + ...) with u = 2^-24; 1.01 for the higher terms.
double f32SumBound(int64_t k, double absSum) { return 1.01 * double(k + 2) * 0x1p-24 * absSum; }

/// bf16 by hand: keep 8 significant bits of the frexp mantissa, ties to even.
float bf16ByHand(float x)
{
    int e = 0;
    const double m = std::frexp(double(x), &e); // x = m 2^e, 0.5 <= |m| < 1
    return float(std::ldexp(std::nearbyint(std::ldexp(m, 8)), e - 8));
}

/// IEEE half by hand: 11 significant bits of the frexp mantissa, but no step below 2^-24 (the
/// subnormal halves), ties to even; 65520 and above (half-way past 65504) overflow to Inf.
float f16ByHand(float x)
{
    if (std::fabs(x) >= 65520.0f) return std::copysign(std::numeric_limits<float>::infinity(), x);
    int e = 0;
    std::frexp(double(x), &e); // |x| in [2^(e-1), 2^e)
    const int step = std::max(e - 11, -24);
    return float(std::ldexp(std::nearbyint(std::ldexp(double(x), -step)), step));
}

/// op(A)[i][p] and op(B)[p][j] for row-major storage.
float opA(const std::vector<float>& a, bool t, int64_t lda, int64_t i, int64_t p)
{
    return t ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)];
}

} // namespace

class TestBackend : public QObject {
    Q_OBJECT
private slots:
    void registryNamesAndUnknownName()
    {
        QCOMPARE(backends::backendNames(), (std::vector<std::string>{"reference", "onednn", "vulkan"}));
        QCOMPARE(make("ref")->name(), std::string_view("reference"));
        QCOMPARE(make("reference")->name(), std::string_view("reference"));
        QCOMPARE(make("onednn")->name(), std::string_view("onednn"));
        auto bad = backends::createBackend("cuda");
        QVERIFY(!bad);
        QCOMPARE(int(bad.error().code), int(core::ErrorCode::InvalidArgument));
        QVERIFY(bad.error().message.find("'cuda'") != std::string::npos);
        QVERIFY(bad.error().message.find("reference, onednn") != std::string::npos);
    }

    void backendSpecs_data()
    {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("device"); // -1: none; -2: an error is expected
        QTest::newRow("plain") << "reference" << "reference" << -1;
        QTest::newRow("vulkan default") << "vulkan" << "vulkan" << -1;
        QTest::newRow("vulkan 0") << "vulkan:0" << "vulkan" << 0;
        QTest::newRow("vulkan 12") << "vulkan:12" << "vulkan" << 12;
        QTest::newRow("largest index") << "vulkan:4294967295" << "vulkan" << -3;
        QTest::newRow("index too large") << "vulkan:4294967296" << "" << -2;
        QTest::newRow("no index") << "vulkan:" << "" << -2;
        QTest::newRow("negative") << "vulkan:-1" << "" << -2;
        QTest::newRow("trailing text") << "vulkan:1x" << "" << -2;
        QTest::newRow("no name") << ":1" << "" << -2;
        QTest::newRow("empty") << "" << "" << -2;
    }

    void backendSpecs()
    {
        QFETCH(QString, spec);
        QFETCH(QString, name);
        QFETCH(int, device);
        auto b = backends::parseBackendSpec(spec.toStdString());
        if (device == -2) {
            QVERIFY(!b);
            QCOMPARE(int(b.error().code), int(core::ErrorCode::InvalidArgument));
            QVERIFY2(b.error().message.find("'" + spec.toStdString() + "'") != std::string::npos, b.error().message.c_str());
            return;
        }
        QVERIFY2(b.ok(), b.ok() ? "" : b.error().message.c_str());
        QCOMPARE(QString::fromStdString(b->name), name);
        if (device == -1) QVERIFY(!b->options.device);
        else QCOMPARE(*b->options.device, device == -3 ? 4294967295u : uint32_t(device));
        QCOMPARE(QString::fromStdString(backends::backendSpec(b->name, b->options.device)), spec);
    }

    void capabilityLists()
    {
        const auto ref = make("reference");
        for (Op op : {Op::Quantize, Op::Statistics, Op::ErrorMetrics, Op::Linear, Op::Gemm}) {
            QVERIFY(ref->capabilities().has(op));
            QVERIFY(!ref->capabilities().howRuns(op).empty());
        }
        for (auto p : {LinearPrecision::F32, LinearPrecision::BF16, LinearPrecision::F16,
                       LinearPrecision::Int8, LinearPrecision::WeightOnly})
            QVERIFY(ref->capabilities().has(p));
        QCOMPARE(backends::precisionName(LinearPrecision::F16), std::string_view("f16"));
        const auto dnn = make("onednn");
        QVERIFY(dnn->capabilities().has(Op::Quantize));
        QVERIFY(dnn->capabilities().has(Op::Linear));
        QVERIFY(dnn->capabilities().has(Op::Gemm));
        QVERIFY(!dnn->capabilities().has(Op::Statistics));
        QVERIFY(!dnn->capabilities().has(Op::ErrorMetrics));
        QVERIFY(dnn->capabilities().howRuns(Op::Statistics).empty());
        QVERIFY(!dnn->capabilities().has(LinearPrecision::WeightOnly));
        QCOMPARE(ref->gemm().name(), std::string_view("reference"));
        QCOMPARE(dnn->gemm().name(), std::string_view("onednn"));
    }

    void onednnAnswersNotSupported()
    {
        const auto dnn = make("onednn");
        const quant::Matrix w = randomMatrix(4, 64, 1);
        auto nf4 = quant::parseScheme("nf4");
        QVERIFY(nf4);
        auto q = dnn->quantize(w, *nf4);
        QVERIFY(!q);
        QCOMPARE(int(q.error().code), int(core::ErrorCode::Unsupported));
        QVERIFY2(q.error().message.starts_with("not supported by onednn: quantize nf4"),
                 q.error().message.c_str());
        for (const char* spec : {"int4", "int8:asym", "int8:g32", "int8:stochastic"}) {
            auto s = quant::parseScheme(spec);
            QVERIFY(s);
            QVERIFY2(!dnn->supportsScheme(*s), spec);
            QVERIFY(make("reference")->supportsScheme(*s));
        }
        auto e = dnn->errorMetrics(w, w);
        QVERIFY(!e);
        QCOMPARE(e.error().message, std::string("not supported by onednn: error metrics"));
        core::TensorInfo t;
        auto st = dnn->statistics(t);
        QVERIFY(!st);
        QCOMPARE(st.error().message, std::string("not supported by onednn: statistics"));
        auto rq = make("reference")->quantize(w, *quant::parseScheme("int4:g32"));
        QVERIFY(rq);
        backends::LinearOptions wo;
        wo.precision = LinearPrecision::WeightOnly;
        auto y = dnn->linear(randomMatrix(2, 64, 2), LinearWeights::fromQuantized(*rq), wo);
        QVERIFY(!y);
        QVERIFY(y.error().message.starts_with("not supported by onednn: linear weight-only"));
    }

    void int8CodesIdentical_data()
    {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<QString>("clip");
        QTest::newRow("37x53 channel") << 37 << 53 << "int8" << "minmax";
        QTest::newRow("1x7 channel") << 1 << 7 << "int8" << "minmax";
        QTest::newRow("64x129 tensor") << 64 << 129 << "int8:tensor" << "minmax";
        QTest::newRow("33x200 channel p99") << 33 << 200 << "int8" << "p99";
    }

    void int8CodesIdentical()
    {
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(QString, scheme);
        QFETCH(QString, clip);
        quant::Matrix w = randomMatrix(rows, cols, uint64_t(rows * 1000 + cols), -2, 2);
        w.data[0] = 0.0f; // a zero and the row maximum itself (code +-127 exactly)
        auto s = quant::parseScheme(scheme.toStdString());
        auto range = quant::parseClip(clip.toStdString());
        QVERIFY(s && range);
        auto a = make("reference")->quantize(w, *s, *range);
        auto b = make("onednn")->quantize(w, *s, *range);
        QVERIFY(a && b);
        QCOMPARE(a->codes.size(), w.data.size());
        QVERIFY(a->codes == b->codes);
        QVERIFY(a->dequant.data == b->dequant.data);
        QCOMPARE(a->bytes, b->bytes);
        QVERIFY(std::get<quant::ScaledParams>(a->params).scale == std::get<quant::ScaledParams>(b->params).scale);
    }

    void gemmAgreesWithTripleLoop_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("transA");
        QTest::addColumn<bool>("transB");
        QTest::newRow("37x53x61 NN") << 37 << 53 << 61 << false << false;
        QTest::newRow("37x53x61 NT") << 37 << 53 << 61 << false << true;
        QTest::newRow("37x53x61 TN") << 37 << 53 << 61 << true << false;
        QTest::newRow("37x53x61 TT") << 37 << 53 << 61 << true << true;
        QTest::newRow("gemv 1x300x129") << 1 << 300 << 129 << false << true;
        QTest::newRow("131x1x77") << 131 << 1 << 77 << false << false;
        QTest::newRow("tiles 200x300x520 NT") << 200 << 300 << 520 << false << true;
        QTest::newRow("K=1") << 5 << 6 << 1 << false << false;
    }

    void gemmAgreesWithTripleLoop()
    {
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        QFETCH(bool, transA);
        QFETCH(bool, transB);
        // Leading dimensions wider than the rows, to catch a stride mix-up.
        const int64_t lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1;
        const auto a = randomMatrix(transA ? k : m, lda, 11).data;
        const auto b = randomMatrix(transB ? n : k, ldb, 12).data;
        const auto c0 = randomMatrix(m, ldc, 13).data;
        const float alpha = 1.5f, beta = 0.5f;
        std::vector<double> exact(c0.size()), bound(c0.size());
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
                double s = 0, abs = 0;
                for (int64_t p = 0; p < k; ++p) {
                    const double x = double(opA(a, transA, lda, i, p)) * opA(b, !transB, ldb, j, p);
                    s += x;
                    abs += std::fabs(x);
                }
                const size_t at = size_t(i * ldc + j);
                exact[at] = alpha * s + beta * double(c0[at]);
                bound[at] = f32SumBound(k, std::fabs(alpha) * abs + std::fabs(beta * c0[at]));
            }
        }
        std::vector<std::vector<float>> results;
        for (const char* name : {"reference", "onednn"}) {
            auto c = c0;
            const auto& g = make(name)->gemm();
            QVERIFY(g.sgemm(transA, transB, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
                            c.data(), ldc));
            for (int64_t i = 0; i < m; ++i) {
                for (int64_t j = 0; j < n; ++j) {
                    const size_t at = size_t(i * ldc + j);
                    QVERIFY2(std::fabs(c[at] - exact[at]) <= bound[at],
                             qPrintable(QString("%1 (%2,%3): %4 vs %5").arg(name).arg(i).arg(j)
                                            .arg(c[at]).arg(exact[at])));
                }
                QCOMPARE(c[size_t(i * ldc + n)], c0[size_t(i * ldc + n)]); // padding untouched
            }
            results.push_back(std::move(c));
        }
        for (size_t at = 0; at < exact.size(); ++at) // so the two agree within twice the bound
            QVERIFY(std::fabs(results[0][at] - results[1][at]) <= 2 * bound[at]);
    }

    void gemmEdgeCases()
    {
        const auto& g = core::referenceGemm();
        float c[4] = {std::nanf(""), 2, 3, 4};
        const float a[1] = {1}, b[1] = {1};
        QVERIFY(g.sgemm(false, false, 2, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2)); // K = 0, beta 0
        QCOMPARE(c[0], 0.0f);
        QCOMPARE(c[3], 0.0f);
        auto bad = g.sgemm(false, false, 2, 2, 3, 1.0f, a, 2, b, 2, 0.0f, c, 2);
        QVERIFY(!bad);
        QVERIFY(bad.error().message.starts_with("sgemm: leading dimension too small"));
        QVERIFY(!g.sgemm(false, false, -1, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2));
    }

    void bf16LinearAgainstHandRounding()
    {
        const quant::Matrix x = randomMatrix(3, 77, 21), w = randomMatrix(29, 77, 22);
        backends::LinearOptions opt;
        opt.precision = LinearPrecision::BF16;
        for (const char* name : {"reference", "onednn"}) {
            auto y = make(name)->linear(x, LinearWeights::fromF32(w), opt);
            QVERIFY2(y, name);
            QCOMPARE(y->rows, x.rows);
            QCOMPARE(y->cols, w.rows);
            for (int64_t b = 0; b < x.rows; ++b) {
                for (int64_t n = 0; n < w.rows; ++n) {
                    double s = 0, abs = 0;
                    for (int64_t k = 0; k < x.cols; ++k) {
                        const double p = double(bf16ByHand(x.row(b)[k])) * bf16ByHand(w.row(n)[k]);
                        s += p;
                        abs += std::fabs(p);
                    }
                    QVERIFY2(std::fabs(y->row(b)[n] - s) <= f32SumBound(x.cols, abs), name);
                }
            }
        }
    }

    void f16LinearExactValues_data()
    {
        // 1x1 layers y = x w: the halves x and w round to, written by hand, and their product
        // (exact in f32: at most 22 significant bits).
        QTest::addColumn<float>("x");
        QTest::addColumn<float>("w");
        QTest::addColumn<float>("expected");
        const float inf = std::numeric_limits<float>::infinity();
        QTest::newRow("halves: 3 * -0.375") << 3.0f << -0.375f << -1.125f;
        QTest::newRow("largest half 65504") << 65504.0f << 1.0f << 65504.0f;
        QTest::newRow("smallest subnormal 2^-24 * 1024") << 0x1p-24f << 1024.0f << 0x1p-14f;
        QTest::newRow("subnormal 1023 * 2^-24") << 1023 * 0x1p-24f << 2.0f << 1023 * 0x1p-23f;
        QTest::newRow("tie 1 + 2^-11 to even: 1") << 1.0f + 0x1p-11f << 1.0f << 1.0f;
        QTest::newRow("tie 1 + 3 2^-11 to even: 1 + 2^-9") << 1.0f + 3 * 0x1p-11f << 1.0f << 1.0f + 0x1p-9f;
        QTest::newRow("past the tie: 1 + 2^-10") << 1.0f + 0x1p-11f + 0x1p-20f << 1.0f << 1.0f + 0x1p-10f;
        QTest::newRow("65519 to 65504") << 65519.0f << 1.0f << 65504.0f;
        QTest::newRow("65520 overflows to Inf") << 65520.0f << 1.0f << inf;
        QTest::newRow("-70000 to -Inf") << -70000.0f << 1.0f << -inf;
        QTest::newRow("subnormal tie 2^-25 to 0") << 0x1p-25f << 1.0f << 0.0f;
        QTest::newRow("subnormal tie 3 2^-25 to 2^-23") << 3 * 0x1p-25f << 1.0f << 0x1p-23f;
        QTest::newRow("w 0.1 to 1638 2^-14") << 1.0f << 0.1f << 0.0999755859375f;
        QTest::newRow("x 1/3 to 1365 2^-12, times 3") << 1.0f / 3.0f << 3.0f << 0.999755859375f;
    }

    void f16LinearExactValues()
    {
        QFETCH(float, x);
        QFETCH(float, w);
        QFETCH(float, expected);
        backends::LinearOptions opt;
        opt.precision = LinearPrecision::F16;
        const quant::Matrix wm{1, 1, {w}};
        auto y = make("reference")->linear(quant::Matrix{1, 1, {x}}, LinearWeights::fromF32(wm), opt);
        QVERIFY(y);
        QCOMPARE(y->data[0], expected);
        // Sums of halves that are exact in f32, by hand: 0.5*2 - 1.25*0.125 - 3*1 + 2048*0.5
        // and 0.5*-4 + 0 + 3*0.25 - 2048*2^-9.
        const quant::Matrix x4{1, 4, {0.5f, -1.25f, 3.0f, 2048.0f}};
        const quant::Matrix w4{2, 4, {2.0f, 0.125f, -1.0f, 0.5f, -4.0f, 0.0f, 0.25f, -0.001953125f}};
        auto y4 = make("reference")->linear(x4, LinearWeights::fromF32(w4), opt);
        QVERIFY(y4);
        QCOMPARE(y4->data, (std::vector<float>{1021.84375f, -2.0f + 0.75f - 4.0f}));
    }

    void f16LinearAgainstHandRounding()
    {
        quant::Matrix x = randomMatrix(3, 77, 23), w = randomMatrix(29, 77, 24, -300, 300);
        for (size_t i = 0; i < x.data.size(); i += 7) x.data[i] *= 0x1p-16f; // subnormal halves
        backends::LinearOptions opt;
        opt.precision = LinearPrecision::F16;
        for (const char* name : {"reference", "onednn"}) {
            const auto backend = make(name);
            auto y = backend->linear(x, LinearWeights::fromF32(w), opt);
            if (!backend->capabilities().has(LinearPrecision::F16)) { // listed exactly when it runs
                QVERIFY2(!y, name);
                QVERIFY2(y.error().message.starts_with("not supported by onednn: linear f16"),
                         y.error().message.c_str());
                qInfo("%s", y.error().message.c_str());
                continue;
            }
            QVERIFY2(y, y ? name : y.error().message.c_str());
            QCOMPARE(y->rows, x.rows);
            QCOMPARE(y->cols, w.rows);
            for (int64_t b = 0; b < x.rows; ++b) {
                for (int64_t n = 0; n < w.rows; ++n) {
                    double s = 0, abs = 0;
                    for (int64_t k = 0; k < x.cols; ++k) {
                        const double p = double(f16ByHand(x.row(b)[k])) * f16ByHand(w.row(n)[k]);
                        s += p;
                        abs += std::fabs(p);
                    }
                    QVERIFY2(std::fabs(y->row(b)[n] - s) <= f32SumBound(x.cols, abs), name);
                }
            }
        }
    }

    void int8LinearAgainstIntegerSums_data()
    {
        QTest::addColumn<bool>("nonNegative");
        QTest::newRow("s8 activations") << false;
        QTest::newRow("u8 activations") << true;
    }

    void int8LinearAgainstIntegerSums()
    {
        QFETCH(bool, nonNegative);
        const int64_t batch = 4, in = 93, out = 17;
        const quant::Matrix x = randomMatrix(batch, in, 31, nonNegative ? 0.0f : -1.5f, 1.5f);
        // Codes within 7 bits, so CPUs without VNNI (int16 saturation) give exact sums too.
        std::vector<int8_t> codes(static_cast<size_t>(out * in));
        std::mt19937 rng(32);
        for (auto& c : codes)
            c = int8_t(int(rng() % 127) - 63);
        std::vector<float> scales(static_cast<size_t>(out));
        for (int64_t n = 0; n < out; ++n)
            scales[size_t(n)] = 0.01f * float(n + 1);
        backends::LinearOptions opt;
        opt.precision = LinearPrecision::Int8;
        opt.range = {1.2f, nonNegative}; // x beyond 1.2 saturates
        const float sx = 1.2f / (nonNegative ? 255.0f : 127.0f);
        const backends::Int8Weights w{codes, scales, out, in};
        for (const char* name : {"reference", "onednn"}) {
            auto y = make(name)->linear(x, LinearWeights::fromInt8(w), opt);
            QVERIFY2(y, name);
            for (int64_t b = 0; b < batch; ++b) {
                for (int64_t n = 0; n < out; ++n) {
                    int64_t acc = 0;
                    for (int64_t k = 0; k < in; ++k) {
                        const double v = std::nearbyint(double(x.row(b)[k] * (1.0f / sx)));
                        const double q = std::clamp(v, nonNegative ? 0.0 : -128.0, nonNegative ? 255.0 : 127.0);
                        acc += int64_t(q) * codes[size_t(n * in + k)];
                    }
                    const double expected = double(acc) * double(sx * scales[size_t(n)]);
                    QVERIFY2(std::fabs(y->row(b)[n] - expected) <= 2 * 0x1p-24 * std::fabs(expected),
                             qPrintable(QString("%1 b=%2 n=%3: %4 vs %5").arg(name).arg(b).arg(n)
                                            .arg(y->row(b)[n]).arg(expected)));
                }
            }
        }
    }

    void referenceWeightOnlyAndMetrics()
    {
        const auto ref = make("reference");
        const quant::Matrix w = randomMatrix(8, 64, 41), x = randomMatrix(2, 64, 42);
        auto q = ref->quantize(w, *quant::parseScheme("int4:g32"));
        QVERIFY(q);
        backends::LinearOptions wo;
        wo.precision = LinearPrecision::WeightOnly;
        auto y = ref->linear(x, LinearWeights::fromQuantized(*q), wo);
        QVERIFY(y);
        for (int64_t b = 0; b < 2; ++b) {
            for (int64_t n = 0; n < 8; ++n) {
                double s = 0, abs = 0;
                for (int64_t k = 0; k < 64; ++k) {
                    s += double(x.row(b)[k]) * q->dequant.row(n)[k];
                    abs += std::fabs(double(x.row(b)[k]) * q->dequant.row(n)[k]);
                }
                QVERIFY(std::fabs(y->row(b)[n] - s) <= f32SumBound(64, abs));
            }
        }
        // [1 2; 3 4] vs [1 2; 3 5]: mse 1/4, max |err| 1; a 1x1 max-pooled map holds 1.
        const quant::Matrix a{2, 2, {1, 2, 3, 4}}, b{2, 2, {1, 2, 3, 5}};
        auto e = ref->errorMetrics(a, b, {1, 1, quant::ErrorKind::Absolute, quant::Pooling::Max});
        QVERIFY(e);
        QCOMPARE(e->metrics.mse, 0.25);
        QCOMPARE(e->metrics.maxAbsErr, 1.0);
        QCOMPARE(e->map.rows, int64_t(1));
        QCOMPARE(e->map.data[0], 1.0f);
        QVERIFY(!ref->errorMetrics(a, quant::Matrix{1, 2, {1, 2}}));
        auto mismatch = ref->linear(randomMatrix(2, 63, 1), LinearWeights::fromF32(w));
        QVERIFY(!mismatch);
        QCOMPARE(int(mismatch.error().code), int(core::ErrorCode::InvalidArgument));
    }

    void preparedLinearDefaultPath_data()
    {
        QTest::addColumn<QString>("backend");
        QTest::addColumn<int>("precision");
        for (const char* name : {"reference", "onednn"})
            for (auto p : {LinearPrecision::F32, LinearPrecision::BF16, LinearPrecision::F16, LinearPrecision::Int8,
                           LinearPrecision::WeightOnly})
                QTest::addRow("%s %s", name, std::string(backends::precisionName(p)).c_str()) << QString(name) << int(p);
    }

    void preparedLinearDefaultPath()
    {
        // The base prepareLinear keeps the caller's weights and runs the plain linear(): the
        // same bits, and the same refusal where the backend does not run the precision.
        QFETCH(QString, backend);
        QFETCH(int, precision);
        const auto b = make(backend.toUtf8().constData());
        const quant::Matrix w = randomMatrix(7, 64, 51), x = randomMatrix(3, 64, 52, -2, 2);
        std::vector<int8_t> codes(7 * 64);
        for (size_t i = 0; i < codes.size(); ++i) codes[i] = int8_t(int(i * 37 % 255) - 127);
        const std::vector<float> scales(7, 0.02f);
        auto q = quant::quantizeRtn(w, *quant::parseScheme("int4:g32"));
        QVERIFY(q);
        backends::LinearOptions options;
        options.precision = LinearPrecision(precision);
        options.range = {2.0f, false};
        LinearWeights weights = LinearWeights::fromF32(w);
        if (options.precision == LinearPrecision::Int8) weights = LinearWeights::fromInt8({codes, scales, 7, 64});
        if (options.precision == LinearPrecision::WeightOnly) weights = LinearWeights::fromQuantized(*q);
        auto plain = b->linear(x, weights, options);
        auto prepared = b->prepareLinear(weights, options);
        if (!plain) { // refused when preparing, or (a precision listed but not runnable here) when run
            if (!prepared) {
                QCOMPARE(int(prepared.error().code), int(plain.error().code));
                QVERIFY2(prepared.error().message.starts_with("not supported by " + backend.toStdString()),
                         prepared.error().message.c_str());
                return;
            }
            auto y = b->linear(x, **prepared);
            QVERIFY(!y);
            QCOMPARE(y.error().message, plain.error().message);
            return;
        }
        QVERIFY2(prepared, prepared ? "" : prepared.error().message.c_str());
        QCOMPARE((*prepared)->outFeatures(), int64_t(7));
        QCOMPARE((*prepared)->inFeatures(), int64_t(64));
        auto y = b->linear(x, **prepared);
        QVERIFY(y);
        QVERIFY(std::memcmp(y->data.data(), plain->data.data(), plain->data.size() * 4) == 0);
        auto mismatch = b->linear(randomMatrix(3, 63, 1), **prepared);
        QVERIFY(!mismatch);
        QCOMPARE(int(mismatch.error().code), int(core::ErrorCode::InvalidArgument));
        QVERIFY(mismatch.error().message.find("the prepared weights are [7, 64]") != std::string::npos);
        const auto other = make(backend == "reference" ? "onednn" : "reference");
        auto elsewhere = other->linear(x, **prepared);
        QVERIFY(!elsewhere);
        QVERIFY2(elsewhere.error().message.find("prepared by another backend (" + backend.toStdString() + ")") !=
                     std::string::npos,
                 elsewhere.error().message.c_str());
        auto none = b->prepareLinear(LinearWeights{}, options);
        QVERIFY(!none);
        QCOMPARE(int(none.error().code), int(core::ErrorCode::InvalidArgument));
    }

    void methodsAgreeAcrossGemms_data()
    {
        QTest::addColumn<QString>("method");
        QTest::newRow("gptq") << "gptq";
        QTest::newRow("awq") << "awq";
    }

    void methodsAgreeAcrossGemms()
    {
        QFETCH(QString, method);
        const quant::Matrix w = randomMatrix(48, 160, 51);
        const quant::Calibration calib = quant::syntheticCalibration(256, 160, 52);
        auto m = quant::parseMethod(method.toStdString());
        auto scheme = quant::parseScheme("int4:g32");
        QVERIFY(m && scheme);
        std::vector<quant::MethodResult> results;
        std::vector<double> outErr;
        for (const char* name : {"reference", "onednn"}) {
            const auto backend = make(name);
            quant::MethodOptions options;
            options.gemm = &backend->gemm();
            auto r = quant::quantizeWithMethod(w, *scheme, *m, options, &calib);
            QVERIFY2(r, r ? "" : r.error().message.c_str());
            outErr.push_back(*quant::outputError(calib.x, w, r->dequant()));
            results.push_back(std::move(*r));
        }
        // Stated tolerance: the two GEMMs round differently (order of sums), which can move a
        // weight that sits on a rounding boundary to the neighbouring code. At most 0.5% of
        // the weights may differ, and the layer output errors agree within 1% of each other.
        size_t differ = 0;
        for (size_t i = 0; i < w.data.size(); ++i)
            differ += results[0].dequant().data[i] != results[1].dequant().data[i];
        QVERIFY2(double(differ) <= 0.005 * double(w.data.size()),
                 qPrintable(QString("%1 of %2 weights differ").arg(differ).arg(w.data.size())));
        QVERIFY(std::fabs(outErr[0] - outErr[1]) <= 0.01 * outErr[0]);
        qInfo("%s: %zu of %zu weights differ; output error %.6f (reference) vs %.6f (oneDNN)",
              qPrintable(method), differ, w.data.size(), outErr[0], outErr[1]);
    }
};

QTEST_GUILESS_MAIN(TestBackend)
#include "tst_backend.moc"
