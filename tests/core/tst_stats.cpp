// Statistics against hand calculations and a naive two-pass reference written here.
#include "core/stats.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace qs::core;

namespace {

TensorInfo floatTensor(const std::vector<float>& v, std::vector<int64_t> shape, int outAxis = -1, int inAxis = -1)
{
    TensorInfo t;
    t.name = "t";
    t.dtype = DType::F32;
    t.typeName = "F32";
    t.shape = std::move(shape);
    std::vector<std::byte> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    t.bytes = bytes.size();
    t.storage = std::make_shared<BufferStorage>("test", std::move(bytes));
    t.outAxis = outAxis, t.inAxis = inAxis;
    return t;
}

} // namespace

class TestStats : public QObject {
    Q_OBJECT
private slots:
    void oneToSixByHand()
    {
        auto s = computeStats(floatTensor({1, 2, 3, 4, 5, 6}, {6}));
        QVERIFY(s.ok());
        QCOMPARE(s->count, uint64_t(6));
        QCOMPARE(s->min, 1.0);
        QCOMPARE(s->max, 6.0);
        QCOMPARE(s->mean, 3.5);
        // Population variance: sum((x - 3.5)^2) / 6 = 17.5 / 6 = 35/12.
        QVERIFY(std::abs(s->std - std::sqrt(35.0 / 12.0)) < 1e-12);
        // sum((x-3.5)^4) = 2*(2.5^4 + 1.5^4 + 0.5^4) = 88.375, m4 = 88.375/6, m2^2 = (35/12)^2,
        // excess kurtosis = 14.7291666... / 8.5069444... - 3 = -1.268571...
        QVERIFY(std::abs(s->kurtosis - ((88.375 / 6) / std::pow(35.0 / 12.0, 2) - 3.0)) < 1e-12);
        QVERIFY(std::abs(s->kurtosis + 1.2685714285714) < 1e-9);
        QCOMPARE(s->absmax, 6.0);
    }
    void nanAndInfAreCountedAndExcluded()
    {
        const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
        auto s = computeStats(floatTensor({-2, nan, inf, -inf, 0.0f, -0.0f, 4}, {7}));
        QVERIFY(s.ok());
        QCOMPARE(s->count, uint64_t(7));
        QCOMPARE(s->nan, uint64_t(1));
        QCOMPARE(s->inf, uint64_t(2));
        QCOMPARE(s->zeros, uint64_t(2)); // +0 and -0
        QCOMPARE(s->min, -2.0);
        QCOMPARE(s->max, 4.0);
        QCOMPARE(s->mean, 0.5); // (-2 + 0 + 0 + 4) / 4
        QCOMPARE(s->absmax, 4.0);
    }
    void channelAbsmaxFollowsRoles()
    {
        // [3, 4] matrix, row r col c = (c - 1.5) * (r + 1), with one NaN that must be ignored.
        std::vector<float> v;
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 4; ++c)
                v.push_back(float((c - 1.5) * (r + 1)));
        v[5] = std::numeric_limits<float>::quiet_NaN();
        auto s = computeStats(floatTensor(v, {3, 4}, 0, 1));
        QVERIFY(s.ok());
        QCOMPARE(s->outChannelAbsmax, (std::vector<float>{1.5f, 3.0f, 4.5f}));
        QCOMPARE(s->inChannelAbsmax, (std::vector<float>{4.5f, 1.5f, 1.5f, 4.5f}));
        auto swapped = computeStats(floatTensor(v, {3, 4}, 1, 0));
        QVERIFY(swapped.ok());
        QCOMPARE(swapped->outChannelAbsmax, (std::vector<float>{4.5f, 1.5f, 1.5f, 4.5f}));
        QCOMPARE(swapped->inChannelAbsmax, (std::vector<float>{1.5f, 3.0f, 4.5f}));
    }
    void largeTensorMatchesTwoPassReference()
    {
        // 1M values over several chunks and threads, with a large mean against the spread.
        std::mt19937 rng(42);
        std::normal_distribution<float> dist(1000.0f, 0.5f);
        std::vector<float> v(1 << 20);
        for (float& x : v) x = dist(rng);
        double mean = 0;
        for (float x : v) mean += x;
        mean /= double(v.size());
        double m2 = 0, m4 = 0;
        for (float x : v) {
            const double d = x - mean;
            m2 += d * d, m4 += d * d * d * d;
        }
        m2 /= double(v.size()), m4 /= double(v.size());
        StatsOptions opt;
        opt.threads = 2;
        auto s = computeStats(floatTensor(v, {1024, 1024}, 0, 1), opt);
        QVERIFY(s.ok());
        QVERIFY(std::abs(s->mean - mean) < 1e-9 * mean);
        QVERIFY(std::abs(s->std - std::sqrt(m2)) < 1e-7 * std::sqrt(m2));
        QVERIFY(std::abs(s->kurtosis - (m4 / (m2 * m2) - 3)) < 1e-5);
    }
    void histogramMatchesNaiveBinningOnExactValues()
    {
        // Values that are exact in bf16 land whole in one fine bin, so rebinning is exact.
        std::vector<float> v;
        for (int i = -64; i <= 64; ++i)
            for (int k = 0; k < (i + 65) % 7 + 1; ++k) v.push_back(float(i) / 16.0f);
        StatsOptions opt;
        opt.bins = 8;
        auto s = computeStats(floatTensor(v, {int64_t(v.size())}), opt);
        QVERIFY(s.ok());
        std::vector<uint64_t> naive(8, 0);
        for (float x : v) naive[size_t(std::min(7, int(std::floor((x + 4.0) / 8.0 * 8))))]++;
        QCOMPARE(s->histogram.counts, naive);
        QCOMPARE(s->histogram.edges.front(), -4.0);
        QCOMPARE(s->histogram.edges.back(), 4.0);
        uint64_t total = 0;
        for (auto c : s->fine.counts) total += c;
        QCOMPARE(total, uint64_t(v.size()));
    }
    void symlogHistogramCoversEverything()
    {
        std::vector<float> v = {-1000, -1, -0.001f, 0, 0.001f, 1, 1000};
        auto s = computeStats(floatTensor(v, {7}));
        QVERIFY(s.ok());
        const auto h = s->fine.rebin(6, HistogramScale::SymLog, -1000, 1000, 0.01);
        uint64_t total = 0;
        for (auto c : h.counts) total += c;
        QCOMPARE(total, uint64_t(7));
        QCOMPARE(h.counts.front(), uint64_t(1)); // -1000 alone in the lowest bin
        QCOMPARE(h.counts.back(), uint64_t(1));
        for (size_t i = 1; i < h.edges.size(); ++i) QVERIFY(h.edges[i] > h.edges[i - 1]);
    }
    void bf16AndIntegerTensors()
    {
        TensorInfo t = floatTensor({}, {4});
        const uint16_t bf[4] = {0x3f80, 0xc000, 0x4040, 0x0000}; // 1, -2, 3, 0
        std::vector<std::byte> bytes(8);
        std::memcpy(bytes.data(), bf, 8);
        t.dtype = DType::BF16;
        t.bytes = 8;
        t.storage = std::make_shared<BufferStorage>("test", std::move(bytes));
        auto s = computeStats(t);
        QVERIFY(s.ok());
        QCOMPARE(s->mean, 0.5);
        QCOMPARE(s->min, -2.0);
        QCOMPARE(s->zeros, uint64_t(1));
    }
    void cancelAndProgress()
    {
        std::vector<float> v(1 << 20, 1.0f);
        auto t = floatTensor(v, {int64_t(v.size())});
        Progress p;
        uint64_t lastDone = 0, lastTotal = 0;
        std::mutex m;
        p.report = [&](uint64_t d, uint64_t total) {
            std::lock_guard lock(m);
            lastDone = std::max(lastDone, d), lastTotal = total;
        };
        QVERIFY(computeStats(t, {}, &p).ok());
        QCOMPARE(lastDone, lastTotal);
        QVERIFY(lastTotal > 1);
        Progress cancelled;
        cancelled.cancelRequested = true;
        auto r = computeStats(t, {}, &cancelled);
        QVERIFY(!r.ok());
        QCOMPARE(int(r.error().code), int(ErrorCode::Cancelled));
    }
    void unsupportedAndBadRange()
    {
        TensorInfo t = floatTensor({1, 2}, {2});
        t.dtype = DType::Unsupported;
        t.typeName = "IQ2_XXS";
        auto r = computeStats(t);
        QVERIFY(!r.ok());
        QVERIFY(QString::fromStdString(r.error().message).contains("IQ2_XXS"));
        TensorInfo wrong = floatTensor({1, 2}, {3}); // shape needs 12 bytes, storage has 8
        wrong.bytes = 12;
        QVERIFY(!computeStats(wrong).ok());
    }
};

QTEST_GUILESS_MAIN(TestStats)
#include "tst_stats.moc"
