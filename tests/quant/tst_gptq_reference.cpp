// GPTQ with group-wise scales and act-order against a second GPTQ written here: the paper's
// Algorithm 1 without lazy batches (Frantar et al. 2022), column by column in double.
//
// How the two are compared. The engine works in float (blocked Cholesky, sgemm updates) and
// the reference in double, so a weight that lands within float noise of a rounding midpoint
// may round the other way, after which the two runs follow different (equally valid) paths.
// The reference is therefore driven by the engine's decisions: at every column it checks that
// the engine's dequantized value is a code of the reference's current scale and zero point
// (within 1e-3 of an integer) and a nearest rounding of the reference's current weight (at
// most 0.5 + 1e-3 steps away), then feeds that value back as its own. A wrong update, order,
// group fit or scale shows up as codes far from the reference's weights; only values within
// 1e-3 of a step midpoint may round either way, and their number is bounded too.
#include "quant/gptq.h"
#include "quant/scheme.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace qs::quant;

namespace {

constexpr double kCodeTolerance = 1e-3; ///< in quantization steps

struct Case {
    int64_t rows = 0, cols = 0, samples = 0;
    int bits = 4;
    int group = 0; ///< 0 = one scale per row
    bool asym = false;
    bool actOrder = false;
    int block = 128;
    int64_t deadColumn = -1; ///< an input that is always zero, or -1
};

/// Weights: N(0, 0.05) with a few large ones; activations: N(0, 1) per column times a column
/// gain in [0.2, 2.2], so diag(H) varies and act-order reorders.
void makeInputs(const Case& c, uint32_t seed, Matrix& w, Matrix& x)
{
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    w.rows = c.rows, w.cols = c.cols;
    w.data.resize(size_t(c.rows * c.cols));
    for (float& v : w.data) v = 0.05f * normal(gen) * (uniform(gen) < 0.02f ? 8.0f : 1.0f);
    std::vector<float> gain(size_t(c.cols));
    for (float& g : gain) g = 0.2f + 2.0f * uniform(gen);
    x.rows = c.samples, x.cols = c.cols;
    x.data.resize(size_t(c.samples * c.cols));
    for (int64_t r = 0; r < c.samples; ++r)
        for (int64_t j = 0; j < c.cols; ++j)
            x.row(r)[j] = j == c.deadColumn ? 0.0f : gain[size_t(j)] * normal(gen);
}

/// Lower Cholesky factor of a symmetric positive definite n x n matrix, in double.
std::vector<double> cholesky(const std::vector<double>& a, int64_t n)
{
    std::vector<double> l(a.size(), 0.0);
    for (int64_t j = 0; j < n; ++j) {
        double d = a[size_t(j * n + j)];
        for (int64_t p = 0; p < j; ++p) d -= l[size_t(j * n + p)] * l[size_t(j * n + p)];
        l[size_t(j * n + j)] = std::sqrt(d);
        for (int64_t i = j + 1; i < n; ++i) {
            double s = a[size_t(i * n + j)];
            for (int64_t p = 0; p < j; ++p) s -= l[size_t(i * n + p)] * l[size_t(j * n + p)];
            l[size_t(i * n + j)] = s / l[size_t(j * n + j)];
        }
    }
    return l;
}

/// a^-1 = L^-T L^-1 from a's Cholesky factor (forward substitution for L^-1).
std::vector<double> inverseSpd(const std::vector<double>& a, int64_t n)
{
    const auto l = cholesky(a, n);
    std::vector<double> li(a.size(), 0.0);
    for (int64_t j = 0; j < n; ++j) {
        li[size_t(j * n + j)] = 1.0 / l[size_t(j * n + j)];
        for (int64_t i = j + 1; i < n; ++i) {
            double s = 0;
            for (int64_t p = j; p < i; ++p) s += l[size_t(i * n + p)] * li[size_t(p * n + j)];
            li[size_t(i * n + j)] = -s / l[size_t(i * n + i)];
        }
    }
    std::vector<double> inv(a.size(), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t k = std::max(i, j); k < n; ++k)
                s += li[size_t(k * n + i)] * li[size_t(k * n + j)];
            inv[size_t(i * n + j)] = s;
        }
    return inv;
}

/// One group's integer parameters as intquant.h states them: symmetric scale = amax / qmax,
/// asymmetric scale = (hi - lo) / qmax over the range extended to 0, zero point =
/// round_even(-lo / scale); group-wise scales are rounded to IEEE half; a zero range gets 1.
struct Params {
    double scale = 1, zero = 0;
};

