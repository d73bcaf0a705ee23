// quantscope-cli inspect: JSON shape, hand-computed statistics, exit codes and error text.
#include "cli/cli.h"

#include <QJsonArray>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <sstream>

#include "cli_helpers.h"

using namespace clitest;

class TestCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string m_model;

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_model = m_dir.filePath("tiny.safetensors").toStdString();
        // w: [2,3] = 1..6 (rows are output channels); b: [2] = {-1, 0.5}
        writeSafetensors(m_model,
                         R"({"__metadata__":{"note":"hand made"},)"
                         R"("layer.w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                         R"("layer.b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})",
                         floatsBytes({1, 2, 3, 4, 5, 6, -1, 0.5f}));
    }

    void jsonListsTensors()
    {
        auto r = runCli({"inspect", m_model, "--json"});
        QCOMPARE(r.code, 0);
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        QCOMPARE(doc["format"].toString(), QString("safetensors"));
        QCOMPARE(doc["file"].toString(), QString::fromStdString(m_model));
        QCOMPARE(doc["metadata"].toObject()["note"].toString(), QString("hand made"));
        const auto tensors = doc["tensors"].toArray();
        QCOMPARE(tensors.size(), 2);
        QJsonObject w;
        for (const auto& t : tensors)
            if (t.toObject()["name"] == "layer.w") w = t.toObject();
        QCOMPARE(w["dtype"].toString(), QString("F32"));
        QCOMPARE(w["shape"].toArray(), QJsonArray({2, 3}));
        QCOMPARE(w["bytes"].toInt(), 24);
        QCOMPARE(w["layer"].toString(), QString("layer"));
        QCOMPARE(w["out_axis"].toInt(), 0);
        QCOMPARE(w["in_axis"].toInt(), 1);
        QVERIFY(!w.contains("stats"));
    }

    void jsonStatsMatchHandCalculation()
    {
        auto r = runCli({"inspect", m_model, "--tensor", "layer.w", "--stats", "--json"});
        QCOMPARE(r.code, 0);
        const auto tensors = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object()["tensors"].toArray();
        QCOMPARE(tensors.size(), 1);
        const auto s = tensors[0].toObject()["stats"].toObject();
        // 1..6: mean 3.5, population variance 35/12, m4 = (2*(2.5^4+1.5^4+0.5^4))/6 = 14.7291666..
        const double var = 35.0 / 12.0;
        const double m4 = 2.0 * (39.0625 + 5.0625 + 0.0625) / 6.0;
        QCOMPARE(s["count"].toInt(), 6);
        QCOMPARE(s["min"].toDouble(), 1.0);
        QCOMPARE(s["max"].toDouble(), 6.0);
        QCOMPARE(s["absmax"].toDouble(), 6.0);
        QVERIFY(qAbs(s["mean"].toDouble() - 3.5) < 1e-12);
        QVERIFY(qAbs(s["std"].toDouble() - std::sqrt(var)) < 1e-12);
        QVERIFY(qAbs(s["kurtosis"].toDouble() - (m4 / (var * var) - 3.0)) < 1e-9);
        QCOMPARE(s["nan"].toInt(), 0);
        QCOMPARE(s["zeros"].toInt(), 0);
    }

    void tableShowsEveryTensor()
    {
        auto r = runCli({"inspect", m_model, "--stats", "--bins", "4"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.find("layer.w") != std::string::npos);
        QVERIFY(r.out.find("layer.b") != std::string::npos);
        QVERIFY(r.out.find("histogram of layer.w") != std::string::npos);
    }

    void badInputExitsTwo_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("problem");
        QTest::newRow("missing") << "nope.safetensors" << "no such file";
        QTest::newRow("folder without a model") << "nomodel" << "no model in this folder";
        QTest::newRow("empty") << "empty.gguf" << "empty";
    }
    void badInputExitsTwo()
    {
        QFETCH(QString, file);
        QFETCH(QString, problem);
        std::ofstream(m_dir.filePath("empty.gguf").toStdString()).flush();
        QDir(m_dir.path()).mkpath("nomodel");
        const std::string path = m_dir.filePath(file).toStdString();
        auto r = runCli({"inspect", path});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.rfind("error: " + path + ": ", 0) == 0, r.err.c_str());
        QVERIFY2(r.err.find(problem.toStdString()) != std::string::npos, r.err.c_str());
        QVERIFY(r.out.empty());
    }

    void folderOpensTheModelInside()
    {
        // A Hugging Face style folder: the one .safetensors file in it is the model.
        QTemporaryDir dir;
        QVERIFY(QFile::copy(QString::fromStdString(m_model), dir.filePath("model.safetensors")));
        std::ofstream(dir.filePath("config.json").toStdString()) << "{}";
        auto r = runCli({"inspect", dir.path().toStdString(), "--json"});
        QCOMPARE(r.code, 0);
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        QCOMPARE(doc["tensors"].toArray().size(), 2);
    }

    void unknownTensorAndUsage()
    {
        auto r = runCli({"inspect", m_model, "--tensor", "nope"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.find("no tensor named 'nope'") != std::string::npos);
        QCOMPARE(runCli({"inspect"}).code, 2);
        QCOMPARE(runCli({"inspect"}).code, 2);
        QCOMPARE(runCli({"--help"}).code, 0);
    }

    void badOptionsAreNamed_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("named");
        QTest::newRow("bins zero") << QStringList{"inspect", "M", "--bins", "0"} << "--bins";
        QTest::newRow("bins word") << QStringList{"inspect", "M", "--bins", "many"} << "--bins";
        QTest::newRow("bins missing value") << QStringList{"inspect", "M", "--bins"} << "--bins";
        QTest::newRow("unknown option") << QStringList{"inspect", "M", "--frobnicate"} << "--frobnicate";
        QTest::newRow("unknown command") << QStringList{"frobnicate"} << "frobnicate";
        QTest::newRow("no command") << QStringList{} << "subcommand";
        QTest::newRow("no file") << QStringList{"inspect"} << "FILE";
        QTest::newRow("threads zero") << QStringList{"--threads", "0", "inspect", "M"} << "--threads";
        QTest::newRow("threads word") << QStringList{"inspect", "M", "--threads", "all"} << "--threads";
    }
    void badOptionsAreNamed()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, named);
        std::vector<std::string> a;
        for (const auto& s : args) a.push_back(s == "M" ? m_model : s.toStdString());
        auto r = runCli(a);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.rfind("error: ", 0) == 0, r.err.c_str());
        QVERIFY2(r.err.find(named.toStdString()) != std::string::npos, r.err.c_str());
        QVERIFY(r.out.empty());
    }

    void unknownDtypeMarkedWithAndWithoutStats()
    {
        // "F4" (a packed 4-bit type newer than this reader) next to a readable tensor.
        const std::string path = m_dir.filePath("packed.safetensors").toStdString();
        writeSafetensors(path,
                         R"({"p":{"dtype":"F4","shape":[2,4],"data_offsets":[0,4]},)"
                         R"("f":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         std::string(4, '\x11') + floatsBytes({2}));
        for (bool stats : {false, true}) {
            std::vector<std::string> args = {"inspect", path, "--json"};
            if (stats) args.push_back("--stats");
            auto r = runCli(args);
            QCOMPARE(r.code, 0);
            const auto tensors = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object()["tensors"].toArray();
            QCOMPARE(tensors.size(), 2);
            for (const auto& v : tensors) {
                const auto t = v.toObject();
                const bool packed = t["name"].toString() == "p";
                QCOMPARE(t["supported"].toBool(), !packed);
                QCOMPARE(t["note"].toString(), packed ? QString("unsupported type F4") : QString());
                if (packed) QCOMPARE(t["dtype"].toString(), QString("F4"));
                if (stats) QCOMPARE(t["stats"].isNull(), packed);
            }
        }
    }

    void threadCountIsHonouredOrRefused()
    {
        // A separate process: the pool is sized once per process.
        QProcess p;
        p.start(QS_CLI_PATH, {"--threads", "1", "inspect", QString::fromStdString(m_model), "--stats", "--json"});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
        // QS_THREADS is read when --threads is absent; a bad value is refused, naming it.
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QS_THREADS", "lots");
        p.setProcessEnvironment(env);
        p.start(QS_CLI_PATH, {"inspect", QString::fromStdString(m_model)});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(p.readAllStandardError().contains("QS_THREADS"));
        env.insert("QS_THREADS", "1");
        p.setProcessEnvironment(env);
        p.start(QS_CLI_PATH, {"inspect", QString::fromStdString(m_model), "--stats"});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
    }
    void executableExitCodes()
    {
        QProcess p;
        p.start(QS_CLI_PATH, {"inspect", QString::fromStdString(m_model) + ".missing"});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(p.readAllStandardError().startsWith("error: "));
        p.start(QS_CLI_PATH, {"inspect", QString::fromStdString(m_model), "--json"});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(QJsonDocument::fromJson(p.readAllStandardOutput()).isObject());
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
