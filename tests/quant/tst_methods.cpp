// Quantization methods beyond RTN. Expected values come from outside the code under test:
// hand calculations written here, a double-precision output error computed by plain loops in
// this file, and the methods' published properties (GPTQ with a diagonal Hessian is RTN; AWQ
// at alpha 0 is RTN; LLM.int8 keeps exactly the planted outlier channels).
#include "core/gemm.h"
#include "quant_test_support.h"

#include "quant/gptq.h"
#include "quant/methods.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace qs;
using namespace qs::quant;
using namespace quanttest;

namespace {

/// splitmix64 + Box-Muller, independent of the engine's generator.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed * 0x2545F4914F6CDD1Dull + 1) {}
    double uniform()
    {
        uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        return (double(z >> 11) + 0.5) / 9007199254740992.0;
    }
    float gauss()
    {
        return float(std::sqrt(-2.0 * std::log(uniform())) *
                     std::cos(6.283185307179586 * uniform()));
    }

private:
    uint64_t m_state;
};

Matrix gaussianMatrix(int64_t rows, int64_t cols, float sigma, Rng& rng)
{
    Matrix m;
    m.rows = rows;
    m.cols = cols;
    m.data.resize(size_t(rows * cols));
    for (float& v : m.data)
        v = sigma * rng.gauss();
    return m;
}

/// Layer inputs with correlated features (8 shared factors) and outlier channels
/// (every channel j with j % 32 == 5 scaled by 20), as LLM activations look.
Calibration plantedActivations(int64_t rows, int64_t cols, uint64_t seed)
{
    Rng rng(seed);
    Matrix factors = gaussianMatrix(rows, 8, 1.0f, rng);
    Calibration c;
    c.x = gaussianMatrix(rows, cols, 1.0f, rng);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j) {
            float& v = c.x.row(r)[j];
            v = 0.6f * v + 0.8f * factors.row(r)[j % 8];
            if (j % 32 == 5) v *= 20.0f;
        }
    }
    c.importance.assign(size_t(cols), 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j)
            c.importance[j] += c.x.row(r)[j] * c.x.row(r)[j] / rows;
    }
    c.source = "test activations seed " + std::to_string(seed);
    return c;
}

/// ||X W^T - X Q^T||_F / ||X W^T||_F in double by plain loops.
double outputErr(const Matrix& x, const Matrix& w, const Matrix& q)
{
    double num = 0, den = 0;
    for (int64_t n = 0; n < x.rows; ++n) {
        for (int64_t r = 0; r < w.rows; ++r) {
            double yw = 0, yq = 0;
            for (int64_t j = 0; j < x.cols; ++j) {
                yw += double(x.row(n)[j]) * w.row(r)[j];
                yq += double(x.row(n)[j]) * q.row(r)[j];
            }
            num += (yw - yq) * (yw - yq);
            den += yw * yw;
        }
    }
    return std::sqrt(num / den);
}

double sqnrDb(const Matrix& w, const Matrix& q)
{
    double s = 0, e = 0;
    for (size_t i = 0; i < w.data.size(); ++i) {
        s += double(w.data[i]) * w.data[i];
        e += (double(w.data[i]) - q.data[i]) * (double(w.data[i]) - q.data[i]);
    }
    return 10.0 * std::log10(s / e);
}

double maxAbsErr(const Matrix& w, const Matrix& q)
{
    double m = 0;
    for (size_t i = 0; i < w.data.size(); ++i)
        m = std::max(m, std::fabs(double(w.data[i]) - q.data[i]));
    return m;
}

Scheme scheme(const char* spec)
{
    auto s = parseScheme(spec);
    if (!s) qFatal("bad scheme %s: %s", spec, s.error().message.c_str());
    return *s;
}

Matrix rtn(const Matrix& w, const Scheme& s)
{
    auto q = quantizeRtn(w, s);
    if (!q) qFatal("RTN failed: %s", q.error().message.c_str());
    return q->dequant;
}

