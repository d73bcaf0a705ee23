// GGUF reader and ggml block dequantization. Files are written by the test's own writer
// (gguf_writer_helpers), blocks are packed here from chosen logical values (scales, mins,
// quants), and the expected floats come from per-element formulas written from the format
// description in this file: a second implementation that walks elements, where the engine
// walks bytes. Where the scale is a power of two every product is exact; the second block
// of each tensor uses d ~ 0.1 so that the operation order (same as ggml's) is checked too.
#include "gguf_writer_helpers.h"

#include "core/dtype.h"
#include "io/modelreader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>

using qs::core::DType;
namespace tg = qs::testgguf;

namespace {

// ggml type ids (ggml.h enum ggml_type)
enum GgmlId : uint32_t {
    kF32 = 0,
    kF16 = 1,
    kQ4_0 = 2,
    kQ4_1 = 3,
    kQ5_0 = 6,
    kQ5_1 = 7,
    kQ8_0 = 8,
    kQ8_1 = 9,
    kQ2_K = 10,
    kQ3_K = 11,
    kQ4_K = 12,
    kQ5_K = 13,
    kQ6_K = 14,
    kQ8_K = 15,
    kIQ2_XXS = 16,
    kBF16 = 30,
};

// f16 bit patterns of the block scales used below.
constexpr uint16_t kHalfOne = 0x3C00;       // 1.0
constexpr uint16_t kHalfHalf = 0x3800;      // 0.5
constexpr uint16_t kHalfQuarter = 0x3400;   // 0.25
constexpr uint16_t kHalfTenth = 0x2E66;     // 0.0999755859375, not a power of two
constexpr uint16_t kHalfTwentieth = 0x2A66; // 0.04998779296875

/// IEEE half to float for finite values, written from the bit layout (1-5-10, bias 15).
float halfValue(uint16_t h)
{
    const int exponent = (h >> 10) & 31;
    const int mantissa = h & 1023;
    const float magnitude = exponent == 0 ? std::ldexp(float(mantissa), -24)
                                          : std::ldexp(float(mantissa + 1024), exponent - 25);
    return (h & 0x8000) ? -magnitude : magnitude;
}

/// A raw block under construction.
struct Block {
    std::vector<uint8_t> b;
    explicit Block(std::size_t n) : b(n, 0) {}
    void half(std::size_t at, uint16_t v)
    {
        b[at] = uint8_t(v & 0xFF);
        b[at + 1] = uint8_t(v >> 8);
    }
    void setBits(std::size_t at, int shift, int value)
    {
        b[at] = uint8_t(b[at] | (value << shift));
    }
};

/// One tensor: its type, element count, bytes and expected f32 values.
struct Case {
    uint32_t type = 0;
    uint64_t elements = 0;
    std::vector<std::byte> bytes;
    std::vector<float> expected;
    void append(const Block& block)
    {
        for (uint8_t v : block.b)
            bytes.push_back(std::byte{v});
    }
};

/// A deterministic spread of values in [0, range) that differs per block.
int pick(int i, int block, int range)
{
    return (i * 7 + block * 5 + 3) % range;
}

uint16_t blockScale(int block)
{
    return block == 0 ? kHalfHalf : kHalfTenth;
}
uint16_t blockMin(int block)
{
    return block == 0 ? kHalfQuarter : kHalfTwentieth;
}

/// Legacy 32-value blocks. 4-bit quants: element j < 16 is the low nibble of qs[j], element
/// j >= 16 the high nibble of qs[j - 16]; Q5's 5th bit of element j is bit j of qh (u32 LE).
Case legacyCase(uint32_t type)
{
    const bool hasMin = type == kQ4_1 || type == kQ5_1;
    const bool five = type == kQ5_0 || type == kQ5_1;
    const std::size_t size = type == kQ4_0 ? 18 : type == kQ4_1 ? 20 : type == kQ5_0 ? 22 : 24;
    Case c{type, 64, {}, {}};
    for (int blk = 0; blk < 2; ++blk) {
        Block b(size);
        b.half(0, blockScale(blk));
        if (hasMin) b.half(2, blockMin(blk));
        const std::size_t qh = hasMin ? 4 : 2;
        const std::size_t qs = qh + (five ? 4 : 0);
        const float d = halfValue(blockScale(blk));
        const float m = halfValue(blockMin(blk));
        for (int j = 0; j < 32; ++j) {
            const int q = pick(j, blk, five ? 32 : 16);
            b.setBits(qs + (j % 16), j < 16 ? 0 : 4, q & 15);
            if (five) b.setBits(qh + j / 8, j % 8, q >> 4);
            const int centred = q - (five ? 16 : 8);
            c.expected.push_back(hasMin ? float(q) * d + m : float(centred) * d);
        }
        c.append(b);
    }
    return c;
}

Case q8_0Case()
{
    Case c{kQ8_0, 64, {}, {}};
    for (int blk = 0; blk < 2; ++blk) {
        Block b(34);
        b.half(0, blockScale(blk));
        for (int j = 0; j < 32; ++j) {
            const int q = pick(j * 9, blk, 256) - 128;
            b.b[2 + j] = uint8_t(int8_t(q));
            c.expected.push_back(float(q) * halfValue(blockScale(blk)));
        }
        c.append(b);
    }
    return c;
}

/// Position of element i (0..255) in the 2-bit planes shared by Q2_K and Q3_K: each
/// 128-element half owns 32 bytes; element r of the half is in byte r % 32, bit pair r / 32.
struct PlaneSlot {
    int byte;
    int plane;
};
PlaneSlot planeSlot(int i)
{
    return {32 * (i / 128) + (i % 128) % 32, (i % 128) / 32};
}

Case q2KCase()
{
    Case c{kQ2_K, 512, {}, {}};
    for (int blk = 0; blk < 2; ++blk) {
        Block b(84); // scales[16], qs[64], d, dmin
        b.half(80, blockScale(blk));
        b.half(82, blockMin(blk));
        const float d = halfValue(blockScale(blk)), dmin = halfValue(blockMin(blk));
        for (int g = 0; g < 16; ++g)
            b.b[g] = uint8_t(pick(g, blk, 16) | (pick(g + 3, blk, 16) << 4));
        for (int i = 0; i < 256; ++i) {
            const int q = pick(i, blk, 4);
            const PlaneSlot s = planeSlot(i);
            b.setBits(16 + s.byte, 2 * s.plane, q);
            const int g = i / 16;
            const float scale = d * float(b.b[g] & 15), min = dmin * float(b.b[g] >> 4);
            c.expected.push_back(scale * float(q) - min);
        }
        c.append(b);
    }
    return c;
}

/// Q3_K packs sixteen 6-bit scales in 12 bytes: the low 4 bits of scale g in byte g % 8
/// (low nibble for g < 8, high nibble otherwise), the top 2 bits in byte 8 + g % 4 at bit
/// 2 * (g / 4).
void packQ3Scales(Block& b, std::size_t at, const int scales[16])
{
    for (int g = 0; g < 16; ++g) {
        b.setBits(at + g % 8, g < 8 ? 0 : 4, scales[g] & 15);
        b.setBits(at + 8 + g % 4, 2 * (g / 4), scales[g] >> 4);
    }
}

Case q3KCase()
{
    Case c{kQ3_K, 512, {}, {}};
    for (int blk = 0; blk < 2; ++blk) {
        Block b(110); // hmask[32], qs[64], scales[12], d
        b.half(108, blockScale(blk));
        int scales[16];
        for (int g = 0; g < 16; ++g)
            scales[g] = pick(g * 3, blk, 64);
        packQ3Scales(b, 96, scales);
        const float d = halfValue(blockScale(blk));
        for (int i = 0; i < 256; ++i) {
            const int q = pick(i, blk, 8) - 4; // -4 .. 3
            const int stored = q + 4;          // low 2 bits in qs, bit 2 in hmask
            const PlaneSlot s = planeSlot(i);
            b.setBits(32 + s.byte, 2 * s.plane, stored & 3);
            // hmask bit k of byte (i % 32) belongs to elements 32k .. 32k+31
            b.setBits(i % 32, i / 32, stored >> 2);
            c.expected.push_back(d * float(scales[i / 16] - 32) * float(q));
        }
        c.append(b);
    }
    return c;
}

/// Q4_K/Q5_K's 12 scale bytes: sub-blocks 0-3 keep scale and min in the low 6 bits of bytes
/// 0-3 and 4-7; sub-blocks 4-7 keep their low 4 bits in bytes 8-11 (scale low nibble, min
/// high nibble) and their top 2 bits in the top bits of bytes 0-3 (scale) and 4-7 (min).
void packK4Scales(Block& b, std::size_t at, const int sc[8], const int mn[8])
{
    for (int j = 0; j < 4; ++j) {
        b.b[at + j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
        b.b[at + j + 4] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
        b.b[at + 8 + j] = uint8_t((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}

/// Element i of Q4_K/Q5_K: 64-element chunk c = i / 64 uses byte 32c + i % 32 of qs, low
/// nibble for the first 32 (sub-block 2c), high nibble for the next 32 (sub-block 2c + 1).
/// Q5_K's 5th bit is bit (sub-block) of qh[i % 32].
Case q45KCase(bool five)
{
    Case c{five ? kQ5_K : kQ4_K, 512, {}, {}};
    const std::size_t qsAt = five ? 48 : 16;
    for (int blk = 0; blk < 2; ++blk) {
        Block b(five ? 176 : 144);
        b.half(0, blockScale(blk));
        b.half(2, blockMin(blk));
        int sc[8], mn[8];
        for (int s = 0; s < 8; ++s) {
            sc[s] = pick(s * 5, blk, 64);
            mn[s] = pick(s * 3 + 1, blk, 64);
        }
        packK4Scales(b, 4, sc, mn);
        const float d = halfValue(blockScale(blk)), dmin = halfValue(blockMin(blk));
        for (int i = 0; i < 256; ++i) {
            const int q = pick(i, blk, five ? 32 : 16);
            const int sub = i / 32;
            b.setBits(qsAt + 32 * (i / 64) + i % 32, sub % 2 == 0 ? 0 : 4, q & 15);
            if (five) b.setBits(16 + i % 32, sub, q >> 4);
            const float scale = d * float(sc[sub]), min = dmin * float(mn[sub]);
            c.expected.push_back(scale * float(q) - min);
        }
        c.append(b);
    }
    return c;
}

/// Q6_K element i: half h = i / 128, quarter k = (i % 128) / 32, l = i % 32. Low 4 bits in
/// ql[64h + l + 32 * (k % 2)] (low nibble for k < 2), high 2 bits in qh[32h + l] at bit 2k,
/// signed scale scales[8h + l / 16 + 2k]; value d * scale * (q - 32).
Case q6KCase()
{
    Case c{kQ6_K, 512, {}, {}};
    for (int blk = 0; blk < 2; ++blk) {
        Block b(210); // ql[128], qh[64], scales[16], d
        b.half(208, blockScale(blk));
        for (int s = 0; s < 16; ++s)
            b.b[192 + s] = uint8_t(int8_t(pick(s * 11, blk, 256) - 128));
        const float d = halfValue(blockScale(blk));
        for (int i = 0; i < 256; ++i) {
            const int q = pick(i, blk, 64);
            const int h = i / 128, k = (i % 128) / 32, l = i % 32;
            b.setBits(64 * h + l + 32 * (k % 2), k < 2 ? 0 : 4, q & 15);
            b.setBits(128 + 32 * h + l, 2 * k, q >> 4);
            const int scale = int8_t(b.b[192 + 8 * h + l / 16 + 2 * k]);
            c.expected.push_back(d * float(scale) * float(q - 32));
        }
        c.append(b);
    }
    return c;
}

Case q8KCase()
{
    Case c{kQ8_K, 512, {}, {}};
    for (int blk = 0; blk < 2; ++blk) {
        Block b(292); // f32 d, i8 qs[256], i16 bsums[16]
        const float d = blk == 0 ? 0.125f : 0.3f;
        std::memcpy(b.b.data(), &d, 4);
        int sums[16] = {};
        for (int i = 0; i < 256; ++i) {
            const int q = pick(i * 13, blk, 256) - 128;
            b.b[4 + i] = uint8_t(int8_t(q));
            sums[i / 16] += q;
            c.expected.push_back(d * float(q));
        }
        for (int g = 0; g < 16; ++g) {
            const auto s = uint16_t(int16_t(sums[g]));
            b.b[260 + 2 * g] = uint8_t(s & 0xFF);
            b.b[261 + 2 * g] = uint8_t(s >> 8);
        }
        c.append(b);
    }
    return c;
}

/// Scalar float types with hand-picked bit patterns and their values.
Case floatCase(uint32_t type)
{
    Case c{type, 0, {}, {}};
    auto push16 = [&](uint16_t bits, float value) {
        c.bytes.push_back(std::byte(bits & 0xFF));
        c.bytes.push_back(std::byte(bits >> 8));
        c.expected.push_back(value);
    };
    if (type == kF16) {
        push16(0x3C00, 1.0f);
        push16(0xC000, -2.0f);
        push16(0x3555, 0.333251953125f);       // 1365/4096
        push16(0x0001, std::ldexp(1.0f, -24)); // smallest subnormal
        push16(0x7BFF, 65504.0f);              // largest finite
        push16(0x8000, -0.0f);
    } else if (type == kBF16) {
        push16(0x3F80, 1.0f);
        push16(0xC040, -3.0f);
        push16(0x4049, 3.140625f);
        push16(0x0001, std::ldexp(1.0f, -133));  // smallest f32 subnormal with 7 bits
        push16(0x7F7F, std::ldexp(255.0f, 120)); // 0x7F7F0000
        push16(0xBF00, -0.5f);
    } else {
        for (float v : {1.5f, -0.1f, 3.4028235e38f, 1e-45f, 0.0f, -7.25f}) {
            const auto bits = std::bit_cast<uint32_t>(v);
            for (int k = 0; k < 4; ++k)
                c.bytes.push_back(std::byte((bits >> (8 * k)) & 0xFF));
            c.expected.push_back(v);
        }
    }
    c.elements = c.expected.size();
    return c;
}

Case makeCase(const QString& name)
{
    if (name == "F32") return floatCase(kF32);
    if (name == "F16") return floatCase(kF16);
    if (name == "BF16") return floatCase(kBF16);
    if (name == "Q4_0") return legacyCase(kQ4_0);
    if (name == "Q4_1") return legacyCase(kQ4_1);
    if (name == "Q5_0") return legacyCase(kQ5_0);
    if (name == "Q5_1") return legacyCase(kQ5_1);
    if (name == "Q8_0") return q8_0Case();
    if (name == "Q2_K") return q2KCase();
    if (name == "Q3_K") return q3KCase();
    if (name == "Q4_K") return q45KCase(false);
    if (name == "Q5_K") return q45KCase(true);
    if (name == "Q6_K") return q6KCase();
    return q8KCase();
}

/// The tensor's values through the engine's public conversion.
std::vector<float> readValues(const qs::core::TensorInfo& t)
{
    auto bytes = t.storage->bytes();
    if (!bytes) return {};
    std::vector<float> out(t.elementCount());
    if (!qs::core::convertToF32(t.dtype, bytes->data() + t.offset, out.size(), out.data()))
        return {};
    return out;
}

/// Index of the first value whose bits differ (-0 and 0 differ), or -1.
long firstMismatch(const std::vector<float>& got, const std::vector<float>& want)
{
    if (got.size() != want.size()) return 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i])) return long(i);
    return -1;
}

} // namespace

class TestGguf : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    std::string path(const QString& name) const { return m_dir.filePath(name).toStdString(); }

