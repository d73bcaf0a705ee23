// Crafted bad .npy and .npz files (run under ASan+UBSan): each must give an Error of the
// expected code whose message starts with the file's path and names the problem. .npy:
// "\x93NUMPY", version, header length, dict literal, data. .npz: a zip archive of .npy members.
#include "io/stnpy_helpers.h"

#include "core/stats.h"
#include "io/modelreader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>

using namespace qs;
using namespace qs::stnpytest;

namespace {

QByteArray npyDict(const std::string& dict, int dataBytes)
{
    return npyFile(1, dict, QByteArray(dataBytes, '\0'));
}

const std::string kF4x4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";

/// Overwrites `n` little-endian bytes of `v` at `at`.
QByteArray patched(QByteArray b, qsizetype at, uint32_t v, int n)
{
    for (int i = 0; i < n; ++i)
        b[at + i] = char((v >> (8 * i)) & 0xFF);
    return b;
}

/// A two-member archive (stored) and the offsets of its central directory fields.
struct Archive {
    QByteArray bytes;
    qsizetype central = 0; ///< first central directory entry
    qsizetype eocd = 0;
};

Archive twoMembers(bool deflate = false)
{
    Archive a;
    a.bytes = zipArchive(
        {{"a.npy", npyDict(kF4x4, 16), deflate}, {"b.npy", npyDict(kF4x4, 16), deflate}});
    a.central = a.bytes.indexOf(QByteArray("PK\x01\x02", 4));
    a.eocd = a.bytes.lastIndexOf(QByteArray("PK\x05\x06", 4));
    return a;
}

} // namespace

class TestBadNpy : public QObject {
    Q_OBJECT

private slots:
    void npyRejected_data();
    void npyRejected();
    void npzRejected_data();
    void npzRejected();
    void npzCorruptDeflateFailsOnRead();

private:
    void expectError(const QString& p, const core::Result<core::Model>& m, int code,
                     const QString& message);
    QTemporaryDir m_dir;
};

void TestBadNpy::expectError(const QString& p, const core::Result<core::Model>& m, int code,
                             const QString& message)
{
    QVERIFY(!m.ok());
    const QString got = QString::fromStdString(m.error().message);
    QVERIFY2(got.startsWith(p + ": "), qPrintable(got));
    QVERIFY2(got.contains(message), qPrintable(got));
    QCOMPARE(int(m.error().code), code);
}

void TestBadNpy::npyRejected_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    const auto F = int(core::ErrorCode::Format), T = int(core::ErrorCode::Truncated),
               U = int(core::ErrorCode::Unsupported);
    auto d = [](const char* descr) {
        return "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (2,), }";
    };

    QByteArray badMagic = npyDict(kF4x4, 16);
    badMagic[1] = 'X';
    QTest::newRow("bad magic") << badMagic << F << "not a .npy file (bad magic)";
    QTest::newRow("empty file") << QByteArray() << T << "file is empty";
    QTest::newRow("short prefix") << QByteArray("\x93NUMPY\x01", 7) << T
                                  << "npy header is truncated";
    QByteArray v9 = npyDict(kF4x4, 16);
    v9[6] = 9;
    QTest::newRow("version 9") << v9 << U << "npy format version 9 is not supported";
    QTest::newRow("header length past end") << patched(npyDict(kF4x4, 0), 8, 0xF000, 2) << T
                                            << "npy header length 61440 runs past the end";
    QTest::newRow("header not a dict")
        << npyDict("[1, 2, 3]", 0) << F << "npy header is not a dict";
    QTest::newRow("unterminated string")
        << npyDict("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", 8) << F
        << "npy header is not a dict";
    QTest::newRow("missing shape") << npyDict("{'descr': '<f4', 'fortran_order': False}", 8) << F
                                   << "npy header is not a dict";
    QTest::newRow("object dtype") << npyDict(d("|O"), 16) << F
                                  << "object arrays ('|O') are not supported";
    QTest::newRow("big-endian") << npyDict(d(">f4"), 8) << U
                                << "big-endian arrays ('>f4') are not supported";
    QTest::newRow("fortran order neither True nor False")
        << npyDict("{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 2), }", 16) << F
        << "npy header 'fortran_order' is '1', not True or False";
    QTest::newRow("unknown dtype")
        << npyDict(d("<q9"), 8) << U << "npy dtype '<q9' is not supported";
    QTest::newRow("negative dim")
        << npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0) << F
        << "not a whole number >= 0";
    QTest::newRow("shape not tuple")
        << npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': 4, }", 16) << F
        << "'shape' is not a tuple";
    QTest::newRow("product overflow")
        << npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                   0)
        << F << "element count overflows 64 bits";
    QTest::newRow("byte size overflow")
        << npyDict("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", 0)
        << F << "byte size overflows 64 bits";
    QTest::newRow("data truncated")
        << npyDict(kF4x4, 8) << T
        << "the array needs 16 data bytes after its header but only 8 are there";
}

void TestBadNpy::npyRejected()
{
    QFETCH(QByteArray, file);
    QFETCH(int, code);
    QFETCH(QString, message);
    const QString p = m_dir.filePath("bad.npy");
    QVERIFY(writeFile(p, file));
    expectError(p, io::readNpy(p.toStdString()), code, message);
}