MethodResult run(const Matrix& w, const char* spec, Method m, const Calibration* c,
                 const MethodOptions& o = {})
{
    auto r = quantizeWithMethod(w, scheme(spec), m, o, c);
    if (!r) qFatal("%s failed: %s", std::string(methodName(m)).c_str(), r.error().message.c_str());
    return std::move(r.value());
}

/// Textbook GPTQ without lazy batching, in double: H = 2 X^T X / n (+ damping), U^T U = H^-1
/// from a Gauss-Jordan inverse and a Cholesky factorisation, then column by column
/// q = quant(w), err = (w - q) / U_ii, W[:, j] -= err U_ij for every later column j.
/// Quantizer: asymmetric int with the per-row scale and zero point RTN chose for the whole row.
Matrix referenceGptq(const Matrix& w0, const Matrix& x, int bits, const Quantized& rtnFit,
                     double damp)
{
    const int64_t n = w0.cols;
    std::vector<double> h(size_t(n * n), 0.0);
    for (int64_t k = 0; k < x.rows; ++k) {
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < n; ++j)
                h[i * n + j] += 2.0 * x.row(k)[i] * x.row(k)[j] / x.rows;
        }
    }
    double mean = 0;
    for (int64_t i = 0; i < n; ++i)
        mean += h[i * n + i] / n;
    for (int64_t i = 0; i < n; ++i)
        h[i * n + i] += damp * mean;
    // Gauss-Jordan inverse (H is positive definite: no pivoting needed).
    std::vector<double> inv(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        inv[i * n + i] = 1.0;
    for (int64_t c = 0; c < n; ++c) {
        const double p = h[c * n + c];
        for (int64_t j = 0; j < n; ++j) {
            h[c * n + j] /= p;
            inv[c * n + j] /= p;
        }
        for (int64_t r = 0; r < n; ++r) {
            if (r == c) continue;
            const double f = h[r * n + c];
            for (int64_t j = 0; j < n; ++j) {
                h[r * n + j] -= f * h[c * n + j];
                inv[r * n + j] -= f * inv[c * n + j];
            }
        }
    }
    // Lower Cholesky L L^T = H^-1; U = L^T.
    std::vector<double> l(size_t(n * n), 0.0);
    for (int64_t j = 0; j < n; ++j) {
        double d = inv[j * n + j];
        for (int64_t p = 0; p < j; ++p)
            d -= l[j * n + p] * l[j * n + p];
        l[j * n + j] = std::sqrt(d);
        for (int64_t i = j + 1; i < n; ++i) {
            double t = inv[i * n + j];
            for (int64_t p = 0; p < j; ++p)
                t -= l[i * n + p] * l[j * n + p];
            l[i * n + j] = t / l[j * n + j];
        }
    }
    std::vector<double> w(w0.data.begin(), w0.data.end());
    Matrix q = w0;
    const double qmax = std::pow(2.0, bits) - 1;
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t r = 0; r < w0.rows; ++r) {
            const double s = scalesOf(rtnFit)[r], z = zeroPointsOf(rtnFit)[r];
            const double code = std::clamp(std::nearbyint(w[r * n + i] / s) + z, 0.0, qmax);
            const double qv = s * (code - z);
            q.row(r)[i] = float(qv);
            const double err = (w[r * n + i] - qv) / l[i * n + i];
            for (int64_t j = i + 1; j < n; ++j)
                w[r * n + j] -= err * l[j * n + i];
        }
    }
    return q;
}

} // namespace

class TestMethods : public QObject {
    Q_OBJECT

private slots:
    void parseMethodNames_data();
    void parseMethodNames();
    void sgemmMatchesHand();
    void choleskyOfInverseByHand();
    void choleskyOfInverseLarge();
    void gptqDiagonalHessianIsRtn_data();
    void gptqDiagonalHessianIsRtn();
    void gptqBeatsRtn_data();
    void gptqBeatsRtn();
    void gptqUnsupportedScheme();
    void gptqMatchesUnblockedReference_data();
    void gptqMatchesUnblockedReference();
    void gptqDeadInputZeroed();
    void gptqCancelled();
    void awqBeatsRtn();
    void awqWithImatrixOnly();
    void smoothQuantScalesByHand_data();
    void smoothQuantScalesByHand();
    void llmInt8PlantedWeightOutliers();
    void llmInt8ActivationOutliers();
    void spqrKeepsTopErrors_data();
    void spqrKeepsTopErrors();
    void missingCalibration_data();
    void missingCalibration();
    void calibrationFeatureMismatch();
};

