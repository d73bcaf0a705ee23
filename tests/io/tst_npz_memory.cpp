// A deflated .npz member larger than the address space the process may use: inspect --stats
// must stream it (inflate piece by piece) instead of inflating it into one buffer.
#include "io/stnpy_helpers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

using namespace qs;
using namespace qs::stnpytest;

namespace {

constexpr uint64_t kLimitBytes = uint64_t(2) << 30;       // RLIMIT_AS of the CLI process
constexpr uint64_t kRows = 768, kCols = uint64_t(1) << 20; // f32 zeros: 3 GiB of data
constexpr uint64_t kPiece = uint64_t(1) << 20;             // zeros deflated once, repeated

/// Raw deflate of `header` followed by `pieces` x kPiece zero bytes, built without holding the
/// zeros: a full flush ends each piece byte-aligned with the compressor's history reset, so the
/// deflate bytes of one zero piece are valid again after themselves.
QByteArray deflatedZeros(const QByteArray& header, uint64_t pieces)
{
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    auto run = [&](const QByteArray& in, int flush) {
        QByteArray out(qsizetype(deflateBound(&zs, uLong(in.size())) + 64), '\0');
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.constData()));
        zs.avail_in = uInt(in.size());
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = uInt(out.size());
        deflate(&zs, flush);
        out.resize(out.size() - qsizetype(zs.avail_out));
        return out;
    };
    QByteArray stream = run(header, Z_FULL_FLUSH);
    const QByteArray piece = run(QByteArray(qsizetype(kPiece), '\0'), Z_FULL_FLUSH);
    stream.reserve(stream.size() + piece.size() * qsizetype(pieces) + 16);
    for (uint64_t i = 0; i < pieces; ++i)
        stream.append(piece);
    stream.append(run(QByteArray(), Z_FINISH));
    deflateEnd(&zs);
    return stream;
}

/// CRC-32 of `header` then `pieces` x kPiece zero bytes.
uint32_t crcOfZeros(const QByteArray& header, uint64_t pieces)
{
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(header.constData()), uInt(header.size()));
    const QByteArray zeros(qsizetype(kPiece), '\0');
    const uLong pieceCrc = crc32(0, reinterpret_cast<const Bytef*>(zeros.constData()), uInt(zeros.size()));
    for (uint64_t i = 0; i < pieces; ++i)
        crc = crc32_combine(crc, pieceCrc, z_off_t(kPiece));
    return uint32_t(crc);
}

} // namespace

class TestNpzMemory : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

private slots:
    void statsOfAMemberLargerThanTheAddressSpaceLimit();
};

void TestNpzMemory::statsOfAMemberLargerThanTheAddressSpaceLimit()
{
    const uint64_t dataBytes = kRows * kCols * 4, pieces = dataBytes / kPiece;
    QVERIFY(dataBytes > kLimitBytes); // inflating it into one buffer cannot fit under the limit
    const QByteArray header =
        npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 1048576), }", QByteArray());
    ZipEntry e{"w.npy", deflatedZeros(header, pieces), true, true, uint64_t(header.size()) + dataBytes,
               crcOfZeros(header, pieces)};
    const QString path = m_dir.filePath("zeros.npz");
    QVERIFY(writeFile(path, zipArchive({e})));

    QProcess p;
    p.start("/bin/sh", {"-c", QString("ulimit -v %1 && exec \"$0\" inspect \"$1\" --stats --json").arg(kLimitBytes / 1024),
                        QS_CLI_PATH, path});
    QVERIFY(p.waitForFinished(300000));
    const QByteArray err = p.readAllStandardError();
    QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, err.constData());
    const auto tensors = QJsonDocument::fromJson(p.readAllStandardOutput()).object()["tensors"].toArray();
    QCOMPARE(tensors.size(), 1);
    const auto t = tensors[0].toObject();
    QCOMPARE(t["shape"].toArray(), QJsonArray({768, 1048576}));
    const auto s = t["stats"].toObject();
    // Every value is +0.0: count = zeros = 768 * 2^20, min = max = mean = std = 0.
    QCOMPARE(s["count"].toDouble(), double(kRows * kCols));
    QCOMPARE(s["zeros"].toDouble(), double(kRows * kCols));
    QCOMPARE(s["min"].toDouble(), 0.0);
    QCOMPARE(s["max"].toDouble(), 0.0);
    QCOMPARE(s["mean"].toDouble(), 0.0);
    QCOMPARE(s["std"].toDouble(), 0.0);
    QCOMPARE(s["nan"].toInt(), 0);
}

QTEST_GUILESS_MAIN(TestNpzMemory)
#include "tst_npz_memory.moc"
