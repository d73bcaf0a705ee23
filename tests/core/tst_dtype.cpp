// Exact conversions to f32, checked on every bit pattern against independent decoders.
#include "core/dtype.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>

using namespace qs::core;

namespace {

bool sameFloat(float a, float b)
{
    return (std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

/// Minifloat decoded straight from its definition with ldexp (a second implementation).
double minifloat(uint32_t bits, int expBits, int manBits, int bias)
{
    const uint32_t sign = bits >> (expBits + manBits), exp = (bits >> manBits) & ((1u << expBits) - 1);
    const uint32_t man = bits & ((1u << manBits) - 1);
    const double frac = double(man) / double(1u << manBits);
    const double v = exp == 0 ? std::ldexp(frac, 1 - bias) : std::ldexp(1.0 + frac, int(exp) - bias);
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
        QCOMPARE(f16ToF32(0x0001), std::ldexp(1.0f, -24));                  // smallest subnormal
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
        QVERIFY(!byteSizeFor(DType::Q4_0, 33));                 // partial block
        QVERIFY(!byteSizeFor(DType::F64, uint64_t(1) << 62));   // overflows 64 bits
        QVERIFY(!byteSizeFor(DType::Unsupported, 1));
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
