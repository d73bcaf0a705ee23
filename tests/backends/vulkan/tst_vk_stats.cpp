// statisticsOnDevice against core::computeStats (the CPU definition) on lavapipe with the
// validation layer: odd shapes, every decoding path (F32 and F16/BF16 as stored, I8 and F64
// converted on the host), NaN/Inf/zeros/subnormals, small chunks that exercise the host merge
// and the channel arithmetic across chunk boundaries, and a large-offset case.
//
// Exact (compared bit for bit): count, nan, inf, zeros, min, max, absmax, the fine histogram,
// the histogram's edges and counts, the per-channel absmax vectors.
// Within tolerance: mean, std, kurtosis. The device keeps f32 moments of y = x - K (K the
// first finite value, then the running mean) and combines them around the combined mean;
// every level's rounding is relative to the spread, not to |x|. Bound used here: a relative
// error of 2^-10 (about 16,000 x 2^-24, far above the ~100 roundings along any path) on std
// and on the mean's distance to the centre measured in units of the range; kurtosis to 2^-10
// (1 + |kurtosis|). Raw f32 power sums fail the large-offset case by orders of magnitude:
// var = E[x^2] - mean^2 at 1e4 has an error of 1e8 x 2^-24 ~ 6, against a variance of 2.5e-3.
#include "backends/vulkan/kernels/vk_stats.h"
#include "vulkan_helpers.h"

#include "core/dtype.h"
#include "core/stats.h"
#include "core/storage.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

using namespace qs;
using namespace qs::backends::vulkan;

namespace {

enum Pattern { Gaussian, Special, Offset, RandomBits };

/// `n` values of `dtype` as stored, from a fixed seed.
std::vector<std::byte> makeBytes(core::DType dtype, uint64_t n, Pattern pattern, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const auto& info = core::dtypeInfo(dtype);
    std::vector<std::byte> out(n * info.blockBytes);
    for (uint64_t i = 0; i < n; ++i) {
        float v = pattern == Offset ? 1.0e4f + 0.05f * normal(rng) : normal(rng);
        if (pattern == Special) {
            const uint32_t r = rng() % 16;
            v = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : r == 3 ? 0.0f : r == 4 ? -0.0f : 8.0f * v;
        }
        std::byte* p = out.data() + i * info.blockBytes;
        const uint32_t bits = pattern == RandomBits ? uint32_t(rng()) : std::bit_cast<uint32_t>(v);
        switch (dtype) {
        case core::DType::F32: std::memcpy(p, &bits, 4); break;
        case core::DType::BF16: { const uint16_t h = uint16_t(bits >> 16); std::memcpy(p, &h, 2); break; }
        case core::DType::F16: {
            // Random patterns cover subnormals, NaN payloads, Inf; otherwise a scaled value.
            const uint16_t h = pattern == RandomBits ? uint16_t(bits) : uint16_t(std::bit_cast<uint32_t>(v) >> 16);
            std::memcpy(p, &h, 2);
            break;
        }
        case core::DType::I8: { const int8_t c = int8_t(std::clamp(v * 30.0f, -128.0f, 127.0f)); std::memcpy(p, &c, 1); break; }
        case core::DType::F64: { const double d = double(v) + 1e-9 * double(i % 7); std::memcpy(p, &d, 8); break; }
        default: break;
        }
    }
    return out;
}

core::TensorInfo tensorOf(core::DType dtype, std::vector<std::byte> bytes, std::vector<int64_t> shape, int outAxis,
                          int inAxis)
{
    core::TensorInfo t;
    t.name = "w";
    t.dtype = dtype;
    t.typeName = std::string(core::dtypeName(dtype));
    t.shape = std::move(shape);
    t.bytes = bytes.size();
    t.storage = std::make_shared<core::BufferStorage>("test.bin", std::move(bytes));
    t.outAxis = outAxis, t.inAxis = inAxis;
    return t;
}

bool sameBits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) || (std::isnan(a) && std::isnan(b)); }

} // namespace

class TestVkStats : public QObject {
    Q_OBJECT
    vktest::Fixture m_f;

private slots:
    void initTestCase()
    {
        VKTEST_OPEN_FIXTURE(m_f);
    }

