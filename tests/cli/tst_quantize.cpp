// quantscope-cli quantize: metrics of a hand-made layer against values computed here.
#include "cli_helpers.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace clitest;

class TestQuantizeCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string m_model;

private slots:
    void initTestCase()
    {
        m_model = m_dir.filePath("layer.safetensors").toStdString();
        // w [2, 4], rows are output channels: {1, 2, 3, 4} and {-0.5, 0.25, 0, 1}
        writeSafetensors(m_model, R"({"w":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}})",
                         floatsBytes({1, 2, 3, 4, -0.5f, 0.25f, 0, 1}));
    }
    void int8PerChannelByHand()
    {
        const Run r = runCli({"quantize", m_model, "--tensor", "w", "--scheme", "int8", "--json"});
        QCOMPARE(r.code, 0);
        const auto j = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        QCOMPARE(j["scheme"].toString(), QString("int8"));
        // Row scale = absmax / 127; q = round(w / scale), dequant = q * scale (in float).
        const float w[8] = {1, 2, 3, 4, -0.5f, 0.25f, 0, 1};
        double se = 0, ss = 0;
        for (int r0 = 0; r0 < 2; ++r0) {
            const float scale = (r0 == 0 ? 4.0f : 1.0f) / 127.0f;
            for (int c = 0; c < 4; ++c) {
                const float x = w[r0 * 4 + c];
                const float q = std::nearbyint(x * (1.0f / scale)) * scale;
                se += double(x - q) * double(x - q);
                ss += double(x) * double(x);
            }
        }
        const auto m = j["metrics"].toObject();
        QVERIFY(std::abs(m["mse"].toDouble() - se / 8) <= 1e-6 * (se / 8) + 1e-15);
        QVERIFY(std::abs(m["sqnr_db"].toDouble() - 10 * std::log10(ss / se)) < 0.05);
        QVERIFY(j["bits_per_weight"].toDouble() > 8.0); // codes plus one scale per row
    }
    void onednnBackendGivesTheSameMetrics()
    {
        const Run ref = runCli({"quantize", m_model, "--tensor", "w", "--json"});
        const Run dnn = runCli({"quantize", m_model, "--tensor", "w", "--backend", "onednn", "--json"});
        QCOMPARE(ref.code, 0);
        QCOMPARE(dnn.code, 0);
        const auto a = QJsonDocument::fromJson(QByteArray::fromStdString(ref.out)).object()["metrics"].toObject();
        const auto b = QJsonDocument::fromJson(QByteArray::fromStdString(dnn.out)).object()["metrics"].toObject();
        QCOMPARE(a["mse"].toDouble(), b["mse"].toDouble());
        const auto path = QJsonDocument::fromJson(QByteArray::fromStdString(dnn.out)).object()["backend_path"].toString();
        QVERIFY2(path.contains("oneDNN reorder"), qPrintable(path));
    }
    void backendRefusesWhatItLacks()
    {
        // oneDNN 2.6 has no int4 kernel: RTN int4 on it is refused, not run elsewhere.
        const Run r = runCli({"quantize", m_model, "--tensor", "w", "--scheme", "int4", "--backend", "onednn"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.find("not supported by onednn: quantize int4") != std::string::npos, r.err.c_str());
    }
    void badSchemeListsValidOnes()
    {
        const Run r = runCli({"quantize", m_model, "--tensor", "w", "--scheme", "int9"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.find("int8") != std::string::npos);
        const Run missing = runCli({"quantize", m_model, "--tensor", "nope"});
        QCOMPARE(missing.code, 2);
        QVERIFY(missing.err.find("no tensor named 'nope'") != std::string::npos);
    }
    void wholeModelTotals()
    {
        const Run r = runCli({"quantize", m_model, "--all", "--scheme", "int8", "--json"});
        QCOMPARE(r.code, 0);
        const auto totals = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object()["totals"].toObject();
        QCOMPARE(totals["parameters"].toInt(), 8);
        QCOMPARE(totals["bytes_before"].toInt(), 32);
    }
    void saveAndInspect()
    {
        const std::string out = m_dir.filePath("w8.safetensors").toStdString();
        const Run r = runCli({"quantize", m_model, "--tensor", "w", "--scheme", "int8", "--save", out, "--json"});
        QCOMPARE(r.code, 0);
        const auto saved = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object()["saved"].toObject();
        QCOMPARE(saved["tensors"].toInt(), 2); // w (I8 codes) and w.scale
        // By hand: codes round(w / (absmax / 127)) per row, two F32 scales.
        QCOMPARE(saved["tensor_bytes"].toInt(), 8 + 8);
        const Run inspect = runCli({"inspect", out, "--json"});
        QCOMPARE(inspect.code, 0);
        QVERIFY(inspect.out.find("\"I8\"") != std::string::npos);
        QVERIFY(inspect.out.find("w.scale") != std::string::npos);
        const Run bad = runCli({"quantize", m_model, "--all", "--scheme", "int4", "--save", m_dir.filePath("x.gguf").toStdString()});
        QCOMPARE(bad.code, 2);
        QVERIFY(bad.err.find("save it as .safetensors") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestQuantizeCli)
#include "tst_quantize.moc"
