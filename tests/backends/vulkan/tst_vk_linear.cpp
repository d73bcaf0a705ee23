// The Vulkan linear layer (backends/vulkan/kernels/vk_linear.h) against the reference
// backend's linear() for every precision, on odd shapes with fixed seeds, on the installed
// driver (lavapipe on the CI and development machines) with the validation layer on.
//
// Bounds: Int8 is compared bit for bit (exact int32 sums, one rounding each for
// float(sum) and the multiply by the host's sx * sw[n], as the reference). F32, BF16, F16 and
// weight-only sum the same products in another order: each side is within gamma_K * S of the
// exact sum (S = sum_k |x_k w_k|, gamma_K = K u / (1 - K u), u = 2^-24: K roundings for the
// products and the additions in any order), so they differ by at most 2 gamma_K S, plus
// K * 2^-126 for products that a flushing device may round to zero. The shaders decode the
// weights exactly (decodeIsExact checks that bit for bit through the GEMM and the GEMV kernel:
// x = rows of the identity gives y = W^T; f16DecodeIsExact does it for every finite half,
// subnormals included).
//
// Prepared weights (prepareLinearOnDevice) run the same kernels on the same packed words, so
// preparedIsBitIdentical compares them with the unprepared call bit for bit, for every
// precision and weight decoder, through the GEMV (batch 1..4) and the GEMM kernel, whole and
// split into chunks, on a device that maps device-local memory (lavapipe) and on one made with
// forceStaging, whose weights go through staging copies.
#include "vulkan_helpers.h"
#include "backends/vulkan/kernels/vk_linear.h"

#include "backends/backend.h"
#include "quant/ggml_quant.h"
#include "quant/quantize.h"
#include "quant/scheme.h"

#include <QtTest>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>

using namespace qs;
using namespace qs::backends;
using namespace qs::backends::vulkan;

namespace {

quant::Matrix randomMatrix(int64_t rows, int64_t cols, uint64_t seed, float lo = -1.0f, float hi = 1.0f)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    quant::Matrix m{rows, cols, std::vector<float>(size_t(rows * cols))};
    for (float& v : m.data) v = u(rng);
    return m;
}

/// Int8 weights: codes uniform in [-128, 127], scales in [0.001, 0.02).
struct Int8Layer {
    std::vector<int8_t> codes;
    std::vector<float> scales;
    Int8Weights view(int64_t rows, int64_t cols) const { return {codes, scales, rows, cols}; }
};

Int8Layer randomInt8(int64_t rows, int64_t cols, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> code(-128, 127);
    std::uniform_real_distribution<float> scale(0.001f, 0.02f);
    Int8Layer l;
    l.codes.resize(size_t(rows * cols));
    for (auto& c : l.codes) c = int8_t(code(rng));
    l.scales.resize(size_t(rows));
    for (auto& s : l.scales) s = scale(rng);
    return l;
}

/// The bound 2 gamma_K S + K 2^-126 of the file comment, per output element.
double sumBound(const quant::Matrix& x, const quant::Matrix& w, int64_t b, int64_t n)
{
    const double K = double(x.cols), u = std::ldexp(1.0, -24);
    double s = 0;
    for (int64_t k = 0; k < x.cols; ++k) s += std::fabs(double(x.row(b)[k]) * double(w.row(n)[k]));
    return 2.0 * (K * u / (1.0 - K * u)) * s + K * std::ldexp(1.0, -126);
}

quant::Matrix rounded(const quant::Matrix& m, float (*round)(float))
{
    quant::Matrix r = m;
    for (float& v : r.data) v = round(v);
    return r;
}

/// The value of the IEEE half `bits`, by hand: (-1)^s 2^(e - 15) (1 + m/1024), or
/// 2^-14 m/1024 for e = 0. Finite halves only.
float halfByHand(uint16_t bits)
{
    const int e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
    const double v = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(double(1024 + m), e - 25);
    return float((bits & 0x8000) ? -v : v);
}