    qs::core::Model open(const tg::Writer& w, const QString& name)
    {
        const std::string p = path(name);
        if (!w.writeTo(p)) qFatal("cannot write %s", p.c_str());
        auto r = qs::io::readGguf(p);
        if (!r) qWarning("%s", r.error().message.c_str());
        return r ? std::move(r.value()) : qs::core::Model{};
    }

private slots:
    void metadataAllTypes_data();
    void metadataAllTypes();
    void dequantize_data();
    void dequantize();
    void q4_0HandExample();
    void shapeRolesAndLayers();
    void unsupportedTypesListed();
    void alignment_data();
    void alignment();
    void noTensors();
    void headerLongerThanFirstRead();
    void openModelSniffsMagic();
};

void TestGguf::metadataAllTypes_data()
{
    QTest::addColumn<uint32_t>("version");
    QTest::newRow("v2") << 2u;
    QTest::newRow("v3") << 3u;
}

void TestGguf::metadataAllTypes()
{
    QFETCH(uint32_t, version);
    tg::Writer w(version);
    w.addKv("t.u8", tg::U8, tg::Bytes().u8(200));
    w.addKv("t.i8", tg::I8, tg::Bytes().u8(0xFB)); // -5
    w.addKv("t.u16", tg::U16, tg::Bytes().u16(60000));
    w.addKv("t.i16", tg::I16, tg::Bytes().u16(0x8AD0)); // -30000
    w.addKv("t.u32", tg::U32, tg::Bytes().u32(4000000000u));
    w.addKv("t.i32", tg::I32, tg::Bytes().u32(0x88CA6C00)); // -2000000000
    w.addKv("t.f32", tg::F32, tg::Bytes().u32(0x3F000000)); // 0.5
    w.addKv("t.bool", tg::BOOL, tg::Bytes().u8(1));
    w.addKv("t.bool0", tg::BOOL, tg::Bytes().u8(0));
    w.addString("general.architecture", "llama");
    w.addKv("t.u64", tg::U64, tg::Bytes().u64((uint64_t{1} << 40) + 1));
    w.addKv("t.i64", tg::I64, tg::Bytes().u64(~(uint64_t{1} << 40) + 1)); // -2^40
    w.addKv("t.f64", tg::F64, tg::Bytes().u64(0x3FB999999999999A));       // 0.1
    w.addKv("t.arr.i32", tg::ARRAY, tg::Bytes().u32(tg::I32).u64(3).u32(1).u32(2).u32(0xFFFFFFFD));
    w.addKv("t.arr.str", tg::ARRAY, tg::Bytes().u32(tg::STRING).u64(2).str("a").str("bc"));
    w.addKv(
        "t.arr.nested", tg::ARRAY,
        tg::Bytes().u32(tg::ARRAY).u64(2).u32(tg::U8).u64(2).u8(1).u8(2).u32(tg::U8).u64(1).u8(3));
    w.addKv("t.arr.empty", tg::ARRAY, tg::Bytes().u32(tg::F32).u64(0));
    tg::Bytes longFloats;
    longFloats.u32(tg::F32).u64(100);
    for (int i = 0; i < 100; ++i)
        longFloats.u32(0x3F800000);
    w.addKv("t.arr.long", tg::ARRAY, longFloats);
    tg::Bytes tokens;
    tokens.u32(tg::STRING).u64(20);
    for (int i = 0; i < 20; ++i)
        tokens.str("tok" + std::to_string(i));
    w.addKv("tokenizer.ggml.tokens", tg::ARRAY, tokens);
    w.addString("t.after", "still read"); // proves the summarised arrays were skipped exactly

    const auto model = open(w, QString("meta_v%1.gguf").arg(version));
    const std::vector<std::pair<std::string, std::string>> expected{
        {"t.u8", "200"},
        {"t.i8", "-5"},
        {"t.u16", "60000"},
        {"t.i16", "-30000"},
        {"t.u32", "4000000000"},
        {"t.i32", "-2000000000"},
        {"t.f32", "0.5"},
        {"t.bool", "true"},
        {"t.bool0", "false"},
        {"general.architecture", "llama"},
        {"t.u64", "1099511627777"},
        {"t.i64", "-1099511627776"},
        {"t.f64", "0.1"},
        {"t.arr.i32", "[1, 2, -3]"},
        {"t.arr.str", "[\"a\", \"bc\"]"},
        {"t.arr.nested", "[[1, 2], [3]]"},
        {"t.arr.empty", "[]"},
        {"t.arr.long", "[100 x float32]"},
        {"tokenizer.ggml.tokens", "[20 x string]"},
        {"t.after", "still read"}};
    QCOMPARE(model.format, std::string("gguf"));
    QCOMPARE(model.metadata.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        QCOMPARE(model.metadata[i].key, expected[i].first);
        QCOMPARE(model.metadata[i].value, expected[i].second);
    }
}

