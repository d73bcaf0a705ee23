// quantizeOnDevice (engine/backends/vulkan/kernels/vk_quantize.h) on the installed Vulkan
// driver (lavapipe in CI) with validation on, against quant::quantizeRtn on the CPU: codes,
// parameters, clip ranges, decoded values (bit for bit) and storage cost must be identical.
// Matrices: Gaussian rows of mixed magnitude; rows whose values lie exactly halfway between
// two levels of the scheme (ties); zeros, -0, subnormals, +-Inf and NaN; a heavy-tailed matrix
// with outliers up to +-3e38. Shapes 13x127, 1x4097, 4095x33 and empty ones. Skipped only
// when there is no Vulkan driver.
#include "vulkan_helpers.h"
#include "backends/vulkan/kernels/vk_quantize.h"

#include "quant/floatquant.h"
#include "quant/quantize.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace qs;
using namespace qs::backends::vulkan;

namespace {

enum class Kind { Normal, Ties, NearTies, Special, Heavy };

/// The value a tie row uses as its largest: the scheme's top level times 2^-3, so that the
/// scale is exactly 2^-3 (int: qmax; FP8: the largest finite; NF4: 1 x 8).
float tieTop(const quant::Scheme& s)
{
    if (s.family == quant::Family::Fp8E4M3) return quant::kE4M3.maxFinite;
    if (s.family == quant::Family::Fp8E5M2) return quant::kE5M2.maxFinite;
    if (s.family == quant::Family::Nf4) return 8.0f;
    return s.asymmetric ? float((1 << s.bits) - 1) : float((1 << (s.bits - 1)) - 1);
}

/// Values exactly halfway between two neighbouring levels (in units of the scale 2^-3).
std::vector<float> tieValues(const quant::Scheme& s, float lo, float hi)
{
    std::vector<float> ties;
    if (s.family == quant::Family::Int) {
        for (float k = std::ceil(lo); k + 1.0f <= hi; k += 1.0f) ties.push_back(k + 0.5f);
    } else if (s.family == quant::Family::Nf4) {
        const auto& l = quant::nf4Levels();
        for (size_t k = 0; k + 1 < l.size(); ++k) ties.push_back((l[k] + l[k + 1]) * 0.5f * 8.0f);
    } else {
        const quant::MiniFloat& f = s.family == quant::Family::Fp8E5M2 ? quant::kE5M2 : quant::kE4M3;
        const int width = f.expBits + f.mantBits;
        for (unsigned c = 0; c + 1 < (1u << width); ++c) {
            const float a = quant::decodeMiniFloat(uint8_t(c), f), b = quant::decodeMiniFloat(uint8_t(c + 1), f);
            if (std::isfinite(a) && std::isfinite(b) && b <= f.maxFinite) {
                ties.push_back((a + b) * 0.5f);
                ties.push_back(-(a + b) * 0.5f);
            }
        }
    }
    return ties;
}

/// A rows x cols matrix of `kind` from a fixed seed.
quant::Matrix makeMatrix(Kind kind, int64_t rows, int64_t cols, const quant::Scheme& s, uint32_t seed)
{
    quant::Matrix m{rows, cols, std::vector<float>(size_t(rows * cols))};
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    const bool asym = s.family == quant::Family::Int && s.asymmetric;
    // The tie rows' range in units of 2^-3: [-qmax, qmax] or, asymmetric, qmax wide around 0.
    const float lo = asym ? -std::floor(tieTop(s) / 2) : -tieTop(s);
    const float top = asym ? tieTop(s) + lo : tieTop(s);
    const std::vector<float> ties = tieValues(s, lo, top);
    for (int64_t r = 0; r < rows; ++r) {
        const float magnitude = std::ldexp(1.0f, int(r % 9) - 4);
        for (int64_t c = 0; c < cols; ++c) {
            float& x = m.data[size_t(r * cols + c)];
            switch (kind) {
            case Kind::Normal: x = c % 11 == 5 ? 0.0f : normal(gen) * magnitude; break;
            case Kind::Heavy: x = normal(gen) / std::pow(uniform(gen) + 1e-12f, 2.0f) * magnitude; break;
            case Kind::Special: x = normal(gen) * magnitude; break;
            case Kind::NearTies: // filled by nearTies()
            case Kind::Ties: {
                // Every row, column and group of 32 holds the top and the bottom of the range.
                const float units = c % 32 == 0 || r == 0 ? top : c % 32 == 1 || r == 1 ? lo
                                                                  : ties[size_t(r * 7 + c) % ties.size()];
                x = std::ldexp(units, -3);
                break;
            }
            }
        }
    }
    if (kind == Kind::Special && rows * cols > 0) {
        const float specials[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                                  0.0f, -0.0f, 1e-40f, -3e-42f, std::numeric_limits<float>::denorm_min()};
        for (size_t i = 0; i < m.data.size(); i += 7) m.data[i] = specials[(i / 7) % std::size(specials)];
        std::fill_n(m.data.begin(), std::min<int64_t>(cols, int64_t(m.data.size())), 0.0f); // an all-zero row
        if (rows > 2) std::fill_n(m.row(2), cols, std::numeric_limits<float>::quiet_NaN()); // no finite value
    }
    if (kind == Kind::Heavy && rows * cols > 3) {
        m.data[1] = 3e38f;
        m.data[2] = -3e38f; // asymmetric ranges whose width overflows float
        m.data[3] = 1e-39f;
    }
    return m;
}

/// Near-ties: a Ties-like matrix whose extremes are A = 0.7 x 2^(rows % 5) instead of a
/// power of two, so the scale is an arbitrary float, and whose other values are the midpoints
/// between levels times that scale as the CPU fits it (read from quantizeRtn on the extremes
/// alone): x / s then lies within an ulp of a tie, and only a correctly rounded division
/// settles which side.
quant::Matrix nearTies(int64_t rows, int64_t cols, const quant::Scheme& s)
{
    const bool asym = s.family == quant::Family::Int && s.asymmetric;
    quant::Matrix m{rows, cols, std::vector<float>(size_t(rows * cols), 0.0f)};
    const float a = 0.7f * std::ldexp(1.0f, int(rows % 5));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            if (c % 32 < 2 || r < 2) m.data[size_t(r * cols + c)] = (c % 32 == 0 || r == 0) ? a : (asym ? -0.3f * a : -a);
    auto fit = quant::quantizeRtn(m, s);
    if (!fit || rows * cols == 0) return m;
    float scale = 1.0f, zero = 0.0f;
    if (const auto* p = std::get_if<quant::ScaledParams>(&fit->params)) {
        scale = p->scale[0];
        zero = p->zeroPoint.empty() ? 0.0f : float(p->zeroPoint[0]);
    } else {
        scale = std::get<quant::Nf4Params>(fit->params).absmax[0];
    }
    std::vector<float> mids; // in element units
    if (s.family == quant::Family::Int) {
        const float qmax = tieTop(s), qmin = asym ? 0.0f : -qmax;
        for (float k = qmin; k < qmax; k += 1.0f) mids.push_back(k + 0.5f - zero);
    } else {
        mids = tieValues(s, 0, 0);
        if (s.family == quant::Family::Nf4)
            for (float& v : mids) v /= 8.0f; // tieValues scales NF4 midpoints by 8
    }
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            if (!(c % 32 < 2 || r < 2)) m.data[size_t(r * cols + c)] = mids[size_t(r * 5 + c) % mids.size()] * scale;
    return m;
}

/// The first differing float (as bits), or -1.
int64_t firstBitDifference(const std::vector<float>& a, const std::vector<float>& b)
{
    for (size_t i = 0; i < a.size(); ++i)
        if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i])) return int64_t(i);
    return -1;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && firstBitDifference(a, b) < 0;
}

} // namespace

