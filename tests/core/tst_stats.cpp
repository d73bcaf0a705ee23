// Statistics against hand calculations and a naive two-pass reference written here.
#include "core/parallel.h"
#include "core/stats.h"

#include <QtTest>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace qs::core;

namespace {

TensorInfo floatTensor(const std::vector<float>& v, std::vector<int64_t> shape, int outAxis = -1,
                       int inAxis = -1)
{
    TensorInfo t;
    t.name = std::string("t");
    t.dtype = DType::F32;
    t.typeName = "F32";
    t.shape = std::move(shape);
    std::vector<std::byte> bytes(v.size() * 4);
    if (!bytes.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    t.bytes = bytes.size();
    t.storage = std::make_shared<BufferStorage>("test", std::move(bytes));
    t.outAxis = outAxis, t.inAxis = inAxis;
    return t;
}

/// A tensor over raw bytes of any dtype, `lead` junk bytes before the data (to misalign it).
TensorInfo rawTensor(DType dtype, const std::vector<std::byte>& data, std::vector<int64_t> shape,
                     uint64_t lead = 0, int outAxis = -1, int inAxis = -1)
{
    TensorInfo t;
    t.name = std::string("raw");
    t.dtype = dtype;
    t.typeName = std::string(dtypeName(dtype));
    t.shape = std::move(shape);
    std::vector<std::byte> bytes(lead, std::byte{0x55});
    bytes.insert(bytes.end(), data.begin(), data.end());
    t.offset = lead;
    t.bytes = data.size();
    t.storage = std::make_shared<BufferStorage>("raw.bin", std::move(bytes));
    t.outAxis = outAxis, t.inAxis = inAxis;
    return t;
}

template <class T> std::vector<std::byte> bytesOf(const std::vector<T>& v)
{
    std::vector<std::byte> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

/// Naive two-pass statistics of the finite values, written independently of the engine.
struct Reference {
    double n = 0, mean = 0, std = 0, kurtosis = 0, min = 0, max = 0;
    uint64_t nan = 0, inf = 0, zeros = 0;
};

Reference reference(const std::vector<double>& v)
{
    Reference r;
    r.min = INFINITY, r.max = -INFINITY;
    double sum = 0;
    for (double x : v) {
        if (std::isnan(x)) {
            ++r.nan;
            continue;
        }
        if (std::isinf(x)) {
            ++r.inf;
            continue;
        }
        r.zeros += x == 0;
        r.n += 1, sum += x;
        r.min = std::min(r.min, x), r.max = std::max(r.max, x);
    }
    r.mean = sum / r.n;
    double m2 = 0, m4 = 0;
    for (double x : v) {
        if (!std::isfinite(x)) continue;
        const double d = x - r.mean;
        m2 += d * d, m4 += d * d * d * d;
    }
    m2 /= r.n, m4 /= r.n;
    r.std = std::sqrt(m2);
    r.kurtosis = m4 / (m2 * m2) - 3;
    return r;
}

bool close(double a, double b, double rel)
{
    return std::abs(a - b) <= rel * std::max(1.0, std::abs(b));
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
        const float inf = std::numeric_limits<float>::infinity(),
                    nan = std::numeric_limits<float>::quiet_NaN();
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
    void channelAbsmaxOfHigherRanks_data()
    {
        QTest::addColumn<QList<int>>("shape");
        QTest::addColumn<int>("outAxis");
        QTest::addColumn<int>("inAxis");
        QTest::newRow("conv [out,in,kh,kw]") << QList<int>{5, 3, 3, 7} << 0 << 1;
        QTest::newRow("convtranspose [in,out,kh,kw]") << QList<int>{3, 5, 2, 2} << 1 << 0;
        QTest::newRow("[batch,out,in] innermost pair") << QList<int>{4, 6, 33} << 1 << 2;
        QTest::newRow("[in,out] innermost pair, swapped") << QList<int>{2, 9, 4} << 2 << 1;
        QTest::newRow("out only, 1-D") << QList<int>{300} << 0 << -1;
    }
    void channelAbsmaxOfHigherRanks()
    {
        // Values with a distinct magnitude per element, so a wrong channel index shows.
        QFETCH(QList<int>, shape);
        QFETCH(int, outAxis);
        QFETCH(int, inAxis);
        std::vector<int64_t> dims(shape.begin(), shape.end());
        int64_t total = 1;
        for (auto d : dims)
            total *= d;
        std::vector<float> v(static_cast<size_t>(total));
        for (int64_t i = 0; i < total; ++i)
            v[size_t(i)] = float((i * 7919) % 1009) * (i % 3 ? -1.0f : 1.0f);
        // Reference: unravel each flat index into coordinates (row-major) and take the maxima.
        auto expected = [&](int axis) {
            std::vector<float> acc(axis < 0 ? 0 : size_t(dims[size_t(axis)]), 0.0f);
            if (axis < 0) return acc;
            for (int64_t i = 0; i < total; ++i) {
                int64_t rest = i, coord = 0;
                for (int a = int(dims.size()) - 1; a >= 0; --a) {
                    if (a == axis) coord = rest % dims[size_t(a)];
                    rest /= dims[size_t(a)];
                }
                acc[size_t(coord)] = std::max(acc[size_t(coord)], std::abs(v[size_t(i)]));
            }
            return acc;
        };
        auto s = computeStats(floatTensor(v, dims, outAxis, inAxis));
        QVERIFY(s.ok());
        QCOMPARE(s->outChannelAbsmax, expected(outAxis));
        QCOMPARE(s->inChannelAbsmax, expected(inAxis));
    }
    void largeTensorMatchesTwoPassReference()
    {
        // 1M values over several chunks and threads, with a large mean against the spread.
        std::mt19937 rng(42);
        std::normal_distribution<float> dist(1000.0f, 0.5f);
        std::vector<float> v(1 << 20);
        for (float& x : v)
            x = dist(rng);
        double mean = 0;
        for (float x : v)
            mean += x;
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
            for (int k = 0; k < (i + 65) % 7 + 1; ++k)
                v.push_back(float(i) / 16.0f);
        StatsOptions opt;
        opt.bins = 8;
        auto s = computeStats(floatTensor(v, {int64_t(v.size())}), opt);
        QVERIFY(s.ok());
        std::vector<uint64_t> naive(8, 0);
        for (float x : v)
            naive[size_t(std::min(7, int(std::floor((x + 4.0) / 8.0 * 8))))]++;
        QCOMPARE(s->histogram.counts, naive);
        QCOMPARE(s->histogram.edges.front(), -4.0);
        QCOMPARE(s->histogram.edges.back(), 4.0);
        uint64_t total = 0;
        for (auto c : s->fine.counts)
            total += c;
        QCOMPARE(total, uint64_t(v.size()));
    }
    void symlogHistogramCoversEverything()
    {
        std::vector<float> v = {-1000, -1, -0.001f, 0, 0.001f, 1, 1000};
        auto s = computeStats(floatTensor(v, {7}));
        QVERIFY(s.ok());
        const auto h = s->fine.rebin(6, HistogramScale::SymLog, -1000, 1000, 0.01);
        uint64_t total = 0;
        for (auto c : h.counts)
            total += c;
        QCOMPARE(total, uint64_t(7));
        QCOMPARE(h.counts.front(), uint64_t(1)); // -1000 alone in the lowest bin
        QCOMPARE(h.counts.back(), uint64_t(1));
        for (size_t i = 1; i < h.edges.size(); ++i)
            QVERIFY(h.edges[i] > h.edges[i - 1]);
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
    void bf16TensorMatchesReference_data()
    {
        QTest::addColumn<uint64_t>("lead");
        QTest::addColumn<unsigned>("threads");
        QTest::newRow("aligned, 1 thread") << uint64_t(0) << 1u;
        QTest::newRow("odd offset, 3 threads") << uint64_t(1) << 3u;
    }
    void bf16TensorMatchesReference()
    {
        // [300, 7000] bf16 values (several chunks), with NaN, Inf and both zeros mixed in.
        QFETCH(uint64_t, lead);
        QFETCH(unsigned, threads);
        const int rows = 300, cols = 7000;
        std::mt19937 rng(7);
        std::normal_distribution<float> dist(0.25f, 0.5f);
        std::vector<uint16_t> bits(size_t(rows) * cols);
        std::vector<double> values(bits.size());
        for (size_t i = 0; i < bits.size(); ++i) {
            uint16_t b = uint16_t(std::bit_cast<uint32_t>(dist(rng)) >> 16);
            if (i % 9973 == 5) b = 0x7fc1;                    // NaN
            if (i % 12007 == 11) b = i % 2 ? 0x7f80 : 0xff80; // +-Inf
            if (i % 5003 == 3) b = i % 2 ? 0x8000 : 0x0000;   // -0, +0
            bits[i] = b;
            values[i] = double(std::bit_cast<float>(uint32_t(b) << 16));
        }
        const Reference ref = reference(values);
        std::vector<float> outRef(rows, 0.0f), inRef(cols, 0.0f);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                const double a = std::abs(values[size_t(r) * cols + c]);
                if (!std::isfinite(a)) continue;
                outRef[size_t(r)] = std::max(outRef[size_t(r)], float(a));
                inRef[size_t(c)] = std::max(inRef[size_t(c)], float(a));
            }
        StatsOptions opt;
        opt.threads = threads;
        auto s = computeStats(rawTensor(DType::BF16, bytesOf(bits), {rows, cols}, lead, 0, 1), opt);
        QVERIFY(s.ok());
        QCOMPARE(s->count, uint64_t(bits.size()));
        QCOMPARE(s->nan, ref.nan);
        QCOMPARE(s->inf, ref.inf);
        QCOMPARE(s->zeros, ref.zeros);
        QCOMPARE(s->min, ref.min);
        QCOMPARE(s->max, ref.max);
        QVERIFY(close(s->mean, ref.mean, 1e-12));
        QVERIFY(close(s->std, ref.std, 1e-12));
        QVERIFY(close(s->kurtosis, ref.kurtosis, 1e-9));
        QCOMPARE(s->outChannelAbsmax, outRef);
        QCOMPARE(s->inChannelAbsmax, inRef);
        // Every finite value is in the fine histogram, nothing else.
        uint64_t total = 0;
        for (auto c : s->fine.counts)
            total += c;
        QCOMPARE(total, uint64_t(ref.n));
    }
    void bf16HistogramMatchesNaiveBinning()
    {
        std::mt19937 rng(3);
        std::uniform_real_distribution<float> dist(-3.0f, 5.0f);
        std::vector<uint16_t> bits(20000);
        std::vector<double> values;
        for (auto& b : bits) {
            b = uint16_t(std::bit_cast<uint32_t>(dist(rng)) >> 16);
            values.push_back(double(std::bit_cast<float>(uint32_t(b) << 16)));
        }
        StatsOptions opt;
        opt.bins = 37;
        auto s = computeStats(rawTensor(DType::BF16, bytesOf(bits), {20000}), opt);
        QVERIFY(s.ok());
        const double lo = *std::min_element(values.begin(), values.end());
        const double hi = *std::max_element(values.begin(), values.end());
        std::vector<uint64_t> naive(37, 0);
        for (double x : values)
            naive[size_t(std::clamp(int(std::floor((x - lo) / (hi - lo) * 37)), 0, 36))]++;
        QCOMPARE(s->histogram.counts, naive);
    }
    void smallTypesByHand_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::addColumn<QByteArray>("data");
        QTest::addColumn<double>("mean");
        QTest::addColumn<double>("min");
        QTest::addColumn<double>("max");
        QTest::addColumn<uint64_t>("nan");
        QTest::addColumn<uint64_t>("zeros");
        // E4M3: 0x38 = 1.0, 0xc0 = -2.0, 0x7f = NaN, 0x80 = -0, 0x44 = 3.0 -> mean (1-2+0+3)/4.
        QTest::newRow("F8_E4M3") << int(DType::F8_E4M3) << QByteArray("\x38\xc0\x7f\x80\x44", 5)
                                 << 0.5 << -2.0 << 3.0 << uint64_t(1) << uint64_t(1);
        // E5M2: 0x3c = 1.0, 0x7e = NaN, 0x7c = +Inf (not in the moments), 0xc4 = -4.0.
        QTest::newRow("F8_E5M2") << int(DType::F8_E5M2) << QByteArray("\x3c\x7e\x7c\xc4", 4) << -1.5
                                 << -4.0 << 1.0 << uint64_t(1) << uint64_t(0);
        QTest::newRow("I8") << int(DType::I8) << QByteArray("\x80\x7f\x00\x01", 4) << 0.0 << -128.0
                            << 127.0 << uint64_t(0) << uint64_t(1);
        QTest::newRow("U8") << int(DType::U8) << QByteArray("\xff\x00\x01", 3) << 256.0 / 3 << 0.0
                            << 255.0 << uint64_t(0) << uint64_t(1);
        // F16 (not exact in the fine bins: the general path): 0x3c00 = 1, 0x3555 = 0.333251953125.
        QTest::newRow("F16") << int(DType::F16) << QByteArray("\x00\x3c\x55\x35", 4)
                             << (1 + 0.333251953125) / 2 << 0.333251953125 << 1.0 << uint64_t(0)
                             << uint64_t(0);
    }
    void smallTypesByHand()
    {
        QFETCH(int, dtype);
        QFETCH(QByteArray, data);
        QFETCH(double, mean);
        QFETCH(double, min);
        QFETCH(double, max);
        QFETCH(uint64_t, nan);
        QFETCH(uint64_t, zeros);
        const auto t = DType(dtype);
        std::vector<std::byte> bytes(size_t(data.size()));
        std::memcpy(bytes.data(), data.data(), bytes.size());
        const int64_t elems = int64_t(bytes.size() / dtypeInfo(t).blockBytes);
        auto s = computeStats(rawTensor(t, bytes, {elems}));
        QVERIFY(s.ok());
        QCOMPARE(s->count, uint64_t(elems));
        QVERIFY2(close(s->mean, mean, 1e-15), qPrintable(QString::number(s->mean, 'g', 17)));
        QCOMPARE(s->min, min);
        QCOMPARE(s->max, max);
        QCOMPARE(s->nan, nan);
        QCOMPARE(s->zeros, zeros);
        QCOMPARE(s->absmax, std::max(std::abs(min), std::abs(max)));
    }
    void misalignedF32MatchesAligned()
    {
        std::vector<float> v;
        for (int i = 0; i < 5000; ++i)
            v.push_back(float(std::sin(i * 0.37) * 3 + 1));
        auto aligned = computeStats(rawTensor(DType::F32, bytesOf(v), {50, 100}, 0, 0, 1));
        auto odd = computeStats(rawTensor(DType::F32, bytesOf(v), {50, 100}, 3, 0, 1));
        QVERIFY(aligned.ok() && odd.ok());
        QCOMPARE(odd->mean, aligned->mean);
        QCOMPARE(odd->std, aligned->std);
        QCOMPARE(odd->min, aligned->min);
        QCOMPARE(odd->outChannelAbsmax, aligned->outChannelAbsmax);
        QCOMPARE(odd->fine.counts, aligned->fine.counts);
    }
    void emptyAndAllNonFinite()
    {
        // No elements: huge dimensions next to a zero must not allocate channel vectors.
        auto empty = computeStats(rawTensor(DType::F32, {}, {0, int64_t(1) << 40}, 0, 1, 0));
        QVERIFY(empty.ok());
        QCOMPARE(empty->count, uint64_t(0));
        QVERIFY(empty->outChannelAbsmax.empty() && empty->inChannelAbsmax.empty());
        QVERIFY(std::isnan(empty->mean));
        const float nan = std::numeric_limits<float>::quiet_NaN();
        auto none = computeStats(floatTensor({nan, INFINITY, nan}, {3}));
        QVERIFY(none.ok());
        QCOMPARE(none->nan, uint64_t(2));
        QCOMPARE(none->inf, uint64_t(1));
        QVERIFY(std::isnan(none->min) && std::isnan(none->std));
        QCOMPARE(none->absmax, 0.0);
    }
    void hugeAxisGetsNoChannelVector()
    {
        // A 1-D tensor longer than 2^24 would need a float per element and per thread.
        std::vector<std::byte> bytes((size_t(1) << 24) + 1, std::byte{3});
        bytes[77] = std::byte{200};
        auto s = computeStats(rawTensor(DType::U8, bytes, {int64_t(bytes.size())}, 0, 0, -1));
        QVERIFY(s.ok());
        QVERIFY(s->outChannelAbsmax.empty());
        QCOMPARE(s->max, 200.0);
        QCOMPARE(s->count, uint64_t(bytes.size()));
    }
    void threadCountDoesNotChangeResults()
    {
        std::mt19937 rng(11);
        std::uniform_real_distribution<float> dist(-1.0f, 2.0f);
        std::vector<float> v((5 << 20) / 2);
        for (float& x : v)
            x = dist(rng);
        const auto t = floatTensor(v, {int64_t(v.size()) / 640, 640}, 1, 0);
        StatsOptions one, four;
        one.threads = 1, four.threads = 4;
        auto a = computeStats(t, one), b = computeStats(t, four);
        QVERIFY(a.ok() && b.ok());
        QCOMPARE(a->fine.counts, b->fine.counts);
        QCOMPARE(a->outChannelAbsmax, b->outChannelAbsmax);
        QCOMPARE(a->min, b->min);
        QVERIFY(close(a->mean, b->mean, 1e-13));
        QVERIFY(close(a->kurtosis, b->kurtosis, 1e-10));
    }
    void parallelChunksVisitsEveryChunkOnce_data()
    {
        QTest::addColumn<uint64_t>("chunks");
        QTest::addColumn<unsigned>("threads");
        QTest::newRow("none") << uint64_t(0) << 2u;
        QTest::newRow("fewer chunks than threads") << uint64_t(3) << 8u;
        QTest::newRow("many chunks, 3 threads") << uint64_t(10000) << 3u;
        QTest::newRow("default threads") << uint64_t(257) << 0u;
    }
    void parallelChunksVisitsEveryChunkOnce()
    {
        QFETCH(uint64_t, chunks);
        QFETCH(unsigned, threads);
        std::vector<std::atomic<int>> visits(chunks);
        std::atomic<unsigned> maxThread{0};
        parallelChunks(chunks, threads, [&](uint64_t c, unsigned t) {
            visits[c].fetch_add(1);
            unsigned m = maxThread.load();
            while (t > m && !maxThread.compare_exchange_weak(m, t)) {}
        });
        for (uint64_t c = 0; c < chunks; ++c)
            QCOMPARE(visits[c].load(), 1);
        // Thread indices stay below the thread count, itself at most the chunk count.
        const uint64_t allowed =
            std::min<uint64_t>(threads ? threads : defaultThreadCount(), chunks);
        QVERIFY(maxThread.load() < std::max<uint64_t>(allowed, 1));
    }
    void parallelChunksStopsWhenAsked()
    {
        std::atomic<uint64_t> ran{0};
        parallelChunks(
            100000, 2, [&](uint64_t, unsigned) { ran.fetch_add(1); },
            [&] { return ran.load() >= 10; });
        // Each thread may be inside one chunk when the stop condition turns true.
        QVERIFY(ran.load() >= 10 && ran.load() <= 12);
    }
    void cancelAndProgress()
    {
        std::vector<float> v((3 << 20) + 5, 1.0f); // several chunks, the last one partial
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