void TestGguf::dequantize_data()
{
    QTest::addColumn<QString>("type");
    QTest::addColumn<uint32_t>("version");
    for (const char* t : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K",
                          "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"}) {
        QTest::newRow(QString("%1 v3").arg(t).toUtf8().constData()) << QString(t) << 3u;
        QTest::newRow(QString("%1 v2").arg(t).toUtf8().constData()) << QString(t) << 2u;
    }
}

void TestGguf::dequantize()
{
    QFETCH(QString, type);
    QFETCH(uint32_t, version);
    const Case c = makeCase(type);
    tg::Writer w(version);
    w.addString("general.architecture", "test");
    // A small F32 tensor first, so the tested one does not start at the data section start.
    w.addTensor("first", {3}, kF32, std::vector<std::byte>(12, std::byte{0}));
    w.addTensor("blk.1.ffn_up.weight", {c.elements}, c.type, c.bytes);
    const auto model = open(w, "deq_" + type + ".gguf");
    QCOMPARE(model.tensors.size(), std::size_t(2));
    const auto& t = model.tensors[1];
    QCOMPARE(QString::fromStdString(t.typeName), type);
    QCOMPARE(QString::fromStdString(std::string(qs::core::dtypeName(t.dtype))), type);
    QCOMPARE(t.bytes, uint64_t(c.bytes.size()));
    QCOMPARE(t.offset, w.dataOffsetOf(1));
    QCOMPARE(t.shape, std::vector<int64_t>{int64_t(c.elements)});
    const auto got = readValues(t);
    const long bad = firstMismatch(got, c.expected);
    if (bad >= 0 && std::size_t(bad) < got.size())
        qWarning("element %ld: got %.9g, expected %.9g", bad, double(got[bad]),
                 double(c.expected[bad]));
    QCOMPARE(got.size(), c.expected.size());
    QCOMPARE(bad, -1L);
}

