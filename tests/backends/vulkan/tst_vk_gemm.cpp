// The f32 GEMM on a Vulkan device (backends/vulkan/kernels/vk_gemm.h, VulkanBackend::gemm())
// against the reference backend's sgemm and a double-precision triple loop, on the installed
// driver (lavapipe on the CI and development machines) with the validation layer on.
//
// Bound: with S = |alpha| sum_p |op(A)_ip op(B)_pj| + |beta C_ij| and u = 2^-24, each
// implementation is within (K + 2) u S of the exact value (K roundings for the products and
// the sums in whatever order, fused or not, one for alpha and one for adding beta C; the
// bound (K + 2) u / (1 - (K + 2) u) is covered by the factor 1.01 at these K), plus K 2^-126
// for products a device may flush to zero. So the device and the reference differ by at most
// twice that, which is what the comparison with the reference allows; each is also checked
// against the exact value with the single bound. A chunked run is compared bit for bit with
// the unchunked one: every element is the same shader's k-ordered sum whichever chunk holds
// it.
//
// GPTQ and AWQ through the backend: the two GEMMs round differently, which can move a weight
// sitting on a rounding boundary to the neighbouring code, and GPTQ then carries that change
// into the columns after it. Criterion (the one tst_backend applies to oneDNN against the
// reference): at most 0.5% of the decoded weights differ, and the layer output errors
// ||X (W - Q)^T||^2 agree within 1%.
#include "vulkan_helpers.h"
#include "backends/vulkan/kernels/vk_gemm.h"
#include "backends/vulkan/vk_queue.h"
#include "backends/vulkan/vulkan_backend.h"

#include "core/gemm.h"
#include "quant/calibration.h"
#include "quant/methods.h"
#include "quant/metrics.h"
#include "quant/scheme.h"

#include <QtTest>

#include <cmath>
#include <limits>
#include <random>

using namespace qs;
using namespace qs::backends::vulkan;

namespace {

std::vector<float> randomValues(int64_t count, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(size_t(std::max<int64_t>(count, 1)));
    for (float& x : v) x = u(rng);
    return v;
}

/// One problem with leading dimensions wider than the stored rows (a stride mix-up shows).
struct Problem {
    GemmCall call;
    std::vector<float> a, b, c;

    Problem(int64_t m, int64_t n, int64_t k, bool transA, bool transB, float alpha, float beta, uint64_t seed)
    {
        call.transA = transA;
        call.transB = transB;
        call.m = m;
        call.n = n;
        call.k = k;
        call.alpha = alpha;
        call.beta = beta;
        call.lda = (transA ? m : k) + 3;
        call.ldb = (transB ? k : n) + 2;
        call.ldc = n + 1;
        a = randomValues((transA ? k : m) * call.lda, seed);
        b = randomValues((transB ? n : k) * call.ldb, seed + 1);
        c = randomValues(m * call.ldc, seed + 2);
        // beta == 0 must not read C: a NaN there would show in the result.
        if (beta == 0.0f) std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
    }
    float opA(int64_t i, int64_t p) const { return call.transA ? a[size_t(p * call.lda + i)] : a[size_t(i * call.lda + p)]; }
    float opB(int64_t p, int64_t j) const { return call.transB ? b[size_t(j * call.ldb + p)] : b[size_t(p * call.ldb + j)]; }
    /// The call on this problem's own copy of C (`out`).
    GemmCall on(std::vector<float>& out) const
    {
        GemmCall g = call;
        g.a = a.data();
        g.b = b.data();
        g.c = out.data();
        return g;
    }
};

/// The exact value (in double) of element (i, j) and the single-implementation bound.
std::pair<double, double> exactAndBound(const Problem& p, int64_t i, int64_t j)
{
    double s = 0, abs = 0;
    for (int64_t q = 0; q < p.call.k; ++q) {
        const double x = double(p.opA(i, q)) * double(p.opB(q, j));
        s += x;
        abs += std::fabs(x);
    }
    const double c0 = p.call.beta == 0.0f ? 0.0 : double(p.c[size_t(i * p.call.ldc + j)]);
    const double exact = double(p.call.alpha) * s + double(p.call.beta) * c0;
    const double S = std::fabs(double(p.call.alpha)) * abs + std::fabs(double(p.call.beta) * c0);
    return {exact, 1.01 * double(p.call.k + 2) * std::ldexp(1.0, -24) * S + double(p.call.k) * std::ldexp(1.0, -126)};
}

core::Status referenceSgemm(const GemmCall& g)
{
    return core::referenceGemm().sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta,
                                       g.c, g.ldc);
}

quant::Matrix randomMatrix(int64_t rows, int64_t cols, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    quant::Matrix m{rows, cols, std::vector<float>(size_t(rows * cols))};
    for (float& v : m.data) v = normal(rng);
    return m;
}

} // namespace