Params fitParams(const std::vector<double>& values, const Case& c, double qmax)
{
    double lo = 0, hi = 0, amax = 0;
    for (double v : values) {
        lo = std::min(lo, v), hi = std::max(hi, v);
        amax = std::max(amax, std::fabs(v));
    }
    // The engine fits on float weights and computes the scale in float.
    float s = c.asym ? (float(hi) - float(lo)) / float(qmax) : float(amax) / float(qmax);
    if (!(s > 0.0f)) s = 1.0f;
    if (c.group > 0) s = float(static_cast<_Float16>(s));
    Params p;
    p.scale = s;
    if (c.asym)
        p.zero = std::clamp(double(std::nearbyint(std::clamp(-float(lo) / s, 0.0f, float(qmax)))), 0.0, qmax);
    return p;
}

struct Outcome {
    int wrong = 0;     ///< engine values that are no nearest code of the reference's weight
    int midpoint = 0;  ///< values within kCodeTolerance of a midpoint (either rounding accepted)
    std::string first; ///< the first wrong one, described
};

/// Runs Algorithm 1 on (w, x) driven by the engine's dequantized values `q` (see the file
/// comment) and reports the values that contradict it.
Outcome checkAgainstReference(const Case& c, const Matrix& w0, const Matrix& x, const Matrix& q,
                              double damp)
{
    const int64_t n = c.cols, rows = c.rows;
    std::vector<double> h(size_t(n * n), 0.0);
    for (int64_t k = 0; k < x.rows; ++k)
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j)
                h[size_t(i * n + j)] += 2.0 * double(x.row(k)[i]) * double(x.row(k)[j]) / double(x.rows);
    std::vector<double> w(w0.data.begin(), w0.data.end());
    for (int64_t i = 0; i < n; ++i) {
        if (h[size_t(i * n + i)] != 0.0) continue; // a dead input: H_ii = 1, weights zeroed
        h[size_t(i * n + i)] = 1.0;
        for (int64_t r = 0; r < rows; ++r) w[size_t(r * n + i)] = 0.0;
    }
    std::vector<int64_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), int64_t(0));
    if (c.actOrder)
        std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
            return h[size_t(a * n + a)] > h[size_t(b * n + b)];
        });
    std::vector<double> hp(h.size());
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) {
        mean += h[size_t(perm[i] * n + perm[i])] / double(n);
        for (int64_t j = 0; j < n; ++j) hp[size_t(i * n + j)] = h[size_t(perm[i] * n + perm[j])];
    }
    for (int64_t i = 0; i < n; ++i) hp[size_t(i * n + i)] += damp * mean;
    const auto l = cholesky(inverseSpd(hp, n), n); // U = L^T: U_ij = l[j * n + i]

    const double qmax = c.asym ? std::pow(2.0, c.bits) - 1 : std::pow(2.0, c.bits - 1) - 1;
    const double qmin = c.asym ? 0.0 : -qmax;
    const int64_t gsize = c.group > 0 ? c.group : n;
    std::vector<Params> params(size_t(rows * ((n + gsize - 1) / gsize)));
    const int64_t groups = (n + gsize - 1) / gsize;
    auto fit = [&](int64_t g) { // on the current weights, original column order
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<double> v;
            for (int64_t j = g * gsize; j < std::min(n, (g + 1) * gsize); ++j) v.push_back(float(w[size_t(r * n + j)]));
            params[size_t(r * groups + g)] = fitParams(v, c, qmax);
        }
    };
    // Static groups (one scale per row, or act-order): fitted before the first column.
    if (c.group == 0 || c.actOrder)
        for (int64_t g = 0; g < groups; ++g) fit(g);

    Outcome out;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t col = perm[size_t(i)];
        if (c.group > 0 && !c.actOrder && col % gsize == 0) fit(col / gsize);
        const double u = l[size_t(i * n + i)];
        for (int64_t r = 0; r < rows; ++r) {
            const Params& p = params[size_t(r * groups + col / gsize)];
            const double wv = w[size_t(r * n + col)];
            const double qv = q.row(r)[col];
            const double code = qv / p.scale + p.zero;
            const double target = std::clamp(wv / p.scale + p.zero, qmin, qmax);
            const bool isCode = std::fabs(code - std::nearbyint(code)) <= kCodeTolerance &&
                                code >= qmin - kCodeTolerance && code <= qmax + kCodeTolerance;
            const double distance = std::fabs(target - std::nearbyint(code));
            if (!isCode || distance > 0.5 + kCodeTolerance) {
                if (out.wrong++ == 0)
                    out.first = "row " + std::to_string(r) + " column " + std::to_string(col) +
                                ": engine code " + std::to_string(code) + ", reference value " +
                                std::to_string(target);
            } else if (distance > 0.5 - kCodeTolerance) {
                ++out.midpoint;
            }
            const double err = (wv - qv) / u;
            for (int64_t t = i + 1; t < n; ++t) w[size_t(r * n + perm[size_t(t)])] -= err * l[size_t(t * n + i)];
        }
    }
    return out;
}

} // namespace

