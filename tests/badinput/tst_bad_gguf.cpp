// Crafted bad GGUF files (run under ASan+UBSan): each must give an Error that starts with the
// file's path and names the problem, never a crash, a hang or a huge allocation. The files
// are written byte by byte here from the GGUF layout: "GGUF", u32 version, u64 tensor count,
// u64 KV count, KVs (string key, u32 type, value), tensor infos (string name, u32 n_dims,
// u64 ne[n_dims], u32 ggml type, u64 offset), padding to the alignment, data.
#include "io/modelreader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstdint>
#include <fstream>
#include <string>

namespace {

constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;
constexpr uint32_t kU8 = 0, kU32 = 4, kString = 8, kArray = 9; // GGUF value types
constexpr uint32_t kF32 = 0, kQ4_0 = 2;                        // ggml types

/// Little-endian byte builder for the crafted files.
struct Raw {
    QByteArray b;
    Raw& u8(uint8_t v)
    {
        b.append(char(v));
        return *this;
    }
    Raw& u32(uint32_t v)
    {
        for (int i = 0; i < 4; ++i)
            u8(uint8_t(v >> (8 * i)));
        return *this;
    }
    Raw& u64(uint64_t v)
    {
        for (int i = 0; i < 8; ++i)
            u8(uint8_t(v >> (8 * i)));
        return *this;
    }
    Raw& str(const std::string& s)
    {
        u64(s.size());
        b.append(s.data(), qsizetype(s.size()));
        return *this;
    }
    Raw& zeros(int n)
    {
        b.append(QByteArray(n, '\0'));
        return *this;
    }
    /// Pads with zeros to the next multiple of a.
    Raw& pad(int a) { return zeros(int((a - b.size() % a) % a)); }
};

/// "GGUF", version, tensor count, KV count.
Raw header(uint64_t tensors, uint64_t kvs, uint32_t version = 3)
{
    Raw r;
    r.b.append("GGUF");
    r.u32(version).u64(tensors).u64(kvs);
    return r;
}

/// A tensor info with the given dims, type and offset.
Raw& tensorInfo(Raw& r, const std::string& name, std::initializer_list<uint64_t> ne, uint32_t type,
                uint64_t offset)
{
    r.str(name).u32(uint32_t(ne.size()));
    for (uint64_t d : ne)
        r.u64(d);
    return r.u32(type).u64(offset);
}

/// One F32 tensor of 4 values with its data; the header is padded to 32 bytes.
QByteArray withTensor(uint64_t offset, int dataBytes)
{
    Raw r = header(1, 0);
    tensorInfo(r, "blk.0.attn_q.weight", {4}, kF32, offset).pad(32).zeros(dataBytes);
    return r.b;
}

QByteArray withAlignment(Raw value, uint32_t type)
{
    Raw r = header(0, 1);
    r.str("general.alignment").u32(type);
    r.b.append(value.b);
    return r.b;
}

QByteArray nestedArrays(int depth)
{
    Raw r = header(0, 1);
    r.str("deep");
    r.u32(kArray);
    for (int i = 0; i < depth - 1; ++i)
        r.u32(kArray).u64(1);
    r.u32(kU8).u64(1).u8(7);
    return r.b;
}

} // namespace

class TestBadGguf : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

private slots:
    void rejected_data();
    void rejected();
    void truncatedAfterLongHeader();
};