void TestBadNpy::npzRejected_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    const auto F = int(core::ErrorCode::Format), T = int(core::ErrorCode::Truncated),
               U = int(core::ErrorCode::Unsupported);
    const Archive a = twoMembers();
    const Archive z = twoMembers(true);

    QTest::newRow("not a zip") << npyDict(kF4x4, 16) << F << "no end of central directory record";
    // The last 40 bytes of the directory cut away, the end record kept as it was.
    QByteArray cut = a.bytes.left(a.eocd - 40) + a.bytes.mid(a.eocd);
    QTest::newRow("central directory truncated") << cut << T << "runs past the end of the file";
    QTest::newRow("directory size too large") << patched(a.bytes, a.eocd + 12, 5000, 4) << T
                                              << "5000 bytes) runs past the end of the file";
    QTest::newRow("entry count too large")
        << patched(a.bytes, a.eocd + 10, 60, 2) << F << "too small for its entry count";
    QTest::newRow("damaged entry") << patched(a.bytes, a.central, 0x12345678, 4) << F
                                   << "zip central directory entry 0 is damaged";
    QTest::newRow("name past directory")
        << patched(a.bytes, a.central + 28, 0xFFFF, 2) << T << "zip central directory is truncated";
    QTest::newRow("encrypted") << patched(a.bytes, a.central + 8, 1, 2) << U
                               << "member a.npy is encrypted";
    QTest::newRow("bzip2 member") << patched(a.bytes, a.central + 10, 12, 2) << U
                                  << "uses compression method 12";
    QTest::newRow("stored sizes differ")
        << patched(a.bytes, a.central + 24, 99, 4) << F << "is stored but its sizes differ";
    QTest::newRow("zip bomb sizes")
        << patched(z.bytes, z.central + 24, 0xF0000000u, 4) << F << "impossible compression ratio";
    QTest::newRow("local header offset past end")
        << patched(a.bytes, a.central + 42, 0x00FFFFFF, 4) << T
        << "local header is past the end of the file";
    QTest::newRow("bad local signature")
        << patched(a.bytes, 0, 0x01020304, 4) << F << "bad local header signature";
    QTest::newRow("zip64 locator missing")
        << patched(a.bytes, a.eocd + 16, 0xFFFFFFFFu, 4) << F << "zip64 locator missing";
    QTest::newRow("bad npy member")
        << zipArchive({{"x.npy",
                        npyDict("{'descr': '|O', 'fortran_order': False, "
                                "'shape': (1,), }",
                                8),
                        false}})
        << F << "member x.npy: object arrays";
    QTest::newRow("member data truncated") << zipArchive({{"x.npy", npyDict(kF4x4, 4), true}}) << T
                                           << "member x.npy: the array needs 16 data bytes";
}

void TestBadNpy::npzRejected()
{
    QFETCH(QByteArray, file);
    QFETCH(int, code);
    QFETCH(QString, message);
    const QString p = m_dir.filePath("bad.npz");
    QVERIFY(writeFile(p, file));
    expectError(p, io::readNpz(p.toStdString()), code, message);
}

void TestBadNpy::npzCorruptDeflateFailsOnRead()
{
    // A member larger than the 64 KiB header probe; its compressed tail is damaged, so the
    // open (which inflates only the header) succeeds and the first read of the data fails.
    QByteArray data;
    for (int i = 0; i < 100000; ++i) {
        const uint32_t v =
            uint32_t(i) * 2654435761u; // varied bytes: deflate cannot shrink them much
        data.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    const QByteArray arr =
        npyFile(1, "{'descr': '<u4', 'fortran_order': False, 'shape': (100000,), }", data);
    QByteArray zip = zipArchive({{"w.npy", arr, true}});
    const qsizetype central = zip.indexOf(QByteArray("PK\x01\x02", 4));
    for (qsizetype i = central - 2000; i < central - 100; ++i)
        zip[i] = char(0xFF);
    const QString p = m_dir.filePath("corrupt.npz");
    QVERIFY(writeFile(p, zip));
    auto m = io::readNpz(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    const core::TensorInfo& t = m->tensors.at(0);
    QCOMPARE(t.shape, std::vector<int64_t>{100000});
    for (int attempt = 0; attempt < 2; ++attempt) { // the failure is remembered, not retried
        auto bytes = t.storage->bytes();
        QVERIFY(!bytes.ok());
        const QString got = QString::fromStdString(bytes.error().message);
        QVERIFY2(got.startsWith(p + ": member w.npy: "), qPrintable(got));
        QVERIFY2(got.contains("corrupt") || got.contains("inflates to"), qPrintable(got));
        QCOMPARE(bytes.error().code, core::ErrorCode::Format);
    }
    auto stats = core::computeStats(t); // statistics inflate it as a stream: same refusal
    QVERIFY(!stats.ok());
    const QString got = QString::fromStdString(stats.error().message);
    QVERIFY2(got.startsWith(p + ": member w.npy: "), qPrintable(got));
}

QTEST_GUILESS_MAIN(TestBadNpy)
#include "tst_bad_npy.moc"
