// compareValues gives the same bits whichever instruction-set clone of its chunk sums runs:
// it must equal, bit for bit, a plain scalar evaluation in the order metrics.h documents
// (chunks of 65536, lane i % 8 within a chunk, a fixed lane tree, chunks in order).
#include "quant/metrics.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace qs::quant;

namespace {

struct Sums {
    double w2 = 0, q2 = 0, wq = 0, e2 = 0, maxAbs = 0;
    uint64_t used = 0;
};

/// The documented order, one element at a time, no vectors.
Sums documentedOrder(const std::vector<float>& w, const std::vector<float>& q)
{
    constexpr size_t kChunk = 65536;
    Sums total;
    for (size_t c0 = 0; c0 < w.size(); c0 += kChunk) {
        double lw2[8] = {}, lq2[8] = {}, lwq[8] = {}, le2[8] = {};
        uint64_t lused[8] = {};
        const size_t end = std::min(w.size(), c0 + kChunk);
        for (size_t i = c0; i < end; ++i) {
            if (!std::isfinite(w[i]) || !std::isfinite(q[i])) continue;
            const size_t lane = (i - c0) % 8;
            const double a = w[i], b = q[i], e = a - b;
            lw2[lane] += a * a;
            lq2[lane] += b * b;
            lwq[lane] += a * b;
            le2[lane] += e * e;
            total.maxAbs = std::max(total.maxAbs, std::fabs(e));
            ++lused[lane];
        }
        auto tree = [](const double* v) {
            return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
        };
        total.w2 += tree(lw2);
        total.q2 += tree(lq2);
        total.wq += tree(lwq);
        total.e2 += tree(le2);
        for (uint64_t u : lused) total.used += u;
    }
    return total;
}

uint64_t bits(double v) { return std::bit_cast<uint64_t>(v); }

} // namespace

class TestMetricsOrder : public QObject {
    Q_OBJECT
private slots:
    void sameBitsAsTheDocumentedOrder_data()
    {
        QTest::addColumn<int>("size");
        QTest::addColumn<bool>("nonFinite");
        QTest::newRow("fewer than 8") << 5 << false;
        QTest::newRow("one partial chunk") << 1003 << false;
        QTest::newRow("three chunks and a tail") << 3 * 65536 + 13 << false;
        QTest::newRow("with NaN and Inf") << 2 * 65536 + 7 << true;
    }
    void sameBitsAsTheDocumentedOrder()
    {
        QFETCH(int, size);
        QFETCH(bool, nonFinite);
        std::mt19937 gen(77);
        // Mixed magnitudes, so that the order of additions changes the rounding.
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::uniform_int_distribution<int> exponent(-20, 20);
        std::vector<float> w(static_cast<size_t>(size)), q(static_cast<size_t>(size));
        for (size_t i = 0; i < w.size(); ++i) {
            w[i] = std::ldexp(normal(gen), exponent(gen));
            q[i] = w[i] + std::ldexp(normal(gen), exponent(gen) - 8);
            if (nonFinite && i % 997 == 3) (i % 2 ? w[i] : q[i]) = std::numeric_limits<float>::quiet_NaN();
            if (nonFinite && i % 1499 == 5) q[i] = std::numeric_limits<float>::infinity();
        }
        const Sums s = documentedOrder(w, q);
        const ErrorMetrics m = compareValues(w, q);
        QCOMPARE(m.count, s.used);
        QCOMPARE(m.skipped, uint64_t(size) - s.used);
        // The formulas of metrics.h on the documented sums.
        const double mse = s.e2 / double(s.used);
        QCOMPARE(bits(m.mse), bits(mse));
        QCOMPARE(bits(m.rmse), bits(std::sqrt(mse)));
        QCOMPARE(bits(m.maxAbsErr), bits(s.maxAbs));
        QCOMPARE(bits(m.sqnrDb), bits(10.0 * std::log10(s.w2 / s.e2)));
        QCOMPARE(bits(m.cosine), bits(s.wq / (std::sqrt(s.w2) * std::sqrt(s.q2))));
        QCOMPARE(bits(m.relFro), bits(std::sqrt(s.e2 / s.w2)));
    }
    void orderMatters()
    {
        // The data is such that the bit comparison above can fail: one plain running sum
        // (what a scalar build without lanes would do) rounds differently from the lane order.
        std::mt19937 gen(77);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::uniform_int_distribution<int> exponent(-20, 20);
        std::vector<float> w(100000), q(100000, 0.0f);
        for (float& v : w) v = std::ldexp(normal(gen), exponent(gen));
        double running = 0;
        for (float v : w) running += double(v) * double(v);
        QVERIFY(bits(documentedOrder(w, q).e2) != bits(running));
    }
};

QTEST_GUILESS_MAIN(TestMetricsOrder)
#include "tst_metrics_order.moc"
