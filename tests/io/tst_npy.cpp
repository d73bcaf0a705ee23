// .npy and .npz reading: files written here from numpy's format description (magic
// "\x93NUMPY", version, header length, dict literal padded to 64 bytes, data) and zip
// archives built here (local headers, central directory, zip64 records, zlib raw deflate).
// Expected values are the numbers the test stored.
#include "stnpy_helpers.h"

#include "core/stats.h"
#include "io/modelreader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>

using namespace qs;
using namespace qs::stnpytest;

namespace {

template <class T> QByteArray bytesOf(std::initializer_list<T> values)
{
    QByteArray b;
    for (T v : values) {
        char raw[sizeof(T)];
        std::memcpy(raw, &v, sizeof(T)); // little-endian host, as '<' descrs say
        b.append(raw, sizeof(T));
    }
    return b;
}

std::vector<float> floatsOf(const QByteArray& b)
{
    std::vector<float> v(size_t(b.size()) / sizeof(float));
    std::memcpy(v.data(), b.constData(), v.size() * sizeof(float));
    return v;
}

/// 3 x 4 floats i * 0.25 - 1: what the npz members hold.
QByteArray gridValues()
{
    QByteArray b;
    for (int i = 0; i < 12; ++i) {
        const float v = float(i) * 0.25f - 1.0f;
        b.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    return b;
}

const std::string kGridDict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";

} // namespace

class TestNpy : public QObject {
    Q_OBJECT

private slots:
    void npyFiles_data();
    void npyFiles();
    void npyOffsetIsAligned();
    void npz_data();
    void npz();
    void npzDeflatedLargeMember();
    void npzFortranMember_data();
    void npzFortranMember();

private:
    QTemporaryDir m_dir;
};

void TestNpy::npyFiles_data()
{
    QTest::addColumn<int>("major");
    QTest::addColumn<QString>("dict");
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QList<qint64>>("shape");
    QTest::addColumn<QList<float>>("expected");

    auto row = [](const char* name, int major, const char* dict, QByteArray data, core::DType t,
                  QList<qint64> shape, QList<float> expected) {
        QTest::newRow(name) << major << QString(dict) << data << int(t) << shape << expected;
    };
    const std::vector<float> grid = floatsOf(gridValues());
    row("v1 f4 3x4", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", gridValues(),
        core::DType::F32, {3, 4}, QList<float>(grid.begin(), grid.end()));
    row("v2 i2", 2, "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
        bytesOf<int16_t>({-300, 0, 7}), core::DType::I16, {3}, {-300.0f, 0.0f, 7.0f});
    row("v3 f8 scalar", 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
        bytesOf<double>({-0.125}), core::DType::F64, {}, {-0.125f});
    // f16 0x3C00 = 1, 0xB800 = -0.5 (sign, exponent 14 - 15)
    row("v1 f2 no spaces", 1, "{'descr':'<f2','fortran_order':False,'shape':(2,)}",
        bytesOf<uint16_t>({0x3C00, 0xB800}), core::DType::F16, {2}, {1.0f, -0.5f});
    row("v1 u1 key order", 1, "{'shape': (2, 1), 'fortran_order': False, 'descr': '|u1'}",
        bytesOf<uint8_t>({200, 3}), core::DType::U8, {2, 1}, {200.0f, 3.0f});
    row("v1 b1", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
        bytesOf<uint8_t>({1, 0}), core::DType::BOOL, {2}, {1.0f, 0.0f});
    row("v1 i1", 1, "{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }",
        bytesOf<int8_t>({-100}), core::DType::I8, {1}, {-100.0f});
    row("v1 i8 u4", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
        bytesOf<int64_t>({-(int64_t(1) << 33)}), core::DType::I64, {1}, {-8589934592.0f});
    row("v1 empty", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", QByteArray(),
        core::DType::F32, {0, 5}, {});
    // Fortran order: the first axis varies fastest in the file. [[1, 2, 3], [4, 5, 6]] is
    // stored column by column as 1 4 2 5 3 6 (what numpy writes for a transposed array).
    row("v1 f4 2x3 fortran", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
        bytesOf<float>({1, 4, 2, 5, 3, 6}), core::DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
    // a[i][j][k] = 100 i + 10 j + k, stored with i fastest, then j, then k.
    row("v1 i2 2x3x2 fortran", 1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 2), }",
        bytesOf<int16_t>({0, 100, 10, 110, 20, 120, 1, 101, 11, 111, 21, 121}), core::DType::I16, {2, 3, 2},
        {0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121});
    row("v1 f4 1-D fortran", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }",
        bytesOf<float>({7, 8, 9}), core::DType::F32, {3}, {7, 8, 9});
}

void TestNpy::npyFiles()
{
    QFETCH(int, major);
    QFETCH(QString, dict);
    QFETCH(QByteArray, data);
    QFETCH(int, dtype);
    QFETCH(QList<qint64>, shape);
    QFETCH(QList<float>, expected);

    const QString p =
        m_dir.filePath(QString("arr_%1.npy").arg(QTest::currentDataTag()).replace(' ', '_'));
    QVERIFY(writeFile(p, npyFile(major, dict.toStdString(), data)));
    auto m = io::openModel(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->format, std::string("npy"));
    QCOMPARE(m->tensors.size(), size_t(1));
    const core::TensorInfo& t = m->tensors[0];
    QCOMPARE(QString::fromStdString(t.name), QFileInfo(p).completeBaseName());
    QCOMPARE(int(t.dtype), dtype);
    QCOMPARE(t.shape, std::vector<int64_t>(shape.begin(), shape.end()));
    QCOMPARE(t.bytes, uint64_t(data.size()));
    bool ok = false;
    const auto values = readValues(t, &ok);
    QVERIFY(ok);
    QCOMPARE(QList<float>(values.begin(), values.end()), expected);
}