class TestVkQuantize : public QObject {
    Q_OBJECT

    vktest::Fixture m_f;

    void compareWithCpu(const quant::Matrix& w, const quant::Scheme& scheme, const quant::RangeOptions& range,
                        const QuantizeOptions& options)
    {
        auto cpu = quant::quantizeRtn(w, scheme, range);
        QVERIFY2(cpu.ok(), cpu.ok() ? "" : cpu.error().message.c_str());
        auto gpu = quantizeOnDevice(*m_f.device, w, scheme, range, nullptr, options);
        QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
        QCOMPARE(gpu->scheme, cpu->scheme);
        QCOMPARE(gpu->grid.count(), cpu->grid.count());
        QCOMPARE(gpu->grid.width, cpu->grid.width);
        QCOMPARE(gpu->bytes, cpu->bytes);
        QCOMPARE(gpu->bitsPerWeight, cpu->bitsPerWeight);
        QCOMPARE(gpu->rows(), cpu->rows());
        QCOMPARE(gpu->cols(), cpu->cols());
        QCOMPARE(gpu->codes.size(), cpu->codes.size());
        for (size_t i = 0; i < cpu->codes.size(); ++i) {
            if (gpu->codes[i] != cpu->codes[i])
                QFAIL(qPrintable(QString("code %1 (x = %2): gpu %3, cpu %4").arg(i).arg(double(w.data[i]), 0, 'g', 9)
                                     .arg(gpu->codes[i]).arg(cpu->codes[i])));
        }
        if (const int64_t i = firstBitDifference(gpu->dequant.data, cpu->dequant.data); i >= 0)
            QFAIL(qPrintable(QString("value %1 (x = %2): gpu %3, cpu %4").arg(i).arg(double(w.data[size_t(i)]), 0, 'g', 9)
                                 .arg(double(gpu->dequant.data[size_t(i)]), 0, 'g', 9)
                                 .arg(double(cpu->dequant.data[size_t(i)]), 0, 'g', 9)));
        QCOMPARE(gpu->clip.size(), cpu->clip.size());
        for (size_t g = 0; g < cpu->clip.size(); ++g) {
            // == on floats: the codec's min/max may keep either sign of a zero extreme.
            QVERIFY2(gpu->clip[g] == cpu->clip[g], qPrintable(QString("clip of group %1").arg(g)));
        }
        if (const auto* c = std::get_if<quant::ScaledParams>(&cpu->params)) {
            const auto& g = std::get<quant::ScaledParams>(gpu->params);
            QVERIFY2(sameBits(g.scale, c->scale), "scales differ");
            QVERIFY(g.zeroPoint == c->zeroPoint);
        } else {
            const auto& c4 = std::get<quant::Nf4Params>(cpu->params);
            const auto& g4 = std::get<quant::Nf4Params>(gpu->params);
            QVERIFY2(sameBits(g4.absmax, c4.absmax), "absmax differs");
            QVERIFY(g4.absmaxCode == c4.absmaxCode);
            QVERIFY2(sameBits(g4.absmaxScale, c4.absmaxScale), "absmax scales differ");
            QCOMPARE(std::bit_cast<uint32_t>(g4.absmaxMean), std::bit_cast<uint32_t>(c4.absmaxMean));
        }
    }

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

