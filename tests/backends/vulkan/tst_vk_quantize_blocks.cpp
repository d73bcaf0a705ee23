// The block-format quantizers on the Vulkan device (lavapipe in CI, validation on) against the
// CPU codec, quant::quantizeRtn, as the second implementation: codes, block scales, tensor
// scale, clip ranges, decoded values and the stored parts compared bit for bit, on odd shapes,
// fixed seeds, zeros, constant blocks, rounding ties, non-finite weights, heavy tails and
// subnormal-range blocks; plus a hand-worked MXFP4 block and the refusals.
#include "vulkan_helpers.h"
#include "backends/vulkan/kernels/vk_quantize_blocks.h"

#include "quant/quantize.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace qs::backends::vulkan;
using qs::quant::Matrix;

namespace {

/// Weights of `pattern` for a rows x cols matrix from a fixed seed.
Matrix makeWeights(int64_t rows, int64_t cols, const QString& pattern, unsigned seed)
{
    Matrix m{rows, cols, std::vector<float>(size_t(rows * cols))};
    std::mt19937 gen(seed);
    std::normal_distribution<float> gauss(0.0f, 0.02f);
    std::uniform_real_distribution<float> unit(1e-3f, 1.0f);
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 0; i < m.data.size(); ++i) {
        float& v = m.data[i];
        const size_t block = i / 32;
        if (pattern == "zeros") v = 0.0f;
        else if (pattern == "gauss") v = gauss(gen);
        else if (pattern == "constant") v = (block % 3 == 0) ? 0.0f : float(int(block % 7) - 3) * 0.37f;
        else if (pattern == "halfway") v = i % 16 == 0 ? 6.0f : float(int(gen() % 49) - 24) * 0.25f;
        else if (pattern == "specials") {
            v = gauss(gen);
            if (i % 7 == 3) v = nan;
            if (i % 11 == 5) v = (i % 2) ? inf : -inf;
            if (block % 5 == 4) v = i % 2 ? nan : inf; // whole blocks without a finite value
        } else if (pattern == "heavy") {
            const float u = unit(gen);
            v = gauss(gen) / (u * u);
            if (i % 13 == 0) v *= 1e4f;
            if (i % 17 == 0) v = 1e-39f * float(int(i % 5) - 2); // subnormal weights
        } else if (pattern == "tiny") { // whole blocks far below the normal range's comfort zone
            v = gauss(gen) * (block % 2 ? 1e-33f : 1e-38f);
        }
    }
    return m;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

/// The first index where two float arrays differ in their bits, for the failure message.
QString firstFloatDiff(const std::vector<float>& a, const std::vector<float>& b)
{
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i]))
            return QString("at %1: cpu %2 (0x%3) gpu %4 (0x%5)").arg(i).arg(double(a[i]), 0, 'g', 9)
                .arg(std::bit_cast<uint32_t>(a[i]), 8, 16, QChar('0')).arg(double(b[i]), 0, 'g', 9)
                .arg(std::bit_cast<uint32_t>(b[i]), 8, 16, QChar('0'));
    return QString("sizes %1 vs %2").arg(a.size()).arg(b.size());
}

} // namespace

class TestVkQuantizeBlocks : public QObject {
    Q_OBJECT

    vktest::Fixture m_f;