class TestVkGemm : public QObject {
    Q_OBJECT
    vktest::Fixture m_f;

private slots:
    void initTestCase() { VKTEST_OPEN_FIXTURE(m_f); }
    void cleanupTestCase() { VKTEST_NO_VALIDATION_MESSAGES(m_f); }

    void agreesWithTheReference_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("transA");
        QTest::addColumn<bool>("transB");
        QTest::addColumn<float>("beta");
        const int shapes[][3] = {{1, 1, 1}, {13, 127, 33}, {4097, 1, 65}, {1, 300, 129}, {130, 70, 200}, {65, 64, 1}};
        for (const auto& s : shapes)
            for (int t = 0; t < 4; ++t)
                for (float beta : {0.5f, 0.0f}) {
                    const bool ta = t & 1, tb = t & 2;
                    QTest::addRow("%dx%dx%d %c%c beta %g", s[0], s[1], s[2], ta ? 'T' : 'N', tb ? 'T' : 'N',
                                  double(beta))
                        << s[0] << s[1] << s[2] << ta << tb << beta;
                }
    }

    void agreesWithTheReference()
    {
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        QFETCH(bool, transA);
        QFETCH(bool, transB);
        QFETCH(float, beta);
        const Problem p(m, n, k, transA, transB, -1.5f, beta, uint64_t(m * 7919 + n * 31 + k));
        std::vector<float> dev = p.c, ref = p.c;
        DispatchTiming timing;
        const auto st = sgemmOnDevice(*m_f.device, p.on(dev), {}, &timing);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        QVERIFY(referenceSgemm(p.on(ref)).ok());
        QVERIFY(timing.wallSeconds > 0.0);
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
                const size_t at = size_t(i * p.call.ldc + j);
                const auto [exact, bound] = exactAndBound(p, i, j);
                QVERIFY2(std::fabs(dev[at] - exact) <= bound,
                         qPrintable(QString("(%1,%2): %3 vs exact %4").arg(i).arg(j).arg(dev[at]).arg(exact)));
                QVERIFY2(std::fabs(double(dev[at]) - double(ref[at])) <= 2 * bound,
                         qPrintable(QString("(%1,%2): %3 vs reference %4").arg(i).arg(j).arg(dev[at]).arg(ref[at])));
            }
            // The padding column of C is left as it was (NaN or the random value).
            const size_t pad = size_t(i * p.call.ldc + n);
            QVERIFY(std::memcmp(&dev[pad], &p.c[pad], 4) == 0);
        }
    }

    void emptyProblems_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        QTest::addColumn<float>("beta");
        QTest::newRow("M = 0") << 0 << 5 << 7 << 0.5f;
        QTest::newRow("N = 0") << 5 << 0 << 7 << 0.0f;
        QTest::newRow("K = 0, beta 0.5") << 3 << 4 << 0 << 0.5f;
        QTest::newRow("K = 0, beta 0 over NaN") << 3 << 4 << 0 << 0.0f;
    }

    void emptyProblems()
    {
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        QFETCH(float, beta);
        const Problem p(m, n, k, false, false, 2.0f, beta, 5);
        std::vector<float> dev = p.c;
        QVERIFY(sgemmOnDevice(*m_f.device, p.on(dev)).ok());
        // By the contract: nothing when M or N is 0; C = beta * C (zeros for beta 0) when K is 0.
        for (size_t at = 0; at < p.c.size(); ++at) {
            const bool inside = k == 0 && int64_t(at) % p.call.ldc < n;
            const float expected = !inside ? p.c[at] : (beta == 0.0f ? 0.0f : beta * p.c[at]);
            QVERIFY(std::memcmp(&dev[at], &expected, 4) == 0);
        }
    }

    void chunkedRunsGiveTheSameBits_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("transA");
        QTest::addColumn<bool>("transB");
        // 1 KiB buffers hold 256 floats: 4097 x 65 splits by rows of C (3 rows per chunk), and
        // 65 x 300 of B by columns of C (3 columns per chunk) as well.
        QTest::newRow("4097x1x65 NN") << 4097 << 1 << 65 << false << false;
        QTest::newRow("130x300x65 TT") << 130 << 300 << 65 << true << true;
        QTest::newRow("70x90x16 TN") << 70 << 90 << 16 << true << false;
    }

    void chunkedRunsGiveTheSameBits()
    {
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        QFETCH(bool, transA);
        QFETCH(bool, transB);
        const Problem p(m, n, k, transA, transB, 0.75f, 0.25f, 99);
        std::vector<float> whole = p.c, chunked = p.c;
        QVERIFY(sgemmOnDevice(*m_f.device, p.on(whole)).ok());
        DeviceGemmOptions small;
        small.maxChunkBytes = 1024;
        bool wrote = false;
        small.wroteC = &wrote;
        const auto st = sgemmOnDevice(*m_f.device, p.on(chunked), small);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        QVERIFY(wrote);
        QVERIFY(std::memcmp(whole.data(), chunked.data(), whole.size() * 4) == 0);
    }

    void badArgumentsAreErrors()
    {
        const float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
        float c[4] = {0, 0, 0, 0};
        GemmCall g{false, false, 2, 2, 3, 1.0f, a, 2, b, 2, 0.0f, c, 2}; // lda 2 < K 3
        auto st = sgemmOnDevice(*m_f.device, g);
        QVERIFY(!st.ok());
        QCOMPARE(st.error().code, core::ErrorCode::InvalidArgument);
        QVERIFY(st.error().message.starts_with("sgemm: leading dimension too small"));
        g.lda = 3;
        g.m = -1;
        QVERIFY(!sgemmOnDevice(*m_f.device, g).ok());
        // K larger than one buffer holds (256 floats at 1 KiB) is refused, not split.
        std::vector<float> big(300, 1.0f);
        GemmCall wide{false, true, 1, 1, 300, 1.0f, big.data(), 300, big.data(), 300, 0.0f, c, 1};
        DeviceGemmOptions small;
        small.maxChunkBytes = 1024;
        bool wrote = false;
        small.wroteC = &wrote;
        st = sgemmOnDevice(*m_f.device, wide, small);
        QVERIFY(!st.ok());
        QCOMPARE(st.error().code, core::ErrorCode::Unsupported);
        QVERIFY2(st.error().message.find("K = 300") != std::string::npos, st.error().message.c_str());
        QVERIFY(!wrote);
    }

    void backendGemmByHand()
    {
        // [1 2 3; 4 5 6] [1 0; 0 1; 1 1] = [4 5; 10 11]; times 2, plus 1 * C = [1 1; 1 1].
        auto backend = VulkanBackend::create();
        QVERIFY2(backend.ok(), backend.ok() ? "" : backend.error().message.c_str());
        const auto& caps = (*backend)->capabilities();
        QVERIFY(caps.has(backends::Op::Gemm));
        QVERIFY(caps.howRuns(backends::Op::Gemm).starts_with("Vulkan f32 GEMM shader"));
        QCOMPARE((*backend)->gemm().name(), std::string_view("vulkan"));
        const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
        float c[4] = {1, 1, 1, 1};
        QVERIFY((*backend)->gemm().sgemm(false, false, 2, 2, 3, 2.0f, a, 3, b, 2, 1.0f, c, 2).ok());
        QCOMPARE(std::vector<float>(c, c + 4), (std::vector<float>{9, 11, 21, 23}));
        const std::string text = vktest::validationText((*backend)->queue().instance());
        QVERIFY2(text.empty(), text.c_str());
    }

    void methodsAgreeWithTheReference_data()
    {
        QTest::addColumn<QString>("method");
        QTest::newRow("gptq") << "gptq";
        QTest::newRow("awq") << "awq";
    }

    void methodsAgreeWithTheReference()
    {
        QFETCH(QString, method);
        auto backend = VulkanBackend::create();
        QVERIFY(backend.ok());
        const quant::Matrix w = randomMatrix(64, 320, 51);
        const quant::Calibration calib = quant::syntheticCalibration(384, 320, 52, 4);
        auto m = quant::parseMethod(method.toStdString());
        auto scheme = quant::parseScheme("int4:g64");
        QVERIFY(m && scheme);
        std::vector<quant::MethodResult> results;
        std::vector<double> outErr;
        for (const core::Gemm* gemm : {&core::referenceGemm(), &(*backend)->gemm()}) {
            quant::MethodOptions options;
            options.gemm = gemm;
            auto r = quant::quantizeWithMethod(w, *scheme, *m, options, &calib);
            QVERIFY2(r, r ? "" : r.error().message.c_str());
            outErr.push_back(*quant::outputError(calib.x, w, r->dequant()));
            results.push_back(std::move(*r));
        }
        size_t differ = 0;
        for (size_t i = 0; i < w.data.size(); ++i)
            differ += results[0].dequant().data[i] != results[1].dequant().data[i];
        qInfo("%s: %zu of %zu weights differ; output error %.6g (reference) vs %.6g (vulkan)", qPrintable(method),
              differ, w.data.size(), outErr[0], outErr[1]);
        QVERIFY2(double(differ) <= 0.005 * double(w.data.size()),
                 qPrintable(QString("%1 of %2 weights differ").arg(differ).arg(w.data.size())));
        QVERIFY(std::fabs(outErr[0] - outErr[1]) <= 0.01 * outErr[0]);
        const std::string text = vktest::validationText((*backend)->queue().instance());
        QVERIFY2(text.empty(), text.c_str());
    }
};

QTEST_GUILESS_MAIN(TestVkGemm)
#include "tst_vk_gemm.moc"