void TestBadGguf::rejected_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("problem");

    QTest::newRow("bad magic") << QByteArray("GGUX\x03\0\0\0", 8) + QByteArray(16, '\0')
                               << "not a GGUF file (bad magic";
    QTest::newRow("version 1") << header(0, 0, 1).b
                               << "GGUF version 1 (32-bit counts) is not supported";
    QTest::newRow("version 99") << header(0, 0, 99).b << "GGUF version 99 is not supported";
    QTest::newRow("big-endian") << header(0, 0, 0x03000000).b
                                << "big-endian GGUF files are not supported";
    QTest::newRow("truncated header")
        << header(0, 0).b.left(20) << "truncated GGUF header (20 bytes";
    QTest::newRow("tensor count 2^63-1")
        << header(kTwoTo63 - 1, 0).b << "GGUF tensor count 9223372036854775807 is impossible";
    QTest::newRow("kv count 2^63")
        << header(0, kTwoTo63).b
        << "GGUF metadata key/value count 9223372036854775808 is impossible";
    {
        Raw r = header(0, 1);
        r.u64(uint64_t{1} << 40).b.append("general.name");
        QTest::newRow("key length 2^40") << r.b << "GGUF string length 1099511627776 at offset 24";
    }
    {
        Raw r = header(0, 1);
        r.str("general.name").u32(kString).u64(uint64_t{1} << 40).b.append("abc");
        QTest::newRow("value length 2^40")
            << r.b << "GGUF string length 1099511627776 at offset 48";
    }
    {
        Raw r = header(1, 0);
        tensorInfo(r, "t5", {1, 1, 1, 1, 1}, kF32, 0);
        QTest::newRow("n_dims 5") << r.b << "GGUF tensor 't5' has 5 dimensions (at most 4";
    }
    {
        Raw r = header(1, 0);
        tensorInfo(r, "big", {uint64_t{1} << 32, uint64_t{1} << 32}, kF32, 0);
        QTest::newRow("dims product overflow")
            << r.b << "'big' has dimensions whose product overflows";
    }
    {
        Raw r = header(1, 0);
        tensorInfo(r, "neg", {kTwoTo63}, kF32, 0);
        QTest::newRow("dim above int64") << r.b << "'neg' has dimensions whose product overflows";
    }
    QTest::newRow("alignment 0") << withAlignment(Raw().u32(0), kU32)
                                 << "general.alignment 0 is not a nonzero power of two";
    QTest::newRow("alignment 3") << withAlignment(Raw().u32(3), kU32)
                                 << "general.alignment 3 is not a nonzero power of two";
    QTest::newRow("alignment as string") << withAlignment(Raw().str("32"), kString)
                                         << "general.alignment must be a uint32, not string";
    QTest::newRow("offset past end")
        << withTensor(uint64_t{1} << 40, 16)
        << "GGUF tensor 'blk.0.attn_q.weight' data (offset 1099511627872, "
           "16 bytes) runs past the end of the file (112 bytes)";
    QTest::newRow("data cut short")
        << withTensor(0, 15)
        << "'blk.0.attn_q.weight' data (offset 96, 16 bytes) runs past the end";
    QTest::newRow("offset near 2^64")
        << withTensor(~uint64_t{0} - 31, 16) << "runs past the end of the file";
    QTest::newRow("offset not aligned")
        << withTensor(4, 32) << "data offset 4 is not a multiple of the alignment 32";
    {
        Raw r = header(0, 1);
        r.str("tokenizer.ggml.scores").u32(kArray).u32(kU32).u64(10).u32(1).u32(2).u32(3);
        QTest::newRow("array cut short") << r.b << "array of 10 uint32 values runs past the end";
    }
    {
        Raw r = header(0, 1);
        r.str("tokenizer.ggml.tokens").u32(kArray).u32(kString).u64(3).str("a").str("b").zeros(6);
        QTest::newRow("truncated inside string array")
            << r.b << "file ends inside GGUF metadata 'tokenizer.ggml.tokens'";
    }
    {
        Raw r = header(0, 1);
        r.str("x").u32(13).u32(0);
        QTest::newRow("unknown value type") << r.b << "GGUF metadata 'x' has unknown value type 13";
    }
    {
        Raw r = header(0, 1);
        r.str("x").u32(kArray).u32(200).u64(1).u32(0);
        QTest::newRow("unknown array type") << r.b << "is an array of unknown value type 200";
    }
    QTest::newRow("arrays nested 9 deep") << nestedArrays(9) << "nests arrays deeper than 8 levels";
    {
        Raw r = header(2, 0);
        tensorInfo(r, "same", {4}, kF32, 0);
        tensorInfo(r, "same", {4}, kF32, 32).pad(32).zeros(64);
        QTest::newRow("duplicate tensor") << r.b << "duplicate GGUF tensor name 'same'";
    }
    {
        Raw r = header(0, 2);
        r.str("k").u32(kU8).u8(1).str("k").u32(kU8).u8(2);
        QTest::newRow("duplicate key") << r.b << "duplicate GGUF metadata key 'k'";
    }
    {
        Raw r = header(1, 0);
        tensorInfo(r, "odd", {33}, kQ4_0, 0).pad(32).zeros(64);
        QTest::newRow("partial block")
            << r.b << "row length 33 is not a multiple of Q4_0's block of 32";
    }
    {
        Raw r = header(1, 0);
        r.str("cut").u32(2).u64(4).u32(0);
        QTest::newRow("truncated tensor info") << r.b << "file ends inside GGUF tensor info 'cut'";
    }
}

void TestBadGguf::rejected()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, problem);
    const std::string p =
        m_dir.filePath(QString(QTest::currentDataTag()).replace(' ', '_') + ".gguf").toStdString();
    std::ofstream(p, std::ios::binary).write(bytes.constData(), bytes.size());
    const auto r = qs::io::openModel(p);
    QVERIFY(!r.ok());
    const std::string& msg = r.error().message;
    QVERIFY2(msg.rfind(p + ": ", 0) == 0, msg.c_str());
    QVERIFY2(msg.find(problem.toStdString()) != std::string::npos, msg.c_str());
}

/// A header longer than the reader's first copy of the file (1 MiB) that then breaks: the
/// reader must grow its copy, keep going, and still report the precise problem.
void TestBadGguf::truncatedAfterLongHeader()
{
    Raw r = header(0, 2);
    r.str("general.description").u32(kString).str(std::string(3 << 20, 'x'));
    r.str("cut").u32(kU32).u8(1);
    const std::string p = m_dir.filePath("long_header.gguf").toStdString();
    std::ofstream(p, std::ios::binary).write(r.b.constData(), r.b.size());
    const auto res = qs::io::readGguf(p);
    QVERIFY(!res.ok());
    QVERIFY2(res.error().message.find(p + ": file ends inside GGUF metadata 'cut'") == 0,
             res.error().message.c_str());
}

QTEST_GUILESS_MAIN(TestBadGguf)
#include "tst_bad_gguf.moc"
