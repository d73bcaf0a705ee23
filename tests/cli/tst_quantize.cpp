// quantscope-cli quantize: metrics of a hand-made layer against values computed here.
#include "cli_helpers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <utility>

using namespace clitest;

namespace {

const float kW[8] = {1, 2, 3, 4, -0.5f, 0.25f, 0, 1};

/// int8 per-channel by hand: row scale = absmax / 127, q = round(w / scale) * scale (in float);
/// returns {sum of squared errors, sum of squared weights}.
std::pair<double, double> int8ErrorByHand()
{
    double se = 0, ss = 0;
    for (int r0 = 0; r0 < 2; ++r0) {
        const float scale = (r0 == 0 ? 4.0f : 1.0f) / 127.0f;
        for (int c = 0; c < 4; ++c) {
            const float x = kW[r0 * 4 + c];
            const float q = std::nearbyint(x * (1.0f / scale)) * scale;
            se += double(x - q) * double(x - q);
            ss += double(x) * double(x);
        }
    }
    return {se, ss};
}

QJsonObject jsonOf(const Run& r) { return QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object(); }

void writeText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

} // namespace

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
        const auto [se, ss] = int8ErrorByHand();
        const auto m = j["metrics"].toObject();
        QVERIFY(std::abs(m["mse"].toDouble() - se / 8) <= 1e-6 * (se / 8) + 1e-15);
        QVERIFY(std::abs(m["sqnr_db"].toDouble() - 10 * std::log10(ss / se)) < 0.05);
        // 8 codes of 8 bits + 2 row scales of 32 bits = 128 bits over 8 weights.
        QCOMPARE(j["bits_per_weight"].toDouble(), 16.0);
        QCOMPARE(j["bytes"].toInt(), 16);
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
        // w [2, 4] as above plus a bias b [2], which --all keeps as it is.
        const std::string model = m_dir.filePath("wb.safetensors").toStdString();
        writeSafetensors(model, R"({"w":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[32,40]}})",
                         floatsBytes({1, 2, 3, 4, -0.5f, 0.25f, 0, 1, 7, 8}));
        const Run r = runCli({"quantize", model, "--all", "--scheme", "int8", "--json"});
        QCOMPARE(r.code, 0);
        const auto totals = jsonOf(r)["totals"].toObject();
        // By hand: 8 + 2 parameters; before 40 bytes; after 8 codes + 2 f32 scales + the
        // untouched 8-byte bias = 24 bytes, i.e. 24 * 8 / 10 = 19.2 bits per parameter.
        QCOMPARE(totals["parameters"].toInt(), 10);
        QCOMPARE(totals["quantized_parameters"].toInt(), 8);
        QCOMPARE(totals["bytes_before"].toInt(), 40);
        QCOMPARE(totals["bytes"].toInt(), 24);
        QCOMPARE(totals["average_bits"].toDouble(), 19.2);
        QCOMPARE(totals["exact_tensors"].toInt(), 0);
        QCOMPARE(totals["failed_tensors"].toInt(), 0);
        const auto [se, ss] = int8ErrorByHand(); // the only quantized tensor: its own SQNR
        QVERIFY(std::abs(totals["weighted_sqnr_db"].toDouble() - 10 * std::log10(ss / se)) < 0.05);
    }
    void allRefusesWhatCannotApply_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("calib") << QStringList{"--all", "--calib", "x.npy"} << "--calib holds the input activations of one layer";
        QTest::newRow("bad backend") << QStringList{"--tensor", "w", "--backend", "cuda"} << "unknown backend 'cuda': valid are reference, onednn";
        QTest::newRow("plan without all") << QStringList{"--tensor", "w", "--plan", "p.json"} << "--plan requires --all";
        QTest::newRow("tensor and all") << QStringList{"--tensor", "w", "--all"} << "excludes";
        QTest::newRow("neither") << QStringList{} << "quantize needs --tensor NAME or --all";
        QTest::newRow("two calibrations") << QStringList{"--tensor", "w", "--imatrix", "i", "--synthetic", "4"} << "excludes";
        QTest::newRow("synthetic zero") << QStringList{"--all", "--synthetic", "0"} << "--synthetic";
        QTest::newRow("unknown option") << QStringList{"--all", "--frobnicate"} << "--frobnicate";
        QTest::newRow("bad clip") << QStringList{"--all", "--clip", "p200"} << "unknown clip 'p200'";
    }
    void allRefusesWhatCannotApply()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        std::vector<std::string> a = {"quantize", m_model};
        for (const auto& s : args) a.push_back(s.toStdString());
        const Run r = runCli(a);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.rfind("error: ", 0) == 0, r.err.c_str());
        QVERIFY2(r.err.find(message.toStdString()) != std::string::npos, r.err.c_str());
        QVERIFY(r.out.empty());
    }
    void allRunsOnTheChosenBackend()
    {
        // int8 per channel is what oneDNN quantizes (a reorder): every tensor runs there.
        Run r = runCli({"quantize", m_model, "--all", "--backend", "onednn", "--json"});
        QCOMPARE(r.code, 0);
        QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        QCOMPARE(j["backend"].toString(), QString("onednn"));
        QVERIFY(j["backend_path"].toString().contains("oneDNN"));
        // oneDNN has no int4 kernel: the tensor fails with the backend's reason, exit status 1.
        r = runCli({"quantize", m_model, "--all", "--backend", "onednn", "--scheme", "int4", "--json"});
        QCOMPARE(r.code, 1);
        j = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        QCOMPARE(j["failed"].toArray().size(), 1);
        QVERIFY2(j["failed"].toArray()[0].toObject()["error"].toString().contains("not supported by onednn"), r.out.c_str());
    }
    void planDefaultsGiveWayToTheCommandLine()
    {
        const std::string plan = m_dir.filePath("plan.json").toStdString();
        writeText(plan, R"({"scheme": "int4", "clip": "mse", "overrides": [{"match": "x*", "scheme": "int2"}]})");
        Run r = runCli({"quantize", m_model, "--all", "--plan", plan, "--json"});
        QCOMPARE(r.code, 0);
        QCOMPARE(jsonOf(r)["tensors"].toArray()[0].toObject()["scheme"].toString(), QString("int4"));
        r = runCli({"quantize", m_model, "--all", "--plan", plan, "--scheme", "int8", "--clip", "minmax", "--json"});
        QCOMPARE(r.code, 0);
        const auto row = jsonOf(r)["tensors"].toArray()[0].toObject();
        QCOMPARE(row["scheme"].toString(), QString("int8"));
        // int8 per channel with min-max clipping: the hand result of int8PerChannelByHand.
        const auto [se, ss] = int8ErrorByHand();
        QVERIFY(std::abs(row["metrics"].toObject()["mse"].toDouble() - se / 8) <= 1e-6 * (se / 8) + 1e-15);
        // An override still wins over a command-line default for the tensors it matches.
        writeText(plan, R"({"scheme": "int4", "overrides": [{"match": "w", "scheme": "int6"}]})");
        r = runCli({"quantize", m_model, "--all", "--plan", plan, "--scheme", "int8", "--json"});
        QCOMPARE(r.code, 0);
        QCOMPARE(jsonOf(r)["tensors"].toArray()[0].toObject()["scheme"].toString(), QString("int6"));
    }
    void badPlanFileNamesTheKey()
    {
        const std::string plan = m_dir.filePath("bad.json").toStdString();
        writeText(plan, R"({"scheme": "int8", "overrides": [{"match": "w", "skip": "yes"}]})");
        const Run r = runCli({"quantize", m_model, "--all", "--plan", plan});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.find("error: " + plan + ": override 0: \"skip\" must be true or false") == 0, r.err.c_str());
    }
    void failedTensorsExitOneAndAreListed()
    {
        const Run r = runCli({"quantize", m_model, "--all", "--method", "gptq", "--json"});
        QCOMPARE(r.code, 1);
        const auto j = jsonOf(r);
        QCOMPARE(j["totals"].toObject()["failed_tensors"].toInt(), 1);
        QCOMPARE(j["failed"].toArray()[0].toObject()["tensor"].toString(), QString("w"));
        QVERIFY2(r.err.find("1 tensor(s) could not be quantized") != std::string::npos, r.err.c_str());
        QVERIFY2(r.err.find("  w: gptq needs calibration activations") != std::string::npos, r.err.c_str());
    }
    void allCalibratesEachTensor()
    {
        Run r = runCli({"quantize", m_model, "--all", "--method", "gptq", "--synthetic", "16", "--json"});
        QCOMPARE(r.code, 0);
        auto row = jsonOf(r)["tensors"].toArray()[0].toObject();
        QCOMPARE(row["method"].toString(), QString("gptq"));
        QCOMPARE(row["status"].toString(), QString("quantized"));
        // A llama.cpp imatrix written by hand: one entry "w" (ncall 1, 4 values), 1 chunk.
        const std::string imatrix = m_dir.filePath("w.imatrix").toStdString();
        {
            std::ofstream f(imatrix, std::ios::binary);
            auto i32 = [&](int32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
            i32(1);
            i32(1);
            f << "w";
            i32(1);
            i32(4);
            for (float v : {1.0f, 2.0f, 3.0f, 4.0f}) f.write(reinterpret_cast<const char*>(&v), 4);
            i32(1);
            i32(4);
            f << "test";
        }
        r = runCli({"quantize", m_model, "--all", "--method", "awq", "--imatrix", imatrix, "--json"});
        QCOMPARE(r.code, 0);
        row = jsonOf(r)["tensors"].toArray()[0].toObject();
        QCOMPARE(row["method"].toString(), QString("awq"));
        QCOMPARE(row["status"].toString(), QString("quantized"));
    }
    void helpOnEveryCommand_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("top") << QStringList{"--help"} << "quantize";
        QTest::newRow("inspect") << QStringList{"inspect", "--help"} << "--bins";
        QTest::newRow("quantize") << QStringList{"quantize", "--help"} << "--synthetic";
        QTest::newRow("quantize -h") << QStringList{"quantize", "-h"} << "--plan";
    }
    void helpOnEveryCommand()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, mentions);
        std::vector<std::string> a;
        for (const auto& s : args) a.push_back(s.toStdString());
        const Run r = runCli(a);
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.find(mentions.toStdString()) != std::string::npos, r.out.c_str());
        QVERIFY(r.err.empty());
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