    /// Compares every part of two results bit for bit.
    void compareResults(const qs::quant::Quantized& cpu, const qs::quant::Quantized& gpu)
    {
        QCOMPARE(gpu.scheme, cpu.scheme);
        QCOMPARE(gpu.rows(), cpu.rows());
        QCOMPARE(gpu.cols(), cpu.cols());
        QCOMPARE(gpu.grid.perRow, cpu.grid.perRow);
        QVERIFY2(gpu.codes == cpu.codes, "codes differ");
        QVERIFY2(sameBits(cpu.dequant.data, gpu.dequant.data), qPrintable(firstFloatDiff(cpu.dequant.data, gpu.dequant.data)));
        QCOMPARE(gpu.clip.size(), cpu.clip.size());
        for (size_t g = 0; g < cpu.clip.size(); ++g) {
            QCOMPARE(std::bit_cast<uint32_t>(gpu.clip[g].lo), std::bit_cast<uint32_t>(cpu.clip[g].lo));
            QCOMPARE(std::bit_cast<uint32_t>(gpu.clip[g].hi), std::bit_cast<uint32_t>(cpu.clip[g].hi));
        }
        QCOMPARE(gpu.params.index(), cpu.params.index());
        if (const auto* c = std::get_if<qs::quant::BlockScaleParams>(&cpu.params)) {
            const auto& g = std::get<qs::quant::BlockScaleParams>(gpu.params);
            QVERIFY2(g.scaleCode == c->scaleCode, "block scale codes differ");
            QCOMPARE(std::bit_cast<uint32_t>(g.tensorScale), std::bit_cast<uint32_t>(c->tensorScale));
        }
        QCOMPARE(gpu.bytes, cpu.bytes);
        QCOMPARE(gpu.bitsPerWeight, cpu.bitsPerWeight);
        auto codec = qs::quant::makeCodec(cpu.scheme);
        QVERIFY(codec.ok());
        auto storedCpu = (*codec)->store(cpu);
        auto storedGpu = (*codec)->store(gpu);
        QVERIFY(storedCpu.ok() && storedGpu.ok());
        QCOMPARE(storedGpu->size(), storedCpu->size());
        for (size_t i = 0; i < storedCpu->size(); ++i) {
            QCOMPARE((*storedGpu)[i].suffix, (*storedCpu)[i].suffix);
            QCOMPARE((*storedGpu)[i].shape, (*storedCpu)[i].shape);
            QVERIFY2((*storedGpu)[i].data == (*storedCpu)[i].data, "stored bytes differ");
        }
    }

private slots:
    void initTestCase()
    {
        VKTEST_OPEN_FIXTURE(m_f);
        qInfo("device: %s (%s)", m_f.device->info().name.c_str(), m_f.device->info().driverName.c_str());
    }

    void cleanupTestCase()
    {
        m_f.device.reset();
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void matchesCpu_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("seed");
        QTest::addColumn<int>("chunkBytes"); // 0: the default chunking
        const QStringList patterns{"gauss", "zeros", "constant", "halfway", "specials", "heavy", "tiny"};
        struct Shape { int rows, cols; };
        for (const QString scheme : {"mxfp4", "mxfp8", "nvfp4"}) {
            for (const Shape s : {Shape{13, 127}, Shape{1, 4097}, Shape{4095, 33}, Shape{13, 32}, Shape{7, 16}})
                for (const QString& p : patterns) {
                    if (scheme == "nvfp4" && p == "tiny") continue; // refused: see refusals()
                    QTest::addRow("%s %dx%d %s", qPrintable(scheme), s.rows, s.cols, qPrintable(p))
                        << scheme << s.rows << s.cols << p << 7 << 0;
                }
            for (const Shape s : {Shape{0, 0}, Shape{0, 64}, Shape{5, 0}})
                QTest::addRow("%s empty %dx%d", qPrintable(scheme), s.rows, s.cols) << scheme << s.rows << s.cols
                                                                                   << "gauss" << 1 << 0;
            QTest::addRow("%s 301x129 chunked", qPrintable(scheme)) << scheme << 301 << 129 << "gauss" << 3 << 4096;
        }
        for (const QString scheme : {"q8_0", "q4_0", "q4_k"}) {
            const int unit = scheme == "q4_k" ? 256 : 32;
            for (const Shape s : {Shape{13, 4 * unit}, Shape{1, 4096}, Shape{4095, unit}, Shape{1, unit}})
                for (const QString& p : patterns)
                    QTest::addRow("%s %dx%d %s", qPrintable(scheme), s.rows, s.cols, qPrintable(p))
                        << scheme << s.rows << s.cols << p << 11 << 0;
            QTest::addRow("%s empty 0x%d", qPrintable(scheme), unit) << scheme << 0 << unit << "gauss" << 1 << 0;
            QTest::addRow("%s 301x%d chunked", qPrintable(scheme), 3 * unit) << scheme << 301 << 3 * unit << "heavy" << 3
                                                                             << 4096;
            QTest::addRow("%s seed 12345", qPrintable(scheme)) << scheme << 64 << 256 << "gauss" << 12345 << 0;
        }
    }