void TestMethods::parseMethodNames_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("method");
    QTest::newRow("rtn") << "rtn" << int(Method::Rtn);
    QTest::newRow("gptq") << "gptq" << int(Method::Gptq);
    QTest::newRow("awq") << "awq" << int(Method::Awq);
    QTest::newRow("smoothquant") << "smoothquant" << int(Method::SmoothQuant);
    QTest::newRow("llm.int8") << "llm.int8" << int(Method::LlmInt8);
    QTest::newRow("spqr") << "spqr" << int(Method::Spqr);
}

void TestMethods::parseMethodNames()
{
    QFETCH(QString, text);
    QFETCH(int, method);
    auto m = parseMethod(text.toStdString());
    QVERIFY(m.ok());
    QCOMPARE(int(*m), method);
    QCOMPARE(QString::fromStdString(std::string(methodName(*m))), text);
    auto bad = parseMethod("gptqq");
    QVERIFY(!bad.ok());
    QCOMPARE(int(bad.error().code), int(core::ErrorCode::InvalidArgument));
    QVERIFY(bad.error().message.find(text.toStdString()) != std::string::npos);
}

void TestMethods::sgemmMatchesHand()
{
    // [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11]; with B given transposed as [1 0 1; 0 1 1].
    const float a[] = {1, 2, 3, 4, 5, 6};
    const float bt[] = {1, 0, 1, 0, 1, 1};
    float c[] = {1, 1, 1, 1};
    QVERIFY(core::referenceGemm().sgemm(false, true, 2, 2, 3, 2.0f, a, 3, bt, 3, 1.0f, c, 2).ok());
    QCOMPARE(c[0], 9.0f);
    QCOMPARE(c[1], 11.0f);
    QCOMPARE(c[2], 21.0f);
    QCOMPARE(c[3], 23.0f);
    QVERIFY(!core::referenceGemm().sgemm(false, false, 2, 2, 3, 1.0f, a, 2, bt, 2, 0.0f, c, 2).ok());
}

void TestMethods::choleskyOfInverseByHand()
{
    // H = [4 2; 2 3], H^-1 = [3 -2; -2 4] / 8. U = [a b; 0 c] with U^T U = H^-1:
    // a^2 = 3/8, a b = -1/4, b^2 + c^2 = 1/2  ->  c^2 = 1/2 - 1/6 = 1/3.
    std::vector<float> h = {4, 2, 2, 3};
    QVERIFY(upperCholeskyOfInverse(h, 2).ok());
    const double a = std::sqrt(3.0 / 8.0);
    QVERIFY(std::fabs(h[0] - a) < 1e-6);
    QVERIFY(std::fabs(h[1] - (-0.25 / a)) < 1e-6);
    QCOMPARE(h[2], 0.0f);
    QVERIFY(std::fabs(h[3] - 1.0 / std::sqrt(3.0)) < 1e-6);
    std::vector<float> indefinite = {1, 2, 2, 1};
    QVERIFY(!upperCholeskyOfInverse(indefinite, 2).ok());
}

