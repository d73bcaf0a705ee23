// Crafted bad safetensors files (run under ASan+UBSan): each must give an Error of the
// expected code whose message starts with the file's path and names the problem, never a
// crash or a huge allocation. Layout: u64 LE header length N, N bytes of JSON, data.
#include "io/stnpy_helpers.h"

#include "core/stats.h"
#include "io/modelreader.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <string>

using namespace qs;
using namespace qs::stnpytest;

namespace {

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  uint64_t begin, uint64_t end)
{
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

} // namespace

class TestBadSafetensors : public QObject {
    Q_OBJECT

private slots:
    void rejected_data();
    void rejected();
    void unknownDtypeIsListed();
    void indexOutsideFolder_data();
    void indexOutsideFolder();
    void truncatedAfterMapping();

private:
    QTemporaryDir m_dir;
};

void TestBadSafetensors::rejected_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    const auto F = int(core::ErrorCode::Format), T = int(core::ErrorCode::Truncated);
    auto st = [](const std::string& json, int dataBytes) {
        return safetensorsFile(json, QByteArray(dataBytes, '\1'));
    };

    QTest::newRow("short file") << QByteArray("\x10\0\0", 3) << T << "shorter than the 8-byte";
    QTest::newRow("header past EOF")
        << (le64(1000) + "{}") << T << "header length 1000 runs past the end of the file";
    QTest::newRow("header over 100 MB")
        << (le64(100'000'001) + "{}") << F << "over the 100 MB limit";
    QTest::newRow("huge header length") << le64(~uint64_t(0)) << F << "over the 100 MB limit";
    QTest::newRow("not JSON") << st("hello world", 0) << F << "not valid JSON";
    QTest::newRow("truncated JSON")
        << st("{\"a\":{\"dtype\":\"F32\",\"sha", 0) << F << "not valid JSON";
    QTest::newRow("not an object") << st("[1, 2, 3]", 0) << F << "not a JSON object";
    QTest::newRow("metadata not object")
        << st("{\"__metadata__\":[1]}", 0) << F << "\"__metadata__\" is not an object";
    QTest::newRow("missing dtype") << st("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4) << F
                                   << "tensor 'a' needs \"dtype\"";
    QTest::newRow("overlap") << st("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                       entry("b", "F32", "[2]", 4, 12) + "}",
                                   12)
                             << F << "tensor 'b' overlaps the tensor before it (offset 4 < 8)";
    QTest::newRow("gap") << st("{" + entry("a", "F32", "[1]", 0, 4) + "," +
                                   entry("b", "F32", "[1]", 8, 12) + "}",
                               12)
                         << F << "gap of 4 bytes before tensor 'b'";
    QTest::newRow("not starting at 0")
        << st("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8) << F << "gap of 4 bytes";
    QTest::newRow("unindexed tail") << st("{" + entry("a", "F32", "[1]", 0, 4) + "}", 6) << F
                                    << "2 bytes after the last tensor are not indexed";
    QTest::newRow("offsets past end")
        << st("{" + entry("a", "F32", "[4]", 0, 16) + "}", 8) << T
        << "tensor data ends at byte 16 of the data section, but the file holds only 8";
    QTest::newRow("huge offsets") << st("{" +
                                            entry("a", "U8", "[16]", 18446744073709551600ull,
                                                  18446744073709551615ull) +
                                            "}",
                                        8)
                                  << F << "needs 16 bytes but data_offsets give 15";
    QTest::newRow("end before begin") << st("{" + entry("a", "F32", "[0]", 8, 4) + "}", 8) << F
                                      << "data_offsets end before they begin";
    QTest::newRow("size mismatch") << st("{" + entry("a", "F32", "[2,2]", 0, 12) + "}", 12) << F
                                   << "needs 16 bytes but data_offsets give 12";
    QTest::newRow("duplicate name")
        << st("{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}", 8)
        << F << "names tensor 'w' twice";
    QTest::newRow("product overflow")
        << st("{" + entry("a", "F32", "[4294967296,4294967296]", 0, 4) + "}", 4) << F
        << "product of the shape overflows 64 bits";
    QTest::newRow("byte size overflow")
        << st("{" + entry("a", "F64", "[4611686018427387904]", 0, 4) + "}", 4) << F
        << "needs more than 2^64 bytes";
    QTest::newRow("negative dim") << st("{" + entry("a", "F32", "[-1,4]", 0, 4) + "}", 4) << F
                                  << "dimension that is not a whole number >= 0";
    QTest::newRow("fractional dim") << st("{" + entry("a", "F32", "[1.5]", 0, 4) + "}", 4) << F
                                    << "dimension that is not a whole number >= 0";
    QTest::newRow("string offsets")
        << st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",\"4\"]}}", 4) << F
        << "\"data_offsets\" must be two whole numbers";
}