/// The example from the format description: d = 0.5 and nibbles 0..15 give (q - 8) * 0.5.
void TestGguf::q4_0HandExample()
{
    std::vector<std::byte> block{std::byte{0x00}, std::byte{0x38}}; // f16 0.5
    for (int j = 0; j < 16; ++j)
        block.push_back(std::byte(j | ((15 - j) << 4)));
    const float expected[32] = {-4.0f, -3.5f, -3.0f, -2.5f, -2.0f, -1.5f, -1.0f, -0.5f,
                                0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  2.5f,  3.0f,  3.5f,
                                3.5f,  3.0f,  2.5f,  2.0f,  1.5f,  1.0f,  0.5f,  0.0f,
                                -0.5f, -1.0f, -1.5f, -2.0f, -2.5f, -3.0f, -3.5f, -4.0f};
    tg::Writer w;
    w.addTensor("q", {32}, kQ4_0, block);
    const auto model = open(w, "q4_0_hand.gguf");
    QCOMPARE(model.tensors.size(), std::size_t(1));
    const auto got = readValues(model.tensors[0]);
    QCOMPARE(got.size(), std::size_t(32));
    for (int j = 0; j < 32; ++j)
        QCOMPARE(got[j], expected[j]);
}

void TestGguf::shapeRolesAndLayers()
{
    tg::Writer w;
    std::vector<std::byte> matrix(4 * 3 * 4);
    for (std::size_t i = 0; i < matrix.size() / 4; ++i) {
        const float v = float(i);
        std::memcpy(matrix.data() + 4 * i, &v, 4);
    }
    w.addTensor("blk.0.attn_q.weight", {4, 3}, kF32, matrix); // ne = [in 4, out 3]
    w.addTensor("output_norm.weight", {8}, kF32, std::vector<std::byte>(32));
    w.addTensor("blk.2.conv.weight", {2, 3, 4, 5}, kF16, std::vector<std::byte>(240));
    const auto model = open(w, "shapes.gguf");
    QCOMPARE(model.tensors.size(), std::size_t(3));
    const auto& q = model.tensors[0];
    QCOMPARE(q.shape, (std::vector<int64_t>{3, 4}));
    QCOMPARE(q.outAxis, 0);
    QCOMPARE(q.inAxis, 1);
    QCOMPARE(q.layer, std::string("blk.0.attn_q"));
    QCOMPARE(q.bytes, uint64_t(48));
    // Row r of the [out, in] view is ne[1] index r: values 4r .. 4r+3 in file order.
    const auto values = readValues(q);
    QCOMPARE(values.size(), std::size_t(12));
    QCOMPARE(values[1 * 4 + 2], 6.0f);
    const auto& norm = model.tensors[1];
    QCOMPARE(norm.shape, std::vector<int64_t>{8});
    QCOMPARE(norm.outAxis, 0);
    QCOMPARE(norm.inAxis, -1);
    QCOMPARE(norm.layer, std::string("output_norm"));
    QCOMPARE(model.tensors[2].shape, (std::vector<int64_t>{5, 4, 3, 2}));
    QCOMPARE(model.tensors[2].bytes, uint64_t(240));
    QCOMPARE(model.totalParameters(), uint64_t(12 + 8 + 120));
}

