// Calibration loading: llama.cpp imatrix files and .npy layer inputs written byte by byte by
// the test, and the synthetic generator. Expected values are written out by hand here.
#include "quant/calibration.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace qs;
using namespace qs::quant;

namespace {

/// Little-endian byte builder for hand-written files.
struct Bytes {
    std::vector<char> data;
    Bytes& u32(uint32_t v)
    {
        for (int i = 0; i < 4; ++i)
            data.push_back(char((v >> (8 * i)) & 0xffu));
        return *this;
    }
    Bytes& i32(int32_t v) { return u32(uint32_t(v)); }
    Bytes& f32(float v)
    {
        uint32_t bits = 0;
        std::memcpy(&bits, &v, 4);
        return u32(bits);
    }
    Bytes& str(const std::string& s)
    {
        for (char ch : s)
            data.push_back(ch);
        return *this;
    }
};

std::string writeFile(const QTemporaryDir& dir, const std::string& name, const std::vector<char>& d)
{
    const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
    std::ofstream out(path, std::ios::binary);
    out.write(d.data(), std::streamsize(d.size()));
    return path;
}

/// Two entries as llama-imatrix writes them: sums of x^2 scaled to ncall calls.
Bytes imatrixFile(bool trailer, int64_t* entriesEnd = nullptr)
{
    Bytes b;
    b.i32(2);
    b.i32(19).str("blk.0.attn_q.weight").i32(2).i32(4).f32(2).f32(4).f32(6).f32(8);
    b.i32(17).str("blk.0.ffn_down.wt").i32(4).i32(2).f32(4).f32(1);
    if (entriesEnd) *entriesEnd = int64_t(b.data.size());
    if (trailer) b.i32(10).i32(8).str("wiki.txt");
    return b;
}

/// A version 1.0 .npy with the given descr/shape text and raw data, header padded to 64.
} // namespace

class TestCalibration : public QObject {
    Q_OBJECT

private slots:
    void imatrixReadsEntry_data();
    void imatrixReadsEntry();
    void imatrixTruncatedFails();
    void imatrixBadCountsFail_data();
    void imatrixBadCountsFail();
    void imatrixWrongEntryOrSize();
    void syntheticIsSeededWithOutliers();

private:
    QTemporaryDir m_dir;
};

void TestCalibration::imatrixReadsEntry_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("features");
    QTest::addColumn<std::vector<float>>("expected");
    QTest::addColumn<bool>("trailer");
    // Stored values divided by ncall: {2,4,6,8} / 2 and {4,1} / 4.
    QTest::newRow("first") << "blk.0.attn_q.weight" << 4 << std::vector<float>{1, 2, 3, 4} << true;
    QTest::newRow("second") << "blk.0.ffn_down.wt" << 2 << std::vector<float>{1, 0.25f} << true;
    QTest::newRow("no trailer") << "blk.0.ffn_down.wt" << 2 << std::vector<float>{1, 0.25f}
                                << false;
}

void TestCalibration::imatrixReadsEntry()
{
    QFETCH(QString, name);
    QFETCH(int, features);
    QFETCH(std::vector<float>, expected);
    QFETCH(bool, trailer);
    const std::string path = writeFile(m_dir, "ok.imatrix", imatrixFile(trailer).data);
    auto c = loadImatrix(path, name.toStdString(), features);
    QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
    QVERIFY(!c->hasActivations());
    QCOMPARE(c->importance, expected);
    QVERIFY(c->source.find("imatrix") != std::string::npos);
    QVERIFY(c->source.find(name.toStdString()) != std::string::npos);
    QCOMPARE(c->source.find("wiki.txt") != std::string::npos, trailer);
}

void TestCalibration::imatrixTruncatedFails()
{
    int64_t entriesEnd = 0;
    const Bytes full = imatrixFile(true, &entriesEnd);
    // Every cut inside the entries must fail with the path in the message, never read past.
    for (int64_t cut = 1; cut < entriesEnd; ++cut) {
        std::vector<char> d(full.data.begin(), full.data.begin() + cut);
        const std::string path = writeFile(m_dir, "cut.imatrix", d);
        auto c = loadImatrix(path, "blk.0.ffn_down.wt", 2);
        QVERIFY2(!c.ok(), std::to_string(cut).c_str());
        QVERIFY(c.error().message.rfind(path, 0) == 0);
    }
    auto c = loadImatrix(writeFile(m_dir, "cut.imatrix",
                                   std::vector<char>(full.data.begin(), full.data.begin() + 30)),
                         "blk.0.attn_q.weight", 4);
    QVERIFY(!c.ok());
    QCOMPARE(int(c.error().code), int(core::ErrorCode::Truncated));
}