void TestBadSafetensors::rejected()
{
    QFETCH(QByteArray, file);
    QFETCH(int, code);
    QFETCH(QString, message);
    const QString p = m_dir.filePath("bad.safetensors");
    QVERIFY(writeFile(p, file));
    auto m = io::readSafetensors(p.toStdString());
    QVERIFY(!m.ok());
    const QString got = QString::fromStdString(m.error().message);
    QVERIFY2(got.startsWith(p + ": "), qPrintable(got));
    QVERIFY2(got.contains(message), qPrintable(got));
    QCOMPARE(int(m.error().code), code);
}

void TestBadSafetensors::unknownDtypeIsListed()
{
    // Types the format names but we do not decode are listed, not refused.
    const std::string json = "{" + entry("scale", "F8_E8M0", "[4]", 0, 4) + "," +
                             entry("q", "F4", "[8]", 4, 8) + "," + entry("w", "F32", "[1]", 8, 12) +
                             "}";
    const QString p = m_dir.filePath("unknown.safetensors");
    QVERIFY(writeFile(p, safetensorsFile(json, QByteArray(12, '\0'))));
    auto m = io::readSafetensors(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->tensors.size(), size_t(3));
    const core::TensorInfo* s = m->find("scale");
    QCOMPARE(s->dtype, core::DType::Unsupported);
    QCOMPARE(s->typeName, std::string("F8_E8M0"));
    QVERIFY(!s->readable());
    QCOMPARE(m->find("q")->typeName, std::string("F4"));
    QVERIFY(m->find("w")->readable());
    auto stats = core::computeStats(*s);
    QVERIFY(!stats.ok());
}

void TestBadSafetensors::indexOutsideFolder_data()
{
    QTest::addColumn<QString>("shard");
    QTest::newRow("parent") << "../outside.safetensors";
    QTest::newRow("subfolder parent") << "sub/../../outside.safetensors";
    QTest::newRow("absolute") << "/etc/passwd";
    QTest::newRow("dotdot") << "..";
}

void TestBadSafetensors::indexOutsideFolder()
{
    QFETCH(QString, shard);
    QDir(m_dir.path()).mkpath("idx");
    // A real shard outside the folder: reading it would make the test pass for the wrong reason.
    QVERIFY(writeFile(
        m_dir.filePath("outside.safetensors"),
        safetensorsFile("{" + entry("w", "F32", "[1]", 0, 4) + "}", QByteArray(4, '\0'))));
    const QString ip = m_dir.filePath("idx/model.safetensors.index.json");
    QVERIFY(writeFile(ip, "{\"weight_map\":{\"w\":\"" + shard.toUtf8() + "\"}}"));
    auto m = io::readSafetensorsIndex(ip.toStdString());
    QVERIFY(!m.ok());
    const QString got = QString::fromStdString(m.error().message);
    QVERIFY2(got.startsWith(ip + ": "), qPrintable(got));
    QVERIFY2(got.contains("must be a file name in the index's folder"), qPrintable(got));
}

void TestBadSafetensors::truncatedAfterMapping()
{
    // 64 KiB of floats, so the second tensor lies in pages that vanish when the file shrinks.
    const int n = 8192;
    std::string json =
        "{" + entry("a", "F32", "[" + std::to_string(n) + "]", 0, uint64_t(n) * 4) + "," +
        entry("b", "F32", "[" + std::to_string(n) + "]", uint64_t(n) * 4, uint64_t(n) * 8) + "}";
    // Space padding to a multiple of 8, as the reference writer does, keeps the floats aligned:
    // this test is about the shrinking file, not about unaligned data.
    json.append((8 - json.size() % 8) % 8, ' ');
    const QString p = m_dir.filePath("shrinks.safetensors");
    QVERIFY(writeFile(p, safetensorsFile(json, QByteArray(n * 8, '\0'))));
    auto m = io::readSafetensors(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QVERIFY(QFile::resize(p, 8 + qint64(json.size()) + 16)); // keeps a few bytes of "a" only
    auto stats = core::computeStats(*m->find("b"));
    QVERIFY(!stats.ok());
    QCOMPARE(stats.error().code, core::ErrorCode::Truncated);
    QVERIFY2(QString::fromStdString(stats.error().message).startsWith(p),
             stats.error().message.c_str());
}

QTEST_GUILESS_MAIN(TestBadSafetensors)
#include "tst_bad_safetensors.moc"