void TestMethods::choleskyOfInverseLarge()
{
    // 300 crosses two block boundaries. Check U^T U H = I in double.
    const int64_t n = 300;
    Rng rng(3);
    Matrix g = gaussianMatrix(400, n, 1.0f, rng);
    std::vector<double> h(size_t(n * n), 0.0);
    for (int64_t k = 0; k < g.rows; ++k) {
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < n; ++j)
                h[i * n + j] += double(g.row(k)[i]) * g.row(k)[j] / 400.0;
        }
    }
    for (int64_t i = 0; i < n; ++i)
        h[i * n + i] += 0.1;
    std::vector<float> u(h.begin(), h.end());
    QVERIFY(upperCholeskyOfInverse(u, n).ok());
    std::vector<double> uu(size_t(n * n), 0.0); // U^T U
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k <= i; ++k) {
            const double uki = u[k * n + i];
            if (uki == 0.0) continue;
            for (int64_t j = k; j < n; ++j)
                uu[i * n + j] += uki * u[k * n + j];
        }
    }
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
        QVERIFY(u[i * n + i] > 0.0f);
        for (int64_t j = 0; j < i; ++j)
            QCOMPARE(u[i * n + j], 0.0f);
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t k = 0; k < n; ++k)
                s += uu[i * n + k] * h[k * n + j];
            worst = std::max(worst, std::fabs(s - (i == j ? 1.0 : 0.0)));
        }
    }
    QVERIFY2(worst < 1e-3, std::to_string(worst).c_str());
}

void TestMethods::gptqDiagonalHessianIsRtn_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<bool>("actOrder");
    QTest::newRow("4x4 int4") << "int4" << 4 << 4 << false;
    QTest::newRow("4x4 int4 asym act-order") << "int4:channel:asym" << 4 << 4 << true;
    QTest::newRow("8x64 int4 g32") << "int4:g32" << 8 << 64 << false;
    QTest::newRow("8x64 int3 tensor") << "int3:tensor" << 8 << 64 << false;
    QTest::newRow("8x128 nf4") << "nf4" << 8 << 128 << false;
    QTest::newRow("8x64 fp8_e4m3") << "fp8_e4m3" << 8 << 64 << false;
    QTest::newRow("8x64 fp8_e5m2 tensor") << "fp8_e5m2:tensor" << 8 << 64 << true;
}

void TestMethods::gptqDiagonalHessianIsRtn()
{
    // X = sqrt(n / 2) * I (orthogonal rows), so H = 2 X^T X / n = I. Damping keeps it diagonal,
    // so H^-1's Cholesky factor is diagonal: no error is propagated to any other column and
    // every column is quantized exactly as RTN quantizes it.
    QFETCH(QString, spec);
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(bool, actOrder);
    Rng rng(11);
    Matrix w = gaussianMatrix(rows, cols, 1.0f, rng);
    Calibration c;
    c.x.rows = cols;
    c.x.cols = cols;
    c.x.data.assign(size_t(cols * cols), 0.0f);
    for (int i = 0; i < cols; ++i)
        c.x.row(i)[i] = std::sqrt(float(cols) / 2.0f);
    c.source = "identity";
    MethodOptions o;
    o.gptqActOrder = actOrder;
    const MethodResult g = run(w, spec.toUtf8().constData(), Method::Gptq, &c, o);
    const Matrix r = rtn(w, scheme(spec.toUtf8().constData()));
    QCOMPARE(g.dequant().data, r.data);
    auto rq = quantizeRtn(w, scheme(spec.toUtf8().constData()));
    QCOMPARE(g.bytes, rq->bytes);
}

void TestMethods::gptqBeatsRtn_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<bool>("actOrder");
    QTest::newRow("int4 channel") << "int4" << false;
    QTest::newRow("int3 g32") << "int3:g32" << false;
    QTest::newRow("int4 g32 asym") << "int4:g32:asym" << false;
    QTest::newRow("int4 act-order") << "int4" << true;
    QTest::newRow("int3 g32 act-order") << "int3:g32" << true;
    QTest::newRow("nf4") << "nf4" << false;
}

void TestMethods::gptqBeatsRtn()
{
    QFETCH(QString, spec);
    QFETCH(bool, actOrder);
    MethodOptions o;
    o.gptqActOrder = actOrder;
    o.gptqBlock = 32; // several lazy blocks over 128 columns
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        Rng rng(100 + seed);
        const Matrix w = gaussianMatrix(256, 128, 0.05f, rng);
        const Calibration c = plantedActivations(512, 128, seed);
        const MethodResult g = run(w, spec.toUtf8().constData(), Method::Gptq, &c, o);
        const double eg = outputErr(c.x, w, g.dequant());
        const double er = outputErr(c.x, w, rtn(w, scheme(spec.toUtf8().constData())));
        QVERIFY2(eg < 0.9 * er, (std::to_string(eg) + " vs RTN " + std::to_string(er)).c_str());
    }
}