    void cleanupTestCase()
    {
        m_f.device.reset();
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void matchesCore_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::addColumn<qint64>("rows");
        QTest::addColumn<qint64>("cols");
        QTest::addColumn<int>("pattern");
        QTest::addColumn<int>("outAxis");
        QTest::addColumn<int>("inAxis");
        QTest::addColumn<qint64>("chunkBytes");
        using D = core::DType;
        QTest::newRow("f32 13x127") << int(D::F32) << qint64(13) << qint64(127) << int(Gaussian) << 0 << 1 << qint64(0);
        QTest::newRow("f32 13x127 chunks of 256") << int(D::F32) << qint64(13) << qint64(127) << int(Gaussian) << 0 << 1 << qint64(1024);
        QTest::newRow("f32 1x4097 special") << int(D::F32) << qint64(1) << qint64(4097) << int(Special) << 0 << 1 << qint64(2048);
        QTest::newRow("f32 4095x33 special [in,out]") << int(D::F32) << qint64(4095) << qint64(33) << int(Special) << 1 << 0 << qint64(65536);
        QTest::newRow("f32 4095x33 offset 1e4") << int(D::F32) << qint64(4095) << qint64(33) << int(Offset) << 0 << 1 << qint64(0);
        QTest::newRow("f32 4095x33 offset 1e4 chunks") << int(D::F32) << qint64(4095) << qint64(33) << int(Offset) << 0 << 1 << qint64(8192);
        QTest::newRow("f32 random bits") << int(D::F32) << qint64(127) << qint64(13) << int(RandomBits) << 0 << -1 << qint64(0);
        QTest::newRow("f16 random bits 13x127") << int(D::F16) << qint64(13) << qint64(127) << int(RandomBits) << 0 << 1 << qint64(1024);
        QTest::newRow("f16 4095x33 gaussian") << int(D::F16) << qint64(4095) << qint64(33) << int(Gaussian) << 0 << 1 << qint64(0);
        QTest::newRow("bf16 1x4097 special") << int(D::BF16) << qint64(1) << qint64(4097) << int(Special) << -1 << 1 << qint64(0);
        QTest::newRow("bf16 random bits 4095x33") << int(D::BF16) << qint64(4095) << qint64(33) << int(RandomBits) << 0 << 1 << qint64(32768);
        QTest::newRow("i8 13x127 (host convert)") << int(D::I8) << qint64(13) << qint64(127) << int(Gaussian) << 0 << 1 << qint64(1024);
        QTest::newRow("f64 4095x33 (host convert)") << int(D::F64) << qint64(4095) << qint64(33) << int(Special) << 0 << 1 << qint64(0);
        QTest::newRow("empty 0x5") << int(D::F32) << qint64(0) << qint64(5) << int(Gaussian) << 0 << 1 << qint64(0);
    }