void TestGguf::unsupportedTypesListed()
{
    tg::Writer w;
    w.addTensor("iq", {256, 2}, kIQ2_XXS, std::vector<std::byte>(2 * 66)); // 66 B per 256
    w.addTensor("q81", {64}, kQ8_1, std::vector<std::byte>(2 * 36));
    w.addTensor("future", {16}, 77, {});
    w.addTensor("after", {2}, kF32, std::vector<std::byte>(8));
    const auto model = open(w, "unsupported.gguf");
    QCOMPARE(model.tensors.size(), std::size_t(4));
    const auto& iq = model.tensors[0];
    QCOMPARE(iq.dtype, DType::Unsupported);
    QCOMPARE(iq.typeName, std::string("IQ2_XXS"));
    QCOMPARE(iq.bytes, uint64_t(132));
    QVERIFY(!iq.readable());
    QCOMPARE(model.tensors[1].typeName, std::string("Q8_1"));
    QCOMPARE(model.tensors[1].dtype, DType::Unsupported);
    QCOMPARE(model.tensors[2].typeName, std::string("ggml type 77"));
    QCOMPARE(model.tensors[2].dtype, DType::Unsupported);
    QCOMPARE(model.tensors[3].dtype, DType::F32);
    QCOMPARE(model.tensors[3].offset, w.dataOffsetOf(3));
}