void TestMethods::gptqUnsupportedScheme()
{
    Rng rng(1);
    const Matrix w = gaussianMatrix(4, 64, 1.0f, rng);
    const Calibration c = plantedActivations(16, 64, 1);
    auto r = quantizeWithMethod(w, scheme("mxfp4"), Method::Gptq, {}, &c);
    QVERIFY(!r.ok());
    QCOMPARE(int(r.error().code), int(core::ErrorCode::Unsupported));
    QVERIFY(r.error().message.find("mxfp4") != std::string::npos);
}

void TestMethods::gptqMatchesUnblockedReference_data()
{
    QTest::addColumn<int>("block");
    QTest::addColumn<int>("bits");
    QTest::newRow("block 8, int4") << 8 << 4;
    QTest::newRow("block 128, int4") << 128 << 4;
    QTest::newRow("block 5, int3") << 5 << 3;
}

void TestMethods::gptqMatchesUnblockedReference()
{
    // Lazy batches and the blocked Cholesky must not change the result: compare with the
    // textbook form above on 24 x 40 weights. Float vs double may move a value across a
    // rounding boundary, so a few codes may differ; the output errors must agree closely.
    QFETCH(int, block);
    QFETCH(int, bits);
    Rng rng(31);
    const Matrix w = gaussianMatrix(24, 40, 0.1f, rng);
    const Calibration c = plantedActivations(64, 40, 8);
    const std::string spec = "int" + std::to_string(bits) + ":channel:asym";
    MethodOptions o;
    o.gptqBlock = block;
    const MethodResult g = run(w, spec.c_str(), Method::Gptq, &c, o);
    auto fit = quantizeRtn(w, scheme(spec.c_str()));
    QVERIFY(fit.ok());
    QCOMPARE(scalesOf(*fit).size(), size_t(24));
    QCOMPARE(zeroPointsOf(*fit).size(), size_t(24));
    const Matrix ref = referenceGptq(w, c.x, bits, *fit, o.gptqDamp);
    int differ = 0;
    for (size_t i = 0; i < ref.data.size(); ++i)
        differ += std::fabs(ref.data[i] - g.dequant().data[i]) > 1e-5f;
    QVERIFY2(differ <= int(ref.data.size() / 50), std::to_string(differ).c_str());
    const double eg = outputErr(c.x, w, g.dequant()), er = outputErr(c.x, w, ref);
    QVERIFY2(std::fabs(eg - er) < 0.02 * er,
             (std::to_string(eg) + " vs " + std::to_string(er)).c_str());
}

void TestMethods::gptqDeadInputZeroed()
{
    // An input that is always 0 has H_ii = 0: the reference sets H_ii = 1 and zeroes the
    // weights of that column, which cannot change the layer's output.
    Rng rng(12);
    const Matrix w = gaussianMatrix(16, 64, 0.1f, rng);
    Calibration c = plantedActivations(128, 64, 2);
    for (int64_t r = 0; r < c.x.rows; ++r)
        c.x.row(r)[10] = 0.0f;
    const MethodResult g = run(w, "int4", Method::Gptq, &c);
    for (int64_t r = 0; r < w.rows; ++r)
        QCOMPARE(g.dequant().row(r)[10], 0.0f);
    QVERIFY(g.note.find("1 dead") != std::string::npos);
    QVERIFY(outputErr(c.x, w, g.dequant()) < outputErr(c.x, w, rtn(w, scheme("int4"))));
}