void TestCalibration::imatrixBadCountsFail_data()
{
    QTest::addColumn<std::vector<char>>("bytes");
    QTest::addColumn<QString>("expected");
    QTest::newRow("zero entries") << Bytes().i32(0).i32(0).i32(0).data << "entry count 0";
    QTest::newRow("count 2^31-1") << Bytes().i32(0x7fffffff).i32(1).str("a").i32(1).i32(0).data
                                  << "entry count 2147483647";
    QTest::newRow("name length 2^31-1")
        << Bytes().i32(1).i32(0x7fffffff).i32(0).i32(0).data << "name length 2147483647";
    QTest::newRow("negative name length")
        << Bytes().i32(1).i32(-5).i32(0).i32(0).data << "name length -5";
    QTest::newRow("negative nval")
        << Bytes().i32(1).i32(1).str("a").i32(1).i32(-1).data << "-1 values";
    QTest::newRow("nval 2^30") << Bytes().i32(1).i32(1).str("a").i32(1).i32(1 << 30).f32(1).data
                               << "1073741824 values";
}

void TestCalibration::imatrixBadCountsFail()
{
    QFETCH(std::vector<char>, bytes);
    QFETCH(QString, expected);
    const std::string path = writeFile(m_dir, "bad.imatrix", bytes);
    auto c = loadImatrix(path, "a", 1);
    QVERIFY(!c.ok());
    QVERIFY2(c.error().message.find(expected.toStdString()) != std::string::npos,
             c.error().message.c_str());
    QVERIFY(c.error().message.rfind(path, 0) == 0);
}

void TestCalibration::imatrixWrongEntryOrSize()
{
    const std::string path = writeFile(m_dir, "ok2.imatrix", imatrixFile(true).data);
    auto missing = loadImatrix(path, "blk.9.attn_q.weight", 4);
    QVERIFY(!missing.ok());
    QCOMPARE(int(missing.error().code), int(core::ErrorCode::InvalidArgument));
    QVERIFY(missing.error().message.find("blk.9.attn_q.weight") != std::string::npos);
    auto size = loadImatrix(path, "blk.0.attn_q.weight", 8);
    QVERIFY(!size.ok());
    QVERIFY(size.error().message.find("4 values") != std::string::npos);
    QVERIFY(size.error().message.find("8 input features") != std::string::npos);
}

void TestCalibration::syntheticIsSeededWithOutliers()
{
    const Calibration a = syntheticCalibration(2000, 128, 7, 4, 20.0f);
    const Calibration b = syntheticCalibration(2000, 128, 7, 4, 20.0f);
    const Calibration other = syntheticCalibration(2000, 128, 8, 4, 20.0f);
    QCOMPARE(a.x.data, b.x.data);
    QVERIFY(a.x.data != other.x.data);
    QCOMPARE(a.x.rows, 2000);
    QCOMPARE(a.x.cols, 128);
    QVERIFY(a.source.find("synthetic") != std::string::npos);
    // Channels 0, 32, 64, 96 have variance 400, the others 1 (within sampling error: the
    // standard error of a 2000-sample variance estimate is about sqrt(2/2000) = 3%).
    for (int64_t j = 0; j < 128; ++j) {
        const double expected = j % 32 == 0 ? 400.0 : 1.0;
        QVERIFY2(std::fabs(a.importance[j] / expected - 1.0) < 0.15, std::to_string(j).c_str());
    }
    double mean = 0;
    for (float v : a.x.data)
        mean += v;
    mean /= double(a.x.data.size());
    QVERIFY(std::fabs(mean) < 0.1);
}

QTEST_APPLESS_MAIN(TestCalibration)
#include "tst_calibration.moc"