void TestGguf::alignment_data()
{
    QTest::addColumn<uint32_t>("alignment");
    QTest::newRow("1") << 1u;
    QTest::newRow("8") << 8u;
    QTest::newRow("64") << 64u;
    QTest::newRow("4096") << 4096u;
}

void TestGguf::alignment()
{
    QFETCH(uint32_t, alignment);
    tg::Writer w;
    w.setAlignment(alignment);
    w.addString("general.name", "x"); // moves the end of the header off any round number
    w.addTensor("a", {3}, kF32, std::vector<std::byte>(12, std::byte{0x11}));
    std::vector<std::byte> b(4 * 5);
    for (int i = 0; i < 5; ++i) {
        const float v = 0.25f * float(i);
        std::memcpy(b.data() + 4 * i, &v, 4);
    }
    w.addTensor("b", {5}, kF32, b);
    const auto model = open(w, QString("align%1.gguf").arg(alignment));
    QCOMPARE(model.tensors.size(), std::size_t(2));
    QCOMPARE(model.metadata[0].value, std::to_string(alignment));
    QCOMPARE(model.tensors[0].offset, w.dataOffsetOf(0));
    QCOMPARE(model.tensors[1].offset, w.dataOffsetOf(1));
    QCOMPARE(model.tensors[1].offset % alignment, uint64_t(0));
    const auto values = readValues(model.tensors[1]);
    QCOMPARE(values, (std::vector<float>{0.0f, 0.25f, 0.5f, 0.75f, 1.0f}));
}

