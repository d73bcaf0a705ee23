// Saved files do not change under refactoring: every scheme the README lists, every method and
// both containers are saved from one fixed model and the SHA-256 of each file is compared with
// the hash recorded by the build before the engine was reorganised into codecs (commit
// c3611cd, 2026-12-02). The expected values come from that older code, not from the code under
// test; a changed hash means a changed file, which must be a deliberate, documented format change.
// Each case also checks that the bytes the report gives the tensor are the bytes the file holds
// for it. QS_PRINT_SAVE_HASHES=1 prints the table instead of checking the hashes.
#include "quant/quant_test_support.h"

#include "backends/backend.h"
#include "core/storage.h"
#include "io/modelreader.h"
#include "pipeline/save.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

using namespace qs;
using namespace qs::quant;
using namespace quanttest;

namespace {

/// Gaussian weights with what makes quantizers differ: an outlier input column, a row of
/// heavy-tailed values, an all-zero stretch (a whole group / block), a one-signed stretch.
std::vector<float> weights(int64_t rows, int64_t cols, uint64_t seed)
{
    std::mt19937_64 gen(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::student_t_distribution<float> heavy(2.0f);
    std::vector<float> v(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            float x = r == 2 ? 0.02f * heavy(gen) : normal(gen);
            if (c == 5) x *= 25.0f;                          // outlier input channel
            if (r == 1 && c < 64) x = 0.0f;                  // zero group / block
            if (r == 3 && c >= 32 && c < 96) x = std::fabs(x); // one-signed blocks
            v[size_t(r * cols + c)] = x;
        }
    }
    return v;
}

struct Fixture {
    core::Model model;
    Calibration calib;
};

Fixture fixture(int64_t rows, int64_t cols)
{
    Fixture f;
    const auto v = weights(rows, cols, 20261202);
    f.model.path = "hash-model.safetensors";
    f.model.format = "safetensors";
    f.model.tensors.push_back(f32Tensor("layer.weight", {rows, cols}, v));
    f.model.tensors.push_back(f32Tensor("layer.bias", {rows}, {v.begin(), v.begin() + rows}));
    f.calib = syntheticCalibration(96, cols, 7, 2, 20.0f);
    return f;
}

QByteArray sha256(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex().left(32);
}

struct Case {
    const char* scheme;
    const char* method;
    const char* ext;
    const char* hash; ///< first 128 bits of the file's SHA-256, hex
};

// Recorded with the build at c3611cd (before the codec redesign).
const Case kCases[] = {
#include "save_hashes.inc"
};

} // namespace

class TestSaveHashes : public QObject {
    Q_OBJECT
private slots:
    void savedFilesUnchanged_data();
    void savedFilesUnchanged();
};

void TestSaveHashes::savedFilesUnchanged_data()
{
    QTest::addColumn<QString>("scheme");
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("ext");
    QTest::addColumn<QByteArray>("hash");
    for (const auto& c : kCases)
        QTest::newRow((std::string(c.scheme) + " " + c.method + " " + c.ext).c_str())
            << QString(c.scheme) << QString(c.method) << QString(c.ext) << QByteArray(c.hash);
}

void TestSaveHashes::savedFilesUnchanged()
{
    QFETCH(QString, scheme);
    QFETCH(QString, method);
    QFETCH(QString, ext);
    QFETCH(QByteArray, hash);
    const bool gguf = ext == "gguf";
    // GGUF blocks need whole 256-blocks; the safetensors case uses partial groups on purpose.
    const Fixture f = gguf ? fixture(12, 512) : fixture(16, 200);

    Plan plan;
    auto s = parseScheme(scheme.toStdString());
    QVERIFY2(s, s ? "" : s.error().message.c_str());
    plan.scheme = *s;
    auto m = parseMethod(method.toStdString());
    QVERIFY(m);
    plan.method = *m;
    plan.options.spqrPercent = 2.0;
    // GPTQ and AWQ run on oneDNN's sgemm, the GEMM they always used before the codecs: the
    // same arithmetic must give the same bytes. (The reference backend's blocked GEMM sums in
    // another order; tst_backend bounds how far the two may differ.)
    auto onednn = backends::createBackend("onednn");
    QVERIFY(onednn);
    plan.options.gemm = &(*onednn)->gemm();
    ApplyOptions options;
    options.only = "layer.weight";
    options.calib = &f.calib;

    QTemporaryDir dir;
    const QString out = dir.filePath("out." + ext);
    auto r = pipeline::saveQuantizedModel(f.model, plan, out.toStdString(), options);
    QVERIFY2(r, r ? "" : r.error().message.c_str());
    // What is reported is what is stored: the bytes the report gives the tensor are the bytes
    // of its parts in the file (codes, scales, zero points, indices, outliers, smoothing).
    auto back = io::openModel(out.toStdString());
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    uint64_t stored = 0;
    for (const auto& t : back->tensors)
        if (t.name == "layer.weight" || t.name.starts_with("layer.weight.")) stored += t.bytes;
    const auto row = std::find_if(r->tensors.begin(), r->tensors.end(), [](const auto& t) { return t.name == "layer.weight"; });
    QVERIFY(row != r->tensors.end());
    QCOMPARE(row->bytesAfter, stored);
    QCOMPARE(row->bitsPerWeight, double(stored) * 8.0 / double(row->parameters));
    const QByteArray got = sha256(out);
    if (std::getenv("QS_PRINT_SAVE_HASHES")) {
        std::printf("    {\"%s\", \"%s\", \"%s\", \"%s\"},\n", qPrintable(scheme), qPrintable(method),
                    qPrintable(ext), got.constData());
        return;
    }
    QCOMPARE(got, hash);
}

QTEST_GUILESS_MAIN(TestSaveHashes)
#include "tst_save_hashes.moc"