QString firstMismatch(const quant::Matrix& got, const quant::Matrix& want, const quant::Matrix* x,
                      const quant::Matrix* w)
{
    if (got.rows != want.rows || got.cols != want.cols) return "shape differs";
    for (int64_t b = 0; b < got.rows; ++b)
        for (int64_t n = 0; n < got.cols; ++n) {
            const float g = got.row(b)[n], e = want.row(b)[n];
            const double bound = x ? sumBound(*x, *w, b, n) : 0.0;
            if (!(std::fabs(double(g) - double(e)) <= bound) && !(g == e))
                return QString("y[%1][%2] = %3, reference %4, bound %5")
                    .arg(b).arg(n).arg(double(g), 0, 'g', 9).arg(double(e), 0, 'g', 9).arg(bound, 0, 'g', 3);
        }
    return {};
}

} // namespace

class TestVkLinear : public QObject {
    Q_OBJECT

    vktest::Fixture m_f;
    std::unique_ptr<Device> m_staged; ///< forceStaging: device-local buffers filled by copies
    std::unique_ptr<Backend> m_reference;

    /// The layer of a preparedIsBitIdentical row.
    struct Layer {
        LinearOptions options;
        LinearWeights weights;
        Int8Layer int8;
        quant::Quantized q;
        quant::Matrix w;
    };

    static void makeLayer(const QString& kind, int in, int out, Layer& l)
    {
        l.w = randomMatrix(out, in, 77);
        l.weights = LinearWeights::fromF32(l.w);
        if (kind == "bf16") l.options.precision = LinearPrecision::BF16;
        if (kind == "f16") l.options.precision = LinearPrecision::F16;
        if (kind.startsWith("int8")) {
            l.int8 = randomInt8(out, in, 78);
            l.options.precision = LinearPrecision::Int8;
            l.options.range = {0.9f, kind == "int8u8"};
            l.weights = LinearWeights::fromInt8(l.int8.view(out, in));
        } else if (kind.startsWith("wo:")) {
            l.q = *quant::quantizeRtn(l.w, *quant::parseScheme(kind.mid(3).toStdString()));
            l.options.precision = LinearPrecision::WeightOnly;
            l.weights = LinearWeights::fromQuantized(l.q);
        }
    }

private slots:
    void initTestCase()
    {
        VKTEST_OPEN_FIXTURE(m_f);
        auto reference = createBackend("reference");
        QVERIFY(reference.ok());
        m_reference = std::move(*reference);
        DeviceOptions staged;
        staged.forceStaging = true;
        auto device = Device::create(m_f.instance, staged);
        QVERIFY2(device.ok(), device.ok() ? "" : device.error().message.c_str());
        m_staged = std::move(*device);
    }