void TestGguf::noTensors()
{
    tg::Writer w;
    w.addString("general.architecture", "none");
    const auto model = open(w, "empty_model.gguf");
    QCOMPARE(model.tensors.size(), std::size_t(0));
    QCOMPARE(model.metadata.size(), std::size_t(1));
}

/// The reader parses a copy of the header that starts at 1 MiB and grows; a 3 MiB header
/// (a long chat template or vocabulary) must read like a short one.
void TestGguf::headerLongerThanFirstRead()
{
    tg::Writer w;
    const std::string text(3 << 20, 'q');
    w.addString("tokenizer.chat_template", text);
    tg::Bytes deep; // arrays nested 8 deep, the most the reader accepts
    for (int i = 0; i < 7; ++i)
        deep.u32(tg::ARRAY).u64(1);
    deep.u32(tg::U16).u64(1).u16(9);
    w.addKv("t.deep", tg::ARRAY, deep);
    w.addTensor("w", {2}, kF32,
                std::vector<std::byte>{std::byte{0}, std::byte{0}, std::byte{0x80}, std::byte{0x3F},
                                       std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0xC0}});
    const auto model = open(w, "long_header.gguf");
    QCOMPARE(model.metadata.size(), std::size_t(2));
    QCOMPARE(model.metadata[0].value.size(), text.size());
    QCOMPARE(model.metadata[1].value, std::string("[[[[[[[[9]]]]]]]]"));
    QCOMPARE(model.tensors.size(), std::size_t(1));
    QCOMPARE(model.tensors[0].offset, w.dataOffsetOf(0));
    QCOMPARE(readValues(model.tensors[0]), (std::vector<float>{1.0f, -2.0f}));
}

void TestGguf::openModelSniffsMagic()
{
    tg::Writer w;
    w.addTensor("w", {32}, kQ8_0, std::vector<std::byte>(34));
    const std::string p = path("renamed_model.bin");
    QVERIFY(w.writeTo(p));
    auto r = qs::io::openModel(p);
    QVERIFY2(r.ok(), r ? "" : r.error().message.c_str());
    QCOMPARE(r->format, std::string("gguf"));
    QCOMPARE(r->path, p);
    QCOMPARE(r->tensors.size(), std::size_t(1));
    QCOMPARE(r->tensors[0].dtype, DType::Q8_0);
}

QTEST_GUILESS_MAIN(TestGguf)
#include "tst_gguf.moc"