void TestMethods::gptqCancelled()
{
    Rng rng(12);
    const Matrix w = gaussianMatrix(16, 64, 0.1f, rng);
    const Calibration c = plantedActivations(128, 64, 2);
    core::Progress progress;
    progress.cancelRequested = true;
    auto r = quantizeWithMethod(w, scheme("int4"), Method::Gptq, {}, &c, &progress);
    QVERIFY(!r.ok());
    QCOMPARE(int(r.error().code), int(core::ErrorCode::Cancelled));
}

void TestMethods::awqBeatsRtn()
{
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        Rng rng(200 + seed);
        const Matrix w = gaussianMatrix(256, 128, 0.05f, rng);
        const Calibration c = plantedActivations(512, 128, seed);
        const MethodResult a = run(w, "int3:g32", Method::Awq, &c);
        const double ea = outputErr(c.x, w, a.dequant());
        const double er = outputErr(c.x, w, rtn(w, scheme("int3:g32")));
        QVERIFY2(ea < 0.95 * er, (std::to_string(ea) + " vs RTN " + std::to_string(er)).c_str());
        QCOMPARE(int64_t(a.channelScales.size()), w.cols);
        // The outlier channels (j % 32 == 5) get the largest scales.
        const float outlierScale = a.channelScales[5];
        QVERIFY(outlierScale >
                *std::max_element(a.channelScales.begin() + 6, a.channelScales.begin() + 37));
        QVERIFY(a.note.find("alpha") != std::string::npos);
    }
}

void TestMethods::awqWithImatrixOnly()
{
    Rng rng(5);
    const Matrix w = gaussianMatrix(64, 128, 0.05f, rng);
    Calibration c = plantedActivations(256, 128, 5);
    c.x = Matrix{}; // only the per-channel importance, as from an imatrix
    const MethodResult a = run(w, "int3:g32", Method::Awq, &c);
    const Matrix r = rtn(w, scheme("int3:g32"));
    auto weighted = [&](const Matrix& q) {
        double s = 0;
        for (int64_t i = 0; i < w.rows; ++i) {
            for (int64_t j = 0; j < w.cols; ++j) {
                const double d = double(w.row(i)[j]) - q.row(i)[j];
                s += c.importance[j] * d * d;
            }
        }
        return s;
    };
    QVERIFY(weighted(a.dequant()) < weighted(r));
}

void TestMethods::smoothQuantScalesByHand_data()
{
    QTest::addColumn<double>("alpha");
    QTest::addColumn<float>("s0");
    QTest::addColumn<float>("s1");
    // max|X| = {16, 1}, max|W| per input channel = {1, 4}.
    // alpha 0.5:  s0 = 16^0.5 / 1^0.5 = 4,      s1 = 1 / 4^0.5 = 0.5
    // alpha 0.75: s0 = 16^0.75 / 1^0.25 = 8,    s1 = 1 / 4^0.25 = 0.70710678
    // alpha 0:    s = 1 / max|W|               = {1, 0.25}
    QTest::newRow("0.5") << 0.5 << 4.0f << 0.5f;
    QTest::newRow("0.75") << 0.75 << 8.0f << 0.70710678f;
    QTest::newRow("0") << 0.0 << 1.0f << 0.25f;
}

void TestMethods::smoothQuantScalesByHand()
{
    QFETCH(double, alpha);
    QFETCH(float, s0);
    QFETCH(float, s1);
    Calibration c;
    c.x = Matrix{2, 2, {16, 1, -8, 0.5f}};
    c.source = "hand";
    const Matrix w{2, 2, {1, -4, 0.5f, 2}};
    MethodOptions o;
    o.smoothAlpha = alpha;
    const MethodResult r = run(w, "int8", Method::SmoothQuant, &c, o);
    QCOMPARE(r.channelScales.size(), size_t(2));
    QVERIFY(std::fabs(r.channelScales[0] - s0) < 1e-5f * s0);
    QVERIFY(std::fabs(r.channelScales[1] - s1) < 1e-5f * s1);
    // Reported in the original space: RTN of W diag(s), then divided by s.
    const Matrix scaled{2, 2, {w.data[0] * s0, w.data[1] * s1, w.data[2] * s0, w.data[3] * s1}};
    const Matrix q = rtn(scaled, scheme("int8"));
    for (int i = 0; i < 4; ++i) {
        const float s = i % 2 == 0 ? s0 : s1;
        QVERIFY(std::fabs(r.dequant().data[i] - q.data[i] / s) < 1e-5f);
    }
    QVERIFY(r.note.find("16") != std::string::npos); // activation absmax before smoothing
}