    void matchesCpu()
    {
        QFETCH(QString, scheme);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(QString, pattern);
        QFETCH(int, seed);
        QFETCH(int, chunkBytes);
        auto s = qs::quant::parseScheme(scheme.toStdString());
        QVERIFY(s.ok());
        const Matrix w = makeWeights(rows, cols, pattern, unsigned(seed));
        auto cpu = qs::quant::quantizeRtn(w, *s);
        QVERIFY2(cpu.ok(), cpu.ok() ? "" : cpu.error().message.c_str());
        BlockQuantReport report;
        auto gpu = quantizeBlocksOnDevice(*m_f.device, w, *s, {}, nullptr, &report, uint64_t(chunkBytes));
        QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
        compareResults(*cpu, *gpu);
        if (chunkBytes > 0) QVERIFY(report.dispatches > 1);
        if (report.hostBlocks > 0)
            qInfo("%lld of %lld blocks redone on the host", qlonglong(report.hostBlocks),
                  qlonglong(report.hostBlocks + report.gpuBlocks));
        const int64_t blocks = int64_t(cpu->clip.size());
        QCOMPARE(report.gpuBlocks + report.hostBlocks, rows > 0 && cols > 0 ? blocks : 0);
        if (pattern == "tiny" && s->family == qs::quant::Family::Ggml) QVERIFY(report.hostBlocks > 0);
        if (pattern != "tiny" && pattern != "heavy") QCOMPARE(report.hostBlocks, int64_t(0));
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void handWorkedMxfp4()
    {
        // One MXFP4 block: amax 6 gives E8M0 exponent floor(log2 6) - 2 = 0 (code 127); the
        // elements are E2M1 of x: 6 -> 0b0111; 1.25 is halfway between 1 (010) and 1.5 (011):
        // even -> 010; -0.25 halfway between 0 and 0.5: even -> -0 = 0b1000; 0.75 between
        // 0.5 (001) and 1 (010): even -> 010; -3.1 -> -3 = 0b1101; the rest 0.
        Matrix w{1, 32, std::vector<float>(32, 0.0f)};
        w.data[0] = 6.0f, w.data[1] = 1.25f, w.data[2] = -0.25f, w.data[3] = 0.75f, w.data[4] = -3.1f;
        auto s = qs::quant::parseScheme("mxfp4");
        auto q = quantizeBlocksOnDevice(*m_f.device, w, *s);
        QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
        QCOMPARE(int(std::get<qs::quant::BlockScaleParams>(q->params).scaleCode[0]), 127);
        const std::vector<int> expected{7, 2, 8, 2, 13};
        for (int i = 0; i < 5; ++i) QCOMPARE(int(q->codes[size_t(i)]), expected[size_t(i)]);
        QCOMPARE(q->dequant.data[1], 1.0f);
        QCOMPARE(q->dequant.data[4], -3.0f);
        QVERIFY(std::signbit(q->dequant.data[2]) && q->dequant.data[2] == 0.0f);
        QCOMPARE(q->clip[0].hi, 6.0f);
    }

    void refusals()
    {
        const Matrix w = makeWeights(4, 64, "gauss", 1);
        for (const char* spec : {"int8", "fp8_e4m3", "nf4", "q5_k", "q5_0"}) {
            auto s = qs::quant::parseScheme(spec);
            QVERIFY(s.ok());
            auto r = quantizeBlocksOnDevice(*m_f.device, w, *s);
            QVERIFY(!r.ok());
            QCOMPARE(r.error().code, qs::core::ErrorCode::Unsupported);
            QVERIFY2(r.error().message.starts_with("not supported by vulkan: "), r.error().message.c_str());
        }
        // A GGUF row that is not whole blocks: the codec's own error, as quantizeRtn gives it.
        const Matrix odd = makeWeights(13, 127, "gauss", 1);
        auto q8 = qs::quant::parseScheme("q8_0");
        auto cpu = qs::quant::quantizeRtn(odd, *q8);
        auto gpu = quantizeBlocksOnDevice(*m_f.device, odd, *q8);
        QVERIFY(!cpu.ok() && !gpu.ok());
        QCOMPARE(gpu.error().code, cpu.error().code);
        QCOMPARE(gpu.error().message, cpu.error().message);
        // A matrix whose data does not match its shape.
        Matrix bad{3, 32, std::vector<float>(10)};
        auto r = quantizeBlocksOnDevice(*m_f.device, bad, *q8);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, qs::core::ErrorCode::InvalidArgument);
        // NVFP4 whose tensor scale would put its quotients near the subnormal range.
        Matrix small{1, 16, std::vector<float>(16, 1e-30f)};
        auto nv = quantizeBlocksOnDevice(*m_f.device, small, *qs::quant::parseScheme("nvfp4"));
        QVERIFY(!nv.ok());
        QVERIFY2(nv.error().message.find("tensor scale") != std::string::npos, nv.error().message.c_str());
    }

    void cancellation()
    {
        qs::core::Progress progress;
        progress.cancelRequested = true;
        const Matrix w = makeWeights(8, 64, "gauss", 1);
        auto r = quantizeBlocksOnDevice(*m_f.device, w, *qs::quant::parseScheme("mxfp4"), {}, &progress);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, qs::core::ErrorCode::Cancelled);
    }
};

QTEST_GUILESS_MAIN(TestVkQuantizeBlocks)
#include "tst_vk_quantize_blocks.moc"