Q_DECLARE_METATYPE(Case)

class TestGptqReference : public QObject {
    Q_OBJECT
private slots:
    void matchesAlgorithmOne_data()
    {
        QTest::addColumn<Case>("c");
        // rows, cols, samples, bits, group, asym, actOrder, block, dead column
        QTest::newRow("g16 sym, 45 columns (short last group)") << Case{7, 45, 90, 4, 16, false, false, 128, -1};
        QTest::newRow("g32 asym, block 64") << Case{13, 100, 160, 4, 32, true, false, 64, -1};
        QTest::newRow("g32 sym, block 20: groups straddle blocks") << Case{13, 100, 160, 4, 32, false, false, 20, -1};
        QTest::newRow("g32 sym act-order") << Case{11, 97, 150, 4, 32, false, true, 128, -1};
        QTest::newRow("g16 asym act-order, block 7") << Case{9, 70, 120, 3, 16, true, true, 7, -1};
        QTest::newRow("g64 int8 sym, 130 columns, 2 blocks") << Case{5, 130, 200, 8, 64, false, false, 128, -1};
        QTest::newRow("channel asym act-order") << Case{6, 57, 100, 4, 0, true, true, 16, -1};
        QTest::newRow("g16 sym act-order, dead input") << Case{8, 48, 96, 4, 16, false, true, 128, 5};
    }
    void matchesAlgorithmOne()
    {
        QFETCH(Case, c);
        Matrix w, x;
        makeInputs(c, 2024, w, x);
        std::string spec = "int" + std::to_string(c.bits) + ":" +
                           (c.group > 0 ? "g" + std::to_string(c.group) : std::string("channel")) +
                           (c.asym ? ":asym" : ":sym");
        auto scheme = parseScheme(spec);
        QVERIFY2(scheme.ok(), spec.c_str());
        MethodOptions o;
        o.gptqActOrder = c.actOrder;
        o.gptqBlock = c.block;
        auto r = quantizeGptq(w, *scheme, x, o);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        const Outcome out = checkAgainstReference(c, w, x, r->quantized.dequant, o.gptqDamp);
        // A group that starts inside a lazy-batch block and ends beyond it must be fitted on
        // weights that include the block's pending updates ("g32 sym, block 20" checks that).
        QVERIFY2(out.wrong == 0, (std::to_string(out.wrong) + " wrong; first: " + out.first).c_str());
        // Values this close to a midpoint are rare (about 2 * 1e-3 of them by chance).
        QVERIFY2(out.midpoint <= std::max<int64_t>(3, c.rows * c.cols / 100),
                 std::to_string(out.midpoint).c_str());
        if (c.deadColumn >= 0)
            for (int64_t row = 0; row < c.rows; ++row) QCOMPARE(r->quantized.dequant.row(row)[c.deadColumn], 0.0f);
    }

    void rejectsOtherAlgorithms()
    {
        // The check above can fail: the engine's result in file order is not act-order GPTQ,
        // and RTN (no error feedback) is not GPTQ.
        const Case c{11, 97, 150, 4, 32, false, true, 128, -1};
        Matrix w, x;
        makeInputs(c, 2024, w, x);
        auto scheme = parseScheme("int4:g32:sym");
        QVERIFY(scheme.ok());
        MethodOptions fileOrder;
        auto r = quantizeGptq(w, *scheme, x, fileOrder);
        QVERIFY(r.ok());
        QVERIFY(checkAgainstReference(c, w, x, r->quantized.dequant, fileOrder.gptqDamp).wrong > 0);
        auto rtn = quantizeRtn(w, *scheme);
        QVERIFY(rtn.ok());
        Case plain = c;
        plain.actOrder = false;
        QVERIFY(checkAgainstReference(plain, w, x, rtn->dequant, fileOrder.gptqDamp).wrong > 0);
    }
};

QTEST_GUILESS_MAIN(TestGptqReference)
#include "tst_gptq_reference.moc"