    void matchesCore()
    {
        QFETCH(int, dtype);
        QFETCH(qint64, rows);
        QFETCH(qint64, cols);
        QFETCH(int, pattern);
        QFETCH(int, outAxis);
        QFETCH(int, inAxis);
        QFETCH(qint64, chunkBytes);
        const auto type = core::DType(dtype);
        auto t = tensorOf(type, makeBytes(type, uint64_t(rows * cols), Pattern(pattern), 1234u + uint32_t(rows)), {rows, cols},
                          outAxis, inAxis);
        core::StatsOptions options;
        options.bins = 61;
        auto cpu = core::computeStats(t, options);
        QVERIFY2(cpu.ok(), cpu.ok() ? "" : cpu.error().message.c_str());
        auto gpu = statisticsOnDevice(*m_f.device, t, options, nullptr, uint64_t(chunkBytes));
        QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
        QCOMPARE(gpu->count, cpu->count);
        QCOMPARE(gpu->nan, cpu->nan);
        QCOMPARE(gpu->inf, cpu->inf);
        QCOMPARE(gpu->zeros, cpu->zeros);
        QVERIFY2(gpu->min == cpu->min || sameBits(gpu->min, cpu->min), qPrintable(QString::number(gpu->min)));
        QVERIFY(gpu->max == cpu->max || sameBits(gpu->max, cpu->max));
        QVERIFY(sameBits(gpu->absmax, cpu->absmax));
        QVERIFY(gpu->fine.counts == cpu->fine.counts);
        QVERIFY(gpu->histogram.edges.size() == cpu->histogram.edges.size());
        for (size_t i = 0; i < gpu->histogram.edges.size(); ++i) QVERIFY(sameBits(gpu->histogram.edges[i], cpu->histogram.edges[i]));
        QVERIFY(gpu->histogram.counts == cpu->histogram.counts);
        QCOMPARE(gpu->outChannelAbsmax.size(), cpu->outChannelAbsmax.size());
        QCOMPARE(gpu->inChannelAbsmax.size(), cpu->inChannelAbsmax.size());
        for (size_t i = 0; i < gpu->outChannelAbsmax.size(); ++i)
            QCOMPARE(std::bit_cast<uint32_t>(gpu->outChannelAbsmax[i]), std::bit_cast<uint32_t>(cpu->outChannelAbsmax[i]));
        for (size_t i = 0; i < gpu->inChannelAbsmax.size(); ++i)
            QCOMPARE(std::bit_cast<uint32_t>(gpu->inChannelAbsmax[i]), std::bit_cast<uint32_t>(cpu->inChannelAbsmax[i]));
        if (cpu->count == cpu->nan + cpu->inf) {
            QVERIFY(std::isnan(gpu->mean) && std::isnan(gpu->std) && std::isnan(gpu->kurtosis));
            return;
        }
        const double tol = std::ldexp(1.0, -10), range = cpu->max - cpu->min;
        qInfo("mean %.17g / %.17g, std %.9g / %.9g, kurtosis %.9g / %.9g", gpu->mean, cpu->mean, gpu->std, cpu->std,
              gpu->kurtosis, cpu->kurtosis);
        QVERIFY(std::abs(gpu->mean - cpu->mean) <= tol * std::max(cpu->std, range * 1e-3));
        QVERIFY(std::abs(gpu->std - cpu->std) <= tol * cpu->std);
        if (std::isfinite(cpu->kurtosis)) QVERIFY(std::abs(gpu->kurtosis - cpu->kurtosis) <= tol * (1 + std::abs(cpu->kurtosis)));
    }

    void offsetStaysAccurate()
    {
        // 1e4 + 0.05 z against an independent two-pass double computation: std to 2^-10.
        const uint64_t n = 4095 * 33;
        auto bytes = makeBytes(core::DType::F32, n, Offset, 99u);
        std::vector<float> v(n);
        std::memcpy(v.data(), bytes.data(), bytes.size());
        double sum = 0;
        for (float x : v) sum += x;
        const double mean = sum / double(n);
        double m2 = 0;
        for (float x : v) m2 += (double(x) - mean) * (double(x) - mean);
        const double std = std::sqrt(m2 / double(n));
        auto gpu = statisticsOnDevice(*m_f.device, tensorOf(core::DType::F32, bytes, {4095, 33}, 0, 1), {}, nullptr, 16384);
        QVERIFY(gpu.ok());
        qInfo("offset: std %.9g (two-pass %.9g), mean %.12g (%.12g)", gpu->std, std, gpu->mean, mean);
        QVERIFY(std::abs(gpu->std - std) <= std::ldexp(1.0, -10) * std);
        QVERIFY(std::abs(gpu->mean - mean) <= std::ldexp(1.0, -10) * std);
    }

    void badInputIsAnError()
    {
        auto t = tensorOf(core::DType::F32, std::vector<std::byte>(12), {2, 2}, 0, 1);
        auto r = statisticsOnDevice(*m_f.device, t);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::Format);
        QVERIFY2(r.error().message.find("test.bin: tensor 'w' has 12 bytes") != std::string::npos, r.error().message.c_str());
        t.dtype = core::DType::Unsupported, t.typeName = "IQ2_XXS";
        r = statisticsOnDevice(*m_f.device, t);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::Unsupported);
    }

    void cancelledBetweenChunks()
    {
        auto t = tensorOf(core::DType::F32, makeBytes(core::DType::F32, 4096, Gaussian, 5u), {4096}, 0, -1);
        core::Progress progress;
        uint64_t reports = 0;
        progress.report = [&](uint64_t done, uint64_t) {
            if (++reports == 2) progress.cancelRequested = true;
            QVERIFY(done <= 4);
        };
        auto r = statisticsOnDevice(*m_f.device, t, {}, &progress, 4096); // 4 chunks of 1024 values
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::Cancelled);
        QCOMPARE(reports, uint64_t(2));
    }
};

QTEST_GUILESS_MAIN(TestVkStats)
#include "tst_vk_stats.moc"