    void matchesCpu_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<int>("clip"); // quant::ClipMethod
        QTest::addColumn<double>("percentile");
        QTest::addColumn<qint64>("chunkBytes");
        const QStringList schemes = {
            "int8:tensor", "int8:channel", "int8:inchannel", "int8:g32", "int8:tensor:asym", "int8:channel:asym",
            "int8:inchannel:asym", "int8:g64:asym", "int4:tensor", "int4:channel", "int4:inchannel", "int4:g32",
            "int4:tensor:asym", "int4:channel:asym", "int4:inchannel:asym", "int4:g32:asym", "int2:channel",
            "int2:g32:asym", "int3:channel", "int3:g64:asym", "int5:channel:asym", "int6:g32", "int7:inchannel",
            "int4:channel:away", "int4:g32:asym:away", "int4:channel:stochastic=7", "int8:inchannel:asym:stochastic=42",
            "fp8_e4m3:tensor", "fp8_e4m3:channel", "fp8_e4m3:inchannel", "fp8_e4m3:g32", "fp8_e4m3:channel:nan",
            "fp8_e5m2:tensor", "fp8_e5m2:channel", "fp8_e5m2:inchannel", "fp8_e5m2:g32", "fp8_e5m2:tensor:nan",
            "nf4", "nf4:g32", "nf4:dq", "nf4:g32:dq"};
        const struct {
            const char* name;
            int64_t rows, cols;
        } shapes[] = {{"13x127", 13, 127}, {"1x4097", 1, 4097}, {"4095x33", 4095, 33}, {"0x64", 0, 64}, {"5x0", 5, 0}};
        const int minmax = int(quant::ClipMethod::MinMax), pct = int(quant::ClipMethod::Percentile);
        for (const QString& s : schemes)
            for (const auto& shape : shapes)
                QTest::addRow("%s %s", qPrintable(s), shape.name) << s << minmax << 0.0 << qint64(0);
        for (const char* s : {"int4:channel:asym", "int8:tensor", "fp8_e4m3:inchannel", "int4:g32"})
            QTest::addRow("%s percentile 99", s) << QString(s) << pct << 99.0 << qint64(0);
        // Chunks of 4 KiB (31 rows of 33): tensor and column ranges merged across chunks,
        // stochastic positions offset per chunk, double quantization over every chunk.
        for (const char* s : {"int4:tensor:asym", "int8:inchannel", "int3:g32", "fp8_e5m2:tensor", "nf4:dq",
                              "int4:channel:stochastic=3"})
            QTest::addRow("%s chunked", s) << QString(s) << minmax << 0.0 << qint64(4096);
    }

    void matchesCpu()
    {
        QFETCH(QString, scheme);
        QFETCH(int, clip);
        QFETCH(double, percentile);
        QFETCH(qint64, chunkBytes);
        auto s = quant::parseScheme(scheme.toStdString());
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
        const QByteArray tag = QTest::currentDataTag();
        int64_t rows = 13, cols = 127;
        if (tag.contains("1x4097")) rows = 1, cols = 4097;
        if (tag.contains("4095x33") || chunkBytes > 0) rows = 4095, cols = 33;
        if (tag.contains("0x64")) rows = 0, cols = 64;
        if (tag.contains("5x0")) rows = 5, cols = 0;
        quant::RangeOptions range;
        range.method = quant::ClipMethod(clip);
        range.percentile = percentile > 0 ? percentile : range.percentile;
        uint32_t seed = 1;
        for (Kind kind : {Kind::Normal, Kind::Ties, Kind::NearTies, Kind::Special, Kind::Heavy}) {
            const quant::Matrix w = kind == Kind::NearTies ? nearTies(rows, cols, *s) : makeMatrix(kind, rows, cols, *s, seed++);
            compareWithCpu(w, *s, range, QuantizeOptions{uint64_t(chunkBytes)});
            if (QTest::currentTestFailed()) {
                qWarning("matrix kind %d", int(kind));
                return;
            }
        }
    }

    void refusesWhatIsNotItsOwn_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<int>("clip");
        QTest::addColumn<QString>("message");
        const int minmax = int(quant::ClipMethod::MinMax), mse = int(quant::ClipMethod::Mse);
        QTest::newRow("mxfp4") << "mxfp4" << minmax << "not supported by vulkan: quantizing to 'mxfp4'";
        QTest::newRow("nvfp4") << "nvfp4" << minmax << "not supported by vulkan: quantizing to 'nvfp4'";
        QTest::newRow("q4_k") << "q4_k" << minmax << "not supported by vulkan: quantizing to 'q4_k'";
        QTest::newRow("int4 mse") << "int4:g32" << mse << "not supported by vulkan: MSE clipping for 'int4:g32'";
        QTest::newRow("fp8 mse") << "fp8_e4m3" << mse << "not supported by vulkan: MSE clipping for 'fp8_e4m3'";
    }

    void refusesWhatIsNotItsOwn()
    {
        QFETCH(QString, scheme);
        QFETCH(int, clip);
        QFETCH(QString, message);
        auto s = quant::parseScheme(scheme.toStdString());
        QVERIFY(s.ok());
        quant::RangeOptions range;
        range.method = quant::ClipMethod(clip);
        QVERIFY(!quantizeOnDeviceSupports(*s, range));
        const quant::Matrix w{2, 256, std::vector<float>(512, 1.0f)};
        auto r = quantizeOnDevice(*m_f.device, w, *s, range);
        QVERIFY(!r.ok());
        QCOMPARE(int(r.error().code), int(core::ErrorCode::Unsupported));
        QVERIFY2(r.error().message.starts_with(message.toStdString()), r.error().message.c_str());
    }

    void aClipNf4LacksIsRefusedAsOnTheCpu()
    {
        // NF4 scales each block by its absmax: a percentile clip is refused on both sides with
        // the same message (quant::clipApplies), never dropped.
        const auto s = *quant::parseScheme("nf4:dq");
        quant::RangeOptions range;
        range.method = quant::ClipMethod::Percentile;
        range.percentile = 99.0;
        const quant::Matrix w{2, 64, std::vector<float>(128, 0.5f)};
        auto cpu = quant::quantizeRtn(w, s, range);
        auto gpu = quantizeOnDevice(*m_f.device, w, s, range);
        QVERIFY(!cpu.ok() && !gpu.ok());
        QCOMPARE(gpu.error().message, cpu.error().message);
        QCOMPARE(int(gpu.error().code), int(core::ErrorCode::InvalidArgument));
    }

    void badInputIsAnErrorValue()
    {
        auto s = quant::parseScheme("int8");
        QVERIFY(s.ok());
        const quant::Matrix wrongSize{3, 4, std::vector<float>(11, 0.0f)};
        auto r = quantizeOnDevice(*m_f.device, wrongSize, *s);
        QVERIFY(!r.ok());
        QCOMPARE(int(r.error().code), int(core::ErrorCode::InvalidArgument));
        QVERIFY2(r.error().message.find("does not match its 11 values") != std::string::npos, r.error().message.c_str());
        // A row larger than the chunk limit cannot be split into rows.
        const quant::Matrix wide{1, 2048, std::vector<float>(2048, 1.0f)};
        r = quantizeOnDevice(*m_f.device, wide, *s, {}, nullptr, QuantizeOptions{4096});
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("above the device's buffer limit of 4096 bytes") != std::string::npos,
                 r.error().message.c_str());
    }

    void cancellationStops()
    {
        auto s = quant::parseScheme("int4:g32");
        QVERIFY(s.ok());
        core::Progress progress;
        progress.cancelRequested = true;
        const quant::Matrix w{64, 64, std::vector<float>(64 * 64, 0.5f)};
        auto r = quantizeOnDevice(*m_f.device, w, *s, {}, &progress);
        QVERIFY(!r.ok());
        QCOMPARE(int(r.error().code), int(core::ErrorCode::Cancelled));
    }
};

QTEST_GUILESS_MAIN(TestVkQuantize)
#include "tst_vk_quantize.moc"