    void cleanupTestCase()
    {
        m_f.device.reset();
        m_staged.reset();
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void matchesReference_data()
    {
        QTest::addColumn<QString>("kind"); // f32, bf16, f16, int8, int8u8, or a weight-only scheme
        QTest::addColumn<int>("batch");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<int>("chunkBytes"); // 0: the device's limit
        struct Shape { int batch, in, out; };
        const Shape odd[] = {{1, 4097, 13}, {3, 127, 4095}, {17, 33, 1}, {17, 127, 13}, {1, 33, 4095}};
        for (const char* kind : {"f32", "bf16", "f16", "int8", "int8u8", "int4:g32", "int4:g32:asym", "int3:g64:asym",
                                 "int8:channel", "int2:tensor:asym", "int5:inchannel", "nf4"}) {
            const bool weightOnly = std::string_view(kind).find(':') != std::string_view::npos ||
                                    std::string_view(kind) == "nf4";
            for (const Shape& s : odd)
                QTest::addRow("%s%s %dx%dx%d", weightOnly ? "wo " : "", kind, s.batch, s.in, s.out)
                    << (weightOnly ? QString("wo:") : QString()) + kind << s.batch << s.in << s.out << 0;
        }
        for (const Shape& s : {Shape{1, 256, 13}, Shape{3, 512, 1}, Shape{17, 768, 33}, Shape{1, 4096, 4095}})
            QTest::addRow("wo q4_k %dx%dx%d", s.batch, s.in, s.out) << "wo:q4_k" << s.batch << s.in << s.out << 0;
        QTest::newRow("split: f32 1x4097x13, 4 rows a chunk") << "f32" << 1 << 4097 << 13 << 4 * 4097 * 4;
        QTest::newRow("split: int4 17x127x13, 1 row a chunk") << "wo:int4:g32" << 17 << 127 << 13 << 64;
        QTest::newRow("split: q4_k 3x512x33, 5 rows a chunk") << "wo:q4_k" << 3 << 512 << 33 << 5 * 288;
        QTest::newRow("split: int8 17x33x13, 2 rows a chunk") << "int8" << 17 << 33 << 13 << 2 * 36;
    }

    void matchesReference()
    {
        QFETCH(QString, kind);
        QFETCH(int, batch);
        QFETCH(int, in);
        QFETCH(int, out);
        QFETCH(int, chunkBytes);
        const uint64_t seed = uint64_t(batch) * 1000003u + uint64_t(in) * 101u + uint64_t(out);
        const bool u8 = kind == "int8u8";
        quant::Matrix x = randomMatrix(batch, in, seed, u8 ? 0.0f : -1.0f, 1.0f);
        quant::Matrix w = randomMatrix(out, in, seed + 1);
        LinearOptions options;
        LinearWeights weights = LinearWeights::fromF32(w);
        Int8Layer int8 = randomInt8(out, in, seed + 2);
        quant::Quantized q;
        const quant::Matrix* effective = &w; // the weights the products use, for the bound
        quant::Matrix xb, wb;
        if (kind == "bf16" || kind == "f16") {
            const bool bf16 = kind == "bf16";
            options.precision = bf16 ? LinearPrecision::BF16 : LinearPrecision::F16;
            xb = rounded(x, bf16 ? roundToBf16 : quant::roundToHalf);
            wb = rounded(w, bf16 ? roundToBf16 : quant::roundToHalf);
            effective = &wb;
        } else if (kind.startsWith("int8")) {
            options.precision = LinearPrecision::Int8;
            options.range = {0.9f, u8}; // some |x| above 0.9 saturate, on both sides
            weights = LinearWeights::fromInt8(int8.view(out, in));
            effective = nullptr;
        } else if (kind.startsWith("wo:")) {
            auto scheme = quant::parseScheme(kind.mid(3).toStdString());
            QVERIFY2(scheme.ok(), scheme.ok() ? "" : scheme.error().message.c_str());
            auto quantized = quant::quantizeRtn(w, *scheme);
            QVERIFY2(quantized.ok(), quantized.ok() ? "" : quantized.error().message.c_str());
            q = std::move(*quantized);
            options.precision = LinearPrecision::WeightOnly;
            weights = LinearWeights::fromQuantized(q);
            effective = &q.dequant;
        }
        auto want = m_reference->linear(x, weights, options);
        QVERIFY2(want.ok(), want.ok() ? "" : want.error().message.c_str());
        DispatchTiming timing;
        auto got = linearOnDevice(*m_f.device, x, weights, options, &timing, {uint64_t(chunkBytes)});
        QVERIFY2(got.ok(), got.ok() ? "" : got.error().message.c_str());
        const quant::Matrix& xEff = kind == "bf16" || kind == "f16" ? xb : x;
        const QString bad = firstMismatch(*got, *want, effective ? &xEff : nullptr, effective);
        QVERIFY2(bad.isEmpty(), qPrintable(QString::fromStdString(linearKernelName(weights, options, batch)) + ": " + bad));
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void decodeIsExact_data()
    {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<int>("batch"); // rows of x per call: in (GEMM, one call) or 4 (GEMV)
        struct Case {
            const char* scheme;
            int in, out;
        };
        // int3 / int5 / int6 / int7 runs of 8 codes straddle words; g12 puts a group edge
        // inside a run of 8; in % 8 != 0 leaves a tail run. Every specialisation of the Int
        // decoder (bits, sym/asym, tensor/channel/inchannel/group, power-of-two group widths
        // above and below 8 and other widths) appears at least once.
        const Case cases[] = {{"int4:g32", 127, 13},     {"int4:g32:asym", 127, 13}, {"int3:g64:asym", 127, 5},
                              {"int7:channel", 33, 5},   {"int2:g32", 70, 3},        {"int5:g12:asym", 61, 3},
                              {"int6:channel:asym", 45, 3}, {"q4_k", 256, 13},
                              {"int8:g128", 261, 3},     {"int8:tensor:asym", 61, 3}, {"int8:g24:asym", 75, 3},
                              {"int4:g100", 211, 3},     {"int4:channel", 45, 3},    {"int4:g8:asym", 45, 3},
                              {"int3:g100", 211, 3},     {"int3:inchannel", 45, 3},  {"int3:tensor", 45, 3},
                              {"int2:g4", 45, 3},        {"int2:inchannel:asym", 45, 3}, {"int2:channel:asym", 45, 3},
                              {"int5:tensor", 45, 3},    {"int5:g16", 75, 3},        {"int5:channel:asym", 45, 3}};
        for (const Case& c : cases)
            for (int batch : {c.in, 4})
                QTest::newRow(qPrintable(QString("%1 %2x%3 %4").arg(c.scheme).arg(c.in).arg(c.out)
                                             .arg(batch == 4 ? "gemv" : "gemm")))
                    << QString(c.scheme) << c.in << c.out << batch;
    }

    void decodeIsExact()
    {
        // x = rows of the identity: every y[b][n] is one product 1 * W[n][k] plus exact zeros,
        // so y must be the engine's dequantized weights transposed, bit for bit.
        QFETCH(QString, scheme);
        QFETCH(int, in);
        QFETCH(int, out);
        QFETCH(int, batch);
        auto s = quant::parseScheme(scheme.toStdString());
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
        auto q = quant::quantizeRtn(randomMatrix(out, in, 77, -3.0f, 2.0f), *s);
        QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
        LinearOptions options;
        options.precision = LinearPrecision::WeightOnly;
        QCOMPARE(linearKernelName(LinearWeights::fromQuantized(*q), options, batch).rfind(
                     batch > 4 ? "linear_gemm_" : "linear_gemv_", 0),
                 size_t(0));
        for (int k0 = 0; k0 < in; k0 += batch) {
            const int rows = std::min(batch, in - k0);
            quant::Matrix x{rows, in, std::vector<float>(size_t(rows) * size_t(in), 0.0f)};
            for (int b = 0; b < rows; ++b) x.data[size_t(b) * size_t(in) + size_t(k0 + b)] = 1.0f;
            auto y = linearOnDevice(*m_f.device, x, LinearWeights::fromQuantized(*q), options);
            QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
            for (int b = 0; b < rows; ++b)
                for (int n = 0; n < out; ++n) {
                    const int k = k0 + b;
                    const float got = y->row(b)[n], want = q->dequant.row(n)[k];
                    if (std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(want) && !(got == 0.0f && want == 0.0f))
                        QFAIL(qPrintable(QString("W[%1][%2]: shader %3, engine %4").arg(n).arg(k)
                                             .arg(double(got), 0, 'g', 9).arg(double(want), 0, 'g', 9)));
                }
        }
    }

    void f16DecodeIsExact_data()
    {
        QTest::addColumn<int>("batch"); // rows of x per call: 256 (GEMM, one call) or 4 (GEMV)
        QTest::newRow("gemm") << 256;
        QTest::newRow("gemv") << 4;
    }

    void f16DecodeIsExact()
    {
        // Every finite half (31744 of each sign) as W [248, 256]; x = rows of the identity
        // (1 and 0 are halves), so y[k][n] = W[n][k] bit for bit (a -0 may come back as +0).
        QFETCH(int, batch);
        const int in = 256, out = 248;
        std::vector<uint16_t> bits(size_t(in) * out);
        for (size_t i = 0; i < bits.size(); ++i) bits[i] = uint16_t(i < 31744 ? i : 0x8000 + (i - 31744));
        quant::Matrix w{out, in, std::vector<float>(bits.size())};
        for (size_t i = 0; i < bits.size(); ++i) w.data[i] = halfByHand(bits[i]);
        const LinearOptions options{LinearPrecision::F16, {}};
        QCOMPARE(linearKernelName(LinearWeights::fromF32(w), options, batch),
                 std::string(batch > 4 ? "linear_gemm_f16" : "linear_gemv_f16"));
        for (int k0 = 0; k0 < in; k0 += batch) {
            quant::Matrix x{batch, in, std::vector<float>(size_t(batch) * in, 0.0f)};
            for (int b = 0; b < batch; ++b) x.data[size_t(b) * in + size_t(k0 + b)] = 1.0f;
            auto y = linearOnDevice(*m_f.device, x, LinearWeights::fromF32(w), options);
            QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
            for (int b = 0; b < batch; ++b)
                for (int n = 0; n < out; ++n) {
                    const float got = y->row(b)[n], want = w.row(n)[k0 + b];
                    if (std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(want) && !(got == 0.0f && want == 0.0f))
                        QFAIL(qPrintable(QString("half 0x%1: shader %2, by hand %3")
                                             .arg(bits[size_t(n) * in + size_t(k0 + b)], 4, 16, QChar('0'))
                                             .arg(double(got), 0, 'g', 9).arg(double(want), 0, 'g', 9)));
                }
        }
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void kernelChoice()
    {
        quant::Matrix w = randomMatrix(4, 256, 5);
        auto q = quant::quantizeRtn(w, *quant::parseScheme("q4_k"));
        QVERIFY(q.ok());
        LinearOptions wo{LinearPrecision::WeightOnly, {}};
        QCOMPARE(linearKernelName(LinearWeights::fromQuantized(*q), wo, 1), std::string("linear_gemv_q4k"));
        QCOMPARE(linearKernelName(LinearWeights::fromQuantized(*q), wo, 5), std::string("linear_gemm_q4k"));
        auto nf4 = quant::quantizeRtn(w, *quant::parseScheme("nf4"));
        QVERIFY(nf4.ok());
        QCOMPARE(linearKernelName(LinearWeights::fromQuantized(*nf4), wo, 1), std::string("linear_gemv_f32"));
        // Int weights name their specialised decoder: bits, sym/asym, granularity, and for
        // groups log2 of a power-of-two width (128 = 2^7) or a division.
        const std::pair<const char*, const char*> ints[] = {
            {"int4:g128", "linear_gemv_wint4_sym_group_shift7"}, {"int3:g100:asym", "linear_gemv_wint3_asym_group_div"},
            {"int8:channel", "linear_gemv_wint8_sym_channel"},   {"int2:tensor:asym", "linear_gemv_wint2_asym_tensor"},
            {"int5:inchannel", "linear_gemv_wint5_sym_inchannel"}};
        for (const auto& [scheme, name] : ints) {
            auto qi = quant::quantizeRtn(w, *quant::parseScheme(scheme));
            QVERIFY(qi.ok());
            QCOMPARE(linearKernelName(LinearWeights::fromQuantized(*qi), wo, 1), std::string(name));
        }
        auto g4 = quant::quantizeRtn(w, *quant::parseScheme("int2:g4"));
        QVERIFY(g4.ok());
        QCOMPARE(linearKernelName(LinearWeights::fromQuantized(*g4), wo, 5),
                 std::string("linear_gemm_wint2_sym_group_shift2"));
        // Q4_K: 144 bytes per 256 weights; 4 rows of one block each.
        QCOMPARE(linearWeightBytes(LinearWeights::fromQuantized(*q), wo), uint64_t(4 * 144));
    }

    void preparedIsBitIdentical_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<int>("batch");
        QTest::addColumn<int>("chunkBytes"); // 0: the device's limit
        // 13 output rows; a small chunk limit makes 3-row chunks (5 chunks, the last of one row).
        for (const char* kind : {"f32", "bf16", "f16", "int8", "int8u8", "wo:int4:g32", "wo:int4:g32:asym",
                                 "wo:int3:g64:asym", "wo:int8:channel", "wo:int2:tensor:asym", "wo:int5:inchannel",
                                 "wo:nf4", "wo:q4_k"}) {
            for (int batch : {1, 2, 3, 4, 17}) {
                for (bool split : {false, true})
                    QTest::addRow("%s batch %d%s", kind, batch, split ? ", 3-row chunks" : "")
                        << QString(kind) << batch << (split ? -3 : 0); // -3: three rows' bytes
            }
        }
    }

    void preparedIsBitIdentical()
    {
        QFETCH(QString, kind);
        QFETCH(int, batch);
        QFETCH(int, chunkBytes);
        const int in = kind == "wo:q4_k" ? 512 : 127, out = 13;
        Layer l;
        makeLayer(kind, in, out, l);
        DeviceLinearOptions chunking;
        if (chunkBytes < 0) { // the packed row size is the prepared layout's rowWords
            auto whole = prepareLinearOnDevice(*m_f.device, l.weights, l.options);
            QVERIFY(whole.ok());
            chunking.maxChunkBytes = uint64_t(-chunkBytes) * whole->layout.rowWords * 4;
        }
        const quant::Matrix x = randomMatrix(batch, in, 79, kind == "int8u8" ? 0.0f : -1.0f, 1.0f);
        auto want = linearOnDevice(*m_f.device, x, l.weights, l.options, nullptr, chunking);
        QVERIFY2(want.ok(), want.ok() ? "" : want.error().message.c_str());
        for (Device* device : {m_f.device.get(), m_staged.get()}) {
            auto prepared = prepareLinearOnDevice(*device, l.weights, l.options, chunking);
            QVERIFY2(prepared.ok(), prepared.ok() ? "" : prepared.error().message.c_str());
            if (chunkBytes < 0) QCOMPARE(prepared->layout.rowsPerChunk, int64_t(3));
            QCOMPARE(prepared->buffers.size(), size_t(2 + (out + prepared->layout.rowsPerChunk - 1) /
                                                              prepared->layout.rowsPerChunk));
            if (device == m_staged.get())
                for (const Buffer& b : prepared->buffers) QVERIFY(b.mapped == nullptr); // really staged
            for (int call = 0; call < 2; ++call) { // the prepared weights serve call after call
                auto got = linearOnDevice(*device, x, prepared->layout, prepared->buffers);
                QVERIFY2(got.ok(), got.ok() ? "" : got.error().message.c_str());
                QCOMPARE(got->rows, want->rows);
                QCOMPARE(got->cols, want->cols);
                QVERIFY2(std::memcmp(got->data.data(), want->data.data(), want->data.size() * 4) == 0,
                         device == m_staged.get() ? "staged device" : "default device");
            }
            auto unprepared = linearOnDevice(*device, x, l.weights, l.options, nullptr, chunking);
            QVERIFY(unprepared.ok());
            QVERIFY(std::memcmp(unprepared->data.data(), want->data.data(), want->data.size() * 4) == 0);
        }
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void preparedBadInputIsAnError()
    {
        Layer l;
        makeLayer("f32", 100, 3, l);
        auto prepared = prepareLinearOnDevice(*m_f.device, l.weights, l.options);
        QVERIFY(prepared.ok());
        auto r = linearOnDevice(*m_f.device, randomMatrix(2, 99, 1), prepared->layout, prepared->buffers);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::InvalidArgument);
        QVERIFY2(r.error().message.find("the prepared weights are [3, 100], the activations [2, 99]") != std::string::npos,
                 r.error().message.c_str());
        auto missing = linearOnDevice(*m_f.device, randomMatrix(2, 100, 1), prepared->layout,
                                      std::span(prepared->buffers).first(2));
        QVERIFY(!missing.ok());
        QVERIFY(missing.error().message.find("incomplete") != std::string::npos);
        auto none = prepareLinearOnDevice(*m_f.device, LinearWeights{}, l.options);
        QVERIFY(!none.ok());
        QCOMPARE(none.error().code, core::ErrorCode::InvalidArgument);
        QVERIFY2(none.error().message.find("no weights given for precision f32") != std::string::npos,
                 none.error().message.c_str());
        auto tooSmall = prepareLinearOnDevice(*m_f.device, l.weights, l.options, {399});
        QVERIFY(!tooSmall.ok());
        QVERIFY(tooSmall.error().message.find("one weight row takes 400 bytes") != std::string::npos);
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void badInputIsAnError()
    {
        quant::Matrix x = randomMatrix(2, 10, 1), w = randomMatrix(3, 11, 2);
        auto r = linearOnDevice(*m_f.device, x, LinearWeights::fromF32(w), {});
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, core::ErrorCode::InvalidArgument);
        QVERIFY2(r.error().message.find("input features") != std::string::npos, r.error().message.c_str());

        const int64_t k = 65794; // 255 * 128 * 65794 > 2^31 - 1
        Int8Layer big = randomInt8(1, k, 3);
        LinearOptions int8{LinearPrecision::Int8, {1.0f, true}};
        auto refused = linearOnDevice(*m_f.device, randomMatrix(1, k, 4), LinearWeights::fromInt8(big.view(1, k)), int8);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().code, core::ErrorCode::Unsupported);
        QVERIFY2(refused.error().message.find("overflow the int32 sums") != std::string::npos,
                 refused.error().message.c_str());

        auto tooSmall = linearOnDevice(*m_f.device, randomMatrix(1, 100, 5), LinearWeights::fromF32(randomMatrix(2, 100, 6)),
                                       {}, nullptr, {399});
        QVERIFY(!tooSmall.ok());
        QVERIFY2(tooSmall.error().message.find("one weight row takes 400 bytes") != std::string::npos,
                 tooSmall.error().message.c_str());
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }
};

QTEST_GUILESS_MAIN(TestVkLinear)
#include "tst_vk_linear.moc"
