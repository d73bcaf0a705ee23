// Calibration activations from .npy files: pipeline opens them with io, quant turns the array
// into layer inputs. The files are written here byte by byte from the .npy layout.
#include "pipeline/calibration_files.h"

#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace qs;
using pipeline::loadCalibrationNpy;

namespace {

std::string writeFile(const QTemporaryDir& dir, const std::string& name, const std::vector<char>& d)
{
    const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
    std::ofstream out(path, std::ios::binary);
    out.write(d.data(), std::streamsize(d.size()));
    return path;
}

std::vector<char> npyFile(const std::string& descr, const std::string& shape,
                          const std::vector<char>& raw)
{
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    const size_t total = 10 + header.size() + 1;
    header += std::string((64 - total % 64) % 64, ' ') + "\n";
    std::vector<char> out = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
    const uint16_t len = uint16_t(header.size());
    out.push_back(char(len & 0xff));
    out.push_back(char(len >> 8));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), raw.begin(), raw.end());
    return out;
}

std::vector<char> floatBytes(const std::vector<float>& v)
{
    std::vector<char> out(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
    return out;
}

} // namespace

class TestCalibrationFiles : public QObject {
    Q_OBJECT
private slots:
    void npyCalibration();
    void npyHigherRankAndIntegers();
    void npyWrongFeatureCount();

private:
    QTemporaryDir m_dir;
};

void TestCalibrationFiles::npyCalibration()
{
    const std::vector<float> x = {1, 2, 3, 4, -1, 0, 3, 2, 1, -2, 0, 0};
    const std::string path = writeFile(m_dir, "calib.npy", npyFile("<f4", "(3, 4)", floatBytes(x)));
    auto c = loadCalibrationNpy(path, 4);
    QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
    QCOMPARE(c->x.rows, 3);
    QCOMPARE(c->x.cols, 4);
    QCOMPARE(c->x.data, x);
    // Mean of squares per column, by hand: (1+1+1)/3, (4+0+4)/3, (9+9+0)/3, (16+4+0)/3.
    const std::vector<float> imp = {1.0f, 8.0f / 3, 6.0f, 20.0f / 3};
    QCOMPARE(c->importance.size(), imp.size());
    for (size_t i = 0; i < imp.size(); ++i)
        QCOMPARE(c->importance[i], imp[i]);
    QVERIFY(c->source.find("3 rows") != std::string::npos);
}

void TestCalibrationFiles::npyHigherRankAndIntegers()
{
    std::vector<char> raw;
    for (int16_t v = -6; v < 6; ++v) {
        raw.push_back(char(uint16_t(v) & 0xff));
        raw.push_back(char(uint16_t(v) >> 8));
    }
    const std::string path = writeFile(m_dir, "calib3.npy", npyFile("<i2", "(2, 3, 2)", raw));
    auto c = loadCalibrationNpy(path, 2);
    QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
    QCOMPARE(c->x.rows, 6);
    QCOMPARE(c->x.cols, 2);
    QCOMPARE(c->x.data.front(), -6.0f);
    QCOMPARE(c->x.data.back(), 5.0f);
}

void TestCalibrationFiles::npyWrongFeatureCount()
{
    const std::string path = writeFile(
        m_dir, "calib5.npy", npyFile("<f4", "(2, 5)", floatBytes(std::vector<float>(10, 1))));
    auto c = loadCalibrationNpy(path, 4);
    QVERIFY(!c.ok());
    QCOMPARE(int(c.error().code), int(core::ErrorCode::InvalidArgument));
    const std::string& m = c.error().message;
    QVERIFY2(m.rfind(path, 0) == 0, m.c_str());
    QVERIFY2(m.find("5 features") != std::string::npos, m.c_str());
    QVERIFY2(m.find("4 input features") != std::string::npos, m.c_str());

    const std::string empty = writeFile(m_dir, "calib0.npy", npyFile("<f4", "(0, 4)", {}));
    auto none = loadCalibrationNpy(empty, 4);
    QVERIFY(!none.ok());
    QVERIFY2(none.error().message.find("no rows") != std::string::npos,
             none.error().message.c_str());
}

QTEST_GUILESS_MAIN(TestCalibrationFiles)
#include "tst_calibration_files.moc"