void TestNpy::npyOffsetIsAligned()
{
    const QString p = m_dir.filePath("weights.npy");
    QVERIFY(writeFile(p, npyFile(1, kGridDict, gridValues())));
    auto m = io::readNpy(p.toStdString());
    QVERIFY(m.ok());
    // 10-byte prefix + the 59-character dict + '\n' is 70 bytes, padded to the next multiple of 64
    QCOMPARE(m->tensors[0].offset, uint64_t(128));
    QCOMPARE(m->tensors[0].typeName, std::string("<f4"));
    QCOMPARE(m->tensors[0].outAxis, 0);
    QCOMPARE(m->tensors[0].inAxis, 1);
}

void TestNpy::npz_data()
{
    QTest::addColumn<bool>("deflate");
    QTest::addColumn<bool>("zip64");
    QTest::newRow("stored") << false << false;
    QTest::newRow("deflated") << true << false;
    QTest::newRow("stored zip64") << false << true;
    QTest::newRow("deflated zip64") << true << true;
}

void TestNpy::npz()
{
    QFETCH(bool, deflate);
    QFETCH(bool, zip64);
    const QByteArray grid = npyFile(1, kGridDict, gridValues());
    const QByteArray bias = npyFile(2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                                    bytesOf<int32_t>({-1, 65536}));
    std::vector<ZipEntry> entries = {{"fc.weight.npy", grid, deflate},
                                     {"readme.txt", "not an array", deflate},
                                     {"fc.bias.npy", bias, deflate}};
    const QString p = m_dir.filePath(QString("arrays_%1_%2.npz").arg(deflate).arg(zip64));
    QVERIFY(writeFile(p, zipArchive(entries, zip64)));
    auto m = io::openModel(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->format, std::string("npz"));
    QCOMPARE(m->tensors.size(), size_t(2)); // the .txt member is not an array
    const core::TensorInfo* w = m->find("fc.weight");
    const core::TensorInfo* b = m->find("fc.bias");
    QVERIFY(w && b);
    QCOMPARE(w->shape, (std::vector<int64_t>{3, 4}));
    QCOMPARE(w->layer, std::string("fc"));
    QCOMPARE(b->dtype, core::DType::I32);
    QCOMPARE(w->storage->isMapped(), !deflate);
    bool ok = false;
    QCOMPARE(readValues(*w, &ok), floatsOf(gridValues()));
    QVERIFY(ok);
    QCOMPARE(readValues(*b, &ok), (std::vector<float>{-1.0f, 65536.0f}));
    QVERIFY(ok);
    // Statistics read deflated members as a stream: i * 0.25 - 1 for i = 0..11 has min -1,
    // max 1.75 and mean (0.25 * 66 - 12) / 12 = 0.375.
    auto s = core::computeStats(*w);
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    QCOMPARE(s->count, uint64_t(12));
    QCOMPARE(s->min, -1.0);
    QCOMPARE(s->max, 1.75);
    QVERIFY(std::abs(s->mean - 0.375) < 1e-12);
}

void TestNpy::npzDeflatedLargeMember()
{
    // 300 000 floats (1.2 MB): more than the 64 KiB header probe, so the open reads a prefix
    // and the first read inflates the rest.
    QByteArray data;
    for (int i = 0; i < 300000; ++i) {
        const float v = float(i % 1000) - 500.0f;
        data.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    const QByteArray arr =
        npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (300, 1000), }", data);
    const QString p = m_dir.filePath("large.npz");
    QVERIFY(writeFile(p, zipArchive({{"big.npy", arr, true}})));
    auto m = io::readNpz(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    const core::TensorInfo& t = m->tensors.at(0);
    QCOMPARE(t.bytes, uint64_t(data.size()));
    bool ok = false;
    const auto values = readValues(t, &ok);
    QVERIFY(ok);
    QCOMPARE(values.size(), size_t(300000));
    QCOMPARE(values[0], -500.0f);
    QCOMPARE(values[1999], 499.0f);
    QCOMPARE(values[299999], 499.0f);
    QCOMPARE(values, floatsOf(data));
}

void TestNpy::npzFortranMember_data()
{
    QTest::addColumn<bool>("deflate");
    QTest::newRow("stored") << false;
    QTest::newRow("deflated") << true;
}

void TestNpy::npzFortranMember()
{
    QFETCH(bool, deflate);
    // [[1, 2], [3, 4], [5, 6]] (3 x 2) stored column by column: 1 3 5 2 4 6.
    const QByteArray arr = npyFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }",
                                   bytesOf<float>({1, 3, 5, 2, 4, 6}));
    const QString p = m_dir.filePath(QString("fortran_%1.npz").arg(deflate));
    QVERIFY(writeFile(p, zipArchive({{"w.npy", arr, deflate}})));
    auto m = io::openModel(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    const core::TensorInfo& t = m->tensors.at(0);
    QCOMPARE(t.shape, (std::vector<int64_t>{3, 2}));
    bool ok = false;
    QCOMPARE(readValues(t, &ok), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    QVERIFY(ok);
}

QTEST_GUILESS_MAIN(TestNpy)
#include "tst_npy.moc"
