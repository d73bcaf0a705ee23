// Exact conversions to f32, checked on every bit pattern against independent decoders.
#include "core/dtype.h"

#include <QtTest>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

using namespace qs::core;

namespace {

bool sameFloat(float a, float b)
{
    return (std::isnan(a) && std::isnan(b)) ||
           std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

/// Minifloat decoded straight from its definition with ldexp (a second implementation).
double minifloat(uint32_t bits, int expBits, int manBits, int bias)
{
    const uint32_t sign = bits >> (expBits + manBits),
                   exp = (bits >> manBits) & ((1u << expBits) - 1);
    const uint32_t man = bits & ((1u << manBits) - 1);
    const double frac = double(man) / double(1u << manBits);
    const double v =
        exp == 0 ? std::ldexp(frac, 1 - bias) : std::ldexp(1.0 + frac, int(exp) - bias);
    return sign ? -v : v;
}

} // namespace

class TestDtype : public QObject {
    Q_OBJECT
private slots:
    void f16AllPatternsMatchCompiler()
    {
        int mismatches = 0;
        for (uint32_t b = 0; b < 65536; ++b) {
            _Float16 h;
            const auto bits = uint16_t(b);
            std::memcpy(&h, &bits, 2);
            mismatches += !sameFloat(f16ToF32(bits), float(h));
        }
        QCOMPARE(mismatches, 0);
        QCOMPARE(std::bit_cast<uint32_t>(f16ToF32(0x8000)), 0x80000000u); // -0 keeps its sign
        QCOMPARE(f16ToF32(0x0001), std::ldexp(1.0f, -24));                // smallest subnormal
        QCOMPARE(f16ToF32(0x7bff), 65504.0f);
        QVERIFY(std::isinf(f16ToF32(0xfc00)) && f16ToF32(0xfc00) < 0);
        QVERIFY(std::isnan(f16ToF32(0x7e00)));
    }
    void bf16AllPatternsAreTheTopHalf()
    {
        int mismatches = 0;
        for (uint32_t b = 0; b < 65536; ++b)
            mismatches += !sameFloat(bf16ToF32(uint16_t(b)), std::bit_cast<float>(b << 16));
        QCOMPARE(mismatches, 0);
        QCOMPARE(bf16ToF32(0x3f80), 1.0f);
        QCOMPARE(bf16ToF32(0xc000), -2.0f);
    }
    void e4m3AllPatterns()
    {
        for (uint32_t b = 0; b < 256; ++b) {
            const float v = e4m3ToF32(uint8_t(b));
            if ((b & 0x7f) == 0x7f) {
                QVERIFY2(std::isnan(v), qPrintable(QString::number(b, 16)));
                continue;
            }
            QCOMPARE(double(v), minifloat(b, 4, 3, 7));
        }
        QCOMPARE(e4m3ToF32(0x7e), 448.0f);
        QCOMPARE(e4m3ToF32(0x01), std::ldexp(1.0f, -9));
        QCOMPARE(e4m3ToF32(0x08), std::ldexp(1.0f, -6));
    }
    void e5m2AllPatterns()
    {
        for (uint32_t b = 0; b < 256; ++b) {
            const float v = e5m2ToF32(uint8_t(b));
            const uint32_t exp = (b >> 2) & 0x1f;
            if (exp == 0x1f) {
                QVERIFY((b & 3) ? std::isnan(v) : std::isinf(v));
                continue;
            }
            QCOMPARE(double(v), minifloat(b, 5, 2, 15));
        }
        QCOMPARE(e5m2ToF32(0x7b), 57344.0f);
    }
    void convertIntegersAndBool()
    {
        const int16_t i16[3] = {-32768, 0, 32767};
        float out[3];
        QVERIFY(convertToF32(DType::I16, reinterpret_cast<const std::byte*>(i16), 3, out));
        QCOMPARE(out[0], -32768.0f);
        QCOMPARE(out[2], 32767.0f);
        const uint8_t b[3] = {0, 1, 7};
        QVERIFY(convertToF32(DType::BOOL, reinterpret_cast<const std::byte*>(b), 3, out));
        QCOMPARE(out[2], 1.0f);
        const int64_t big = (int64_t(1) << 40) + 1; // rounds to the nearest f32
        QVERIFY(convertToF32(DType::I64, reinterpret_cast<const std::byte*>(&big), 1, out));
        QCOMPARE(out[0], std::ldexp(1.0f, 40));
        QVERIFY(!convertToF32(DType::Unsupported, nullptr, 0, out));
    }
    void byteSizes()
    {
        QCOMPARE(byteSizeFor(DType::BF16, 10).value(), uint64_t(20));
        QCOMPARE(byteSizeFor(DType::Q4_K, 512).value(), uint64_t(288));
        QCOMPARE(byteSizeFor(DType::Q8_0, 64).value(), uint64_t(68));
        QVERIFY(!byteSizeFor(DType::Q4_0, 33));               // partial block
        QVERIFY(!byteSizeFor(DType::F64, uint64_t(1) << 62)); // overflows 64 bits
        QVERIFY(!byteSizeFor(DType::Unsupported, 1));
    }
    void blockSizesFromFormatsDoc_data()
    {
        // Elements and bytes per block as FORMATS.md and ggml-common.h's block_* structs give them.
        QTest::addColumn<int>("dtype");
        QTest::addColumn<uint32_t>("elems");
        QTest::addColumn<uint32_t>("bytes");
        QTest::newRow("Q4_0") << int(DType::Q4_0) << 32u << 18u; // f16 d + 16 nibble bytes
        QTest::newRow("Q4_1") << int(DType::Q4_1) << 32u << 20u; // + f16 m
        QTest::newRow("Q5_0") << int(DType::Q5_0) << 32u << 22u; // + u8 qh[4]
        QTest::newRow("Q5_1") << int(DType::Q5_1) << 32u << 24u;
        QTest::newRow("Q8_0") << int(DType::Q8_0) << 32u << 34u;   // f16 d + 32 int8
        QTest::newRow("Q2_K") << int(DType::Q2_K) << 256u << 84u;  // 16 + 64 + 2 + 2
        QTest::newRow("Q3_K") << int(DType::Q3_K) << 256u << 110u; // 32 + 64 + 12 + 2
        QTest::newRow("Q4_K") << int(DType::Q4_K) << 256u << 144u; // 2 + 2 + 12 + 128
        QTest::newRow("Q5_K") << int(DType::Q5_K) << 256u << 176u; // + qh[32]
        QTest::newRow("Q6_K") << int(DType::Q6_K) << 256u << 210u; // 128 + 64 + 16 + 2
        QTest::newRow("Q8_K") << int(DType::Q8_K) << 256u << 292u; // f32 d + 256 + 16 * i16
        QTest::newRow("F64") << int(DType::F64) << 1u << 8u;
        QTest::newRow("BF16") << int(DType::BF16) << 1u << 2u;
        QTest::newRow("F8_E5M2") << int(DType::F8_E5M2) << 1u << 1u;
        QTest::newRow("BOOL") << int(DType::BOOL) << 1u << 1u;
    }
    void blockSizesFromFormatsDoc()
    {
        QFETCH(int, dtype);
        QFETCH(uint32_t, elems);
        QFETCH(uint32_t, bytes);
        const auto& info = dtypeInfo(DType(dtype));
        QCOMPARE(info.blockElems, elems);
        QCOMPARE(info.blockBytes, bytes);
        QCOMPARE(info.isBlock, elems > 1);
        QCOMPARE(byteSizeFor(DType(dtype), uint64_t(elems) * 1000).value(), uint64_t(bytes) * 1000);
        // The most whole blocks whose element count and byte size both fit in 64 bits...
        const uint64_t maxBlocks = std::min(UINT64_MAX / bytes, UINT64_MAX / elems);
        QCOMPARE(byteSizeFor(DType(dtype), maxBlocks * elems).value(), maxBlocks * bytes);
        // ...and element counts whose byte size does not (block bytes > elements per block).
        const uint64_t allBlocks = UINT64_MAX / elems;
        if (bytes > elems)
            QVERIFY(!byteSizeFor(DType(dtype), allBlocks * elems));
        else
            QCOMPARE(byteSizeFor(DType(dtype), allBlocks * elems).value(), allBlocks * bytes);
        if (elems > 1) QVERIFY(!byteSizeFor(DType(dtype), elems - 1)); // partial block
    }
    void safetensorsNames_data()
    {
        // The dtype strings of the safetensors README.
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("dtype");
        const std::pair<const char*, DType> names[] = {
            {"BOOL", DType::BOOL},       {"U8", DType::U8},
            {"I8", DType::I8},           {"F8_E5M2", DType::F8_E5M2},
            {"F8_E4M3", DType::F8_E4M3}, {"I16", DType::I16},
            {"U16", DType::U16},         {"F16", DType::F16},
            {"BF16", DType::BF16},       {"I32", DType::I32},
            {"U32", DType::U32},         {"F32", DType::F32},
            {"F64", DType::F64},         {"I64", DType::I64},
            {"U64", DType::U64},         {"F8_E8M0", DType::Unsupported},
            {"F4", DType::Unsupported},  {"f32", DType::Unsupported},
            {"", DType::Unsupported}};
        for (const auto& [n, t] : names)
            QTest::newRow(n[0] ? n : "empty") << QString(n) << int(t);
    }
    void safetensorsNames()
    {
        QFETCH(QString, name);
        QFETCH(int, dtype);
        QCOMPARE(int(dtypeFromName(name.toStdString())), dtype);
    }
    void bufferConversionMatchesScalar()
    {
        // convertToF32 over every f16 pattern and every e4m3/e5m2 byte, from an odd address.
        std::vector<std::byte> buf(1 + 65536 * 2);
        for (uint32_t b = 0; b < 65536; ++b) {
            const auto bits = uint16_t(b);
            std::memcpy(buf.data() + 1 + 2 * b, &bits, 2);
        }
        std::vector<float> out(65536);
        QVERIFY(convertToF32(DType::F16, buf.data() + 1, 65536, out.data()));
        int mismatches = 0;
        for (uint32_t b = 0; b < 65536; ++b)
            mismatches += !sameFloat(out[b], f16ToF32(uint16_t(b)));
        QVERIFY(convertToF32(DType::BF16, buf.data() + 1, 65536, out.data()));
        for (uint32_t b = 0; b < 65536; ++b)
            mismatches += !sameFloat(out[b], bf16ToF32(uint16_t(b)));
        std::vector<std::byte> bytes(256);
        for (uint32_t b = 0; b < 256; ++b)
            bytes[b] = std::byte(b);
        QVERIFY(convertToF32(DType::F8_E4M3, bytes.data(), 256, out.data()));
        for (uint32_t b = 0; b < 256; ++b)
            mismatches += !sameFloat(out[b], e4m3ToF32(uint8_t(b)));
        QVERIFY(convertToF32(DType::F8_E5M2, bytes.data(), 256, out.data()));
        for (uint32_t b = 0; b < 256; ++b)
            mismatches += !sameFloat(out[b], e5m2ToF32(uint8_t(b)));
        QCOMPARE(mismatches, 0);
        QVERIFY(!convertToF32(DType::Q4_0, bytes.data(), 16, out.data())); // half a block
    }
    void namesRoundTrip()
    {
        for (int i = 0; i < int(DType::Unsupported); ++i) {
            const auto t = DType(i);
            QCOMPARE(int(dtypeFromName(dtypeName(t))), i);
        }
        QCOMPARE(int(dtypeFromName("F8_E8M0")), int(DType::Unsupported));
    }
};

QTEST_GUILESS_MAIN(TestDtype)
#include "tst_dtype.moc"