void TestMethods::llmInt8PlantedWeightOutliers()
{
    Rng rng(9);
    Matrix w = gaussianMatrix(64, 128, 0.5f, rng);
    const int planted[] = {7, 50, 99};
    for (int j : planted) {
        for (int64_t r = 0; r < w.rows; ++r)
            w.row(r)[j] = (r % 2 ? 1 : -1) * (20.0f + float(r % 5));
    }
    const MethodResult m = run(w, "int8", Method::LlmInt8, nullptr);
    QCOMPARE(m.keptChannels, int64_t(3));
    QCOMPARE(m.keptWeights, int64_t(3 * 64));
    QVERIFY(m.note.find("weight") != std::string::npos);
    const double gain = sqnrDb(w, m.dequant()) - sqnrDb(w, rtn(w, scheme("int8")));
    QVERIFY2(gain > 10.0, std::to_string(gain).c_str());
    // Kept columns are the fp16 values: 20..24 are exact in half precision.
    for (int j : planted)
        QCOMPARE(m.dequant().row(3)[j], w.row(3)[j]);
    // Bytes as stored: F16 x 64 x 3 kept + the quantized 64 x 125 part (int8: 64 x 125 codes
    // + 64 F32 scales) + I64 column indexes.
    Matrix part{64, 125, {}};
    for (int64_t r = 0; r < 64; ++r) {
        for (int64_t j = 0; j < 128; ++j) {
            if (j != 7 && j != 50 && j != 99) part.data.push_back(w.row(r)[j]);
        }
    }
    const uint64_t partBytes = quantizeRtn(part, scheme("int8"))->bytes;
    QCOMPARE(partBytes, 64u * 125u + 64u * 4u);
    QCOMPARE(m.bytes, 2u * 64u * 3u + partBytes + 3u * 8u);
    QCOMPARE(m.bitsPerWeight, (16.0 * 64 * 3 + 8.0 * partBytes + 64.0 * 3) / (64.0 * 128));
}

void TestMethods::llmInt8ActivationOutliers()
{
    Rng rng(4);
    const Matrix w = gaussianMatrix(32, 128, 0.5f, rng);
    // Channels 5, 37, 69, 101 are scaled by 20 (max |x| ~ 60); N(0,1) mixtures stay below 6.
    const Calibration c = plantedActivations(256, 128, 4);
    const MethodResult m = run(w, "int4", Method::LlmInt8, &c);
    QCOMPARE(m.keptChannels, int64_t(4));
    QVERIFY(m.note.find("activation") != std::string::npos);
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int j : {5, 37, 69, 101}) {
            QVERIFY(std::fabs(m.dequant().row(r)[j] - w.row(r)[j]) <=
                    std::fabs(w.row(r)[j]) / 1024);
        }
    }
}

void TestMethods::spqrKeepsTopErrors_data()
{
    QTest::addColumn<double>("percent");
    QTest::addColumn<int>("expectedKept");
    // 32 x 64 = 2048 weights: round(20.48) = 20, round(10.24) = 10, round(51.2) = 51.
    QTest::newRow("1%") << 1.0 << 20;
    QTest::newRow("0.5%") << 0.5 << 10;
    QTest::newRow("2.5%") << 2.5 << 51;
    QTest::newRow("0%") << 0.0 << 0;
}

void TestMethods::spqrKeepsTopErrors()
{
    QFETCH(double, percent);
    QFETCH(int, expectedKept);
    Rng rng(21);
    const Matrix w = gaussianMatrix(32, 64, 1.0f, rng);
    MethodOptions o;
    o.spqrPercent = percent;
    const MethodResult m = run(w, "int3", Method::Spqr, nullptr, o);
    const Matrix r = rtn(w, scheme("int3"));
    QCOMPARE(m.keptWeights, int64_t(expectedKept));
    int changed = 0;
    double smallestKeptErr = 1e30, largestOtherErr = 0;
    for (size_t i = 0; i < w.data.size(); ++i) {
        const double e = std::fabs(double(w.data[i]) - r.data[i]);
        if (m.dequant().data[i] != r.data[i]) {
            ++changed;
            smallestKeptErr = std::min(smallestKeptErr, e);
            QVERIFY(std::fabs(m.dequant().data[i] - w.data[i]) <=
                    std::fabs(w.data[i]) / 1024);
        } else {
            largestOtherErr = std::max(largestOtherErr, e);
        }
    }
    QCOMPARE(changed, expectedKept);
    if (expectedKept > 0) {
        QVERIFY(smallestKeptErr >= largestOtherErr); // the kept ones are the largest errors
        QVERIFY(maxAbsErr(w, m.dequant()) < maxAbsErr(w, r));
    }
    // 10 bytes per sparse entry as stored (I64 index + F16 value) on top of RTN's storage.
    const uint64_t rtnBytes = quantizeRtn(w, scheme("int3"))->bytes;
    QCOMPARE(m.bytes, rtnBytes + 10u * uint64_t(expectedKept));
    QCOMPARE(m.bitsPerWeight,
             double(rtnBytes + 10u * uint64_t(expectedKept)) * 8.0 / 2048.0);
}

void TestMethods::missingCalibration_data()
{
    QTest::addColumn<int>("method");
    QTest::addColumn<bool>("imatrixOnly");
    QTest::addColumn<bool>("expectOk");
    QTest::newRow("gptq none") << int(Method::Gptq) << false << false;
    QTest::newRow("gptq imatrix") << int(Method::Gptq) << true << false;
    QTest::newRow("awq none") << int(Method::Awq) << false << false;
    QTest::newRow("awq imatrix") << int(Method::Awq) << true << true;
    QTest::newRow("smoothquant none") << int(Method::SmoothQuant) << false << false;
    QTest::newRow("smoothquant imatrix") << int(Method::SmoothQuant) << true << true;
    QTest::newRow("llm.int8 none") << int(Method::LlmInt8) << false << true;
    QTest::newRow("spqr none") << int(Method::Spqr) << false << true;
    QTest::newRow("rtn none") << int(Method::Rtn) << false << true;
}

void TestMethods::missingCalibration()
{
    QFETCH(int, method);
    QFETCH(bool, imatrixOnly);
    QFETCH(bool, expectOk);
    Rng rng(2);
    const Matrix w = gaussianMatrix(8, 64, 1.0f, rng);
    Calibration imatrix;
    imatrix.importance.assign(64, 1.0f);
    imatrix.source = "imatrix test";
    const Method m = Method(method);
    QCOMPARE(methodNeedsActivations(m), m == Method::Gptq);
    auto r = quantizeWithMethod(w, scheme("int4"), m, {}, imatrixOnly ? &imatrix : nullptr);
    QCOMPARE(r.ok(), expectOk);
    if (!expectOk) {
        QCOMPARE(int(r.error().code), int(core::ErrorCode::InvalidArgument));
        QVERIFY(r.error().message.find(std::string(methodName(m))) != std::string::npos);
    }
}

void TestMethods::calibrationFeatureMismatch()
{
    Rng rng(2);
    const Matrix w = gaussianMatrix(8, 64, 1.0f, rng);
    const Calibration c = plantedActivations(16, 32, 1);
    auto r = quantizeWithMethod(w, scheme("int4"), Method::Gptq, {}, &c);
    QVERIFY(!r.ok());
    QCOMPARE(int(r.error().code), int(core::ErrorCode::InvalidArgument));
    QVERIFY(r.error().message.find("32 features") != std::string::npos);
    QVERIFY(r.error().message.find("64 input channels") != std::string::npos);
}

QTEST_APPLESS_MAIN(TestMethods)
#include "tst_methods.moc"
