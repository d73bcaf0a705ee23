// quantscope-cli with --backend vulkan: `quantize` gives the reference's numbers (the device's
// codes are the reference's, bit for bit, so the metrics the CLI computes from them agree to
// the last digit), GPTQ and AWQ run on the device's GEMM with the reference's output error
// within 1%, `inspect --stats` the reference's counts and extremes; without a Vulkan
// driver both say so once on stderr and run on the reference; --device is refused where it
// does not apply. Skipped (the device part) where no Vulkan driver is installed.
#include "cli_helpers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <random>

using namespace clitest;

namespace {

QJsonObject jsonOf(const std::string& out) { return QJsonDocument::fromJson(QByteArray::fromStdString(out)).object(); }

/// A 16 x 512 layer "w" of seeded normal weights with a few outliers (512: whole Q4_K blocks).
std::string writeLayer(const QTemporaryDir& dir)
{
    std::mt19937 gen(7);
    std::normal_distribution<float> normal(0.f, 0.05f);
    std::string data;
    for (int i = 0; i < 16 * 512; ++i) {
        float x = normal(gen);
        if (i % 997 == 0) x *= 40.f;
        data.append(reinterpret_cast<const char*>(&x), 4);
    }
    const std::string path = dir.filePath("layer.safetensors").toStdString();
    writeSafetensors(path, R"({"w":{"dtype":"F32","shape":[16,512],"data_offsets":[0,32768]}})", data);
    return path;
}

bool vulkanHere(QString* why)
{
    const Run r = runCli({"devices", "--json"});
    const QJsonObject j = jsonOf(r.out);
    if (!j["devices"].toArray().isEmpty()) return true;
    *why = j["none"].toString();
    return false;
}

QProcessEnvironment noDriver()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("VK_DRIVER_FILES", "/nonexistent/qs_no_driver.json");
    env.insert("VK_ICD_FILENAMES", "/nonexistent/qs_no_driver.json");
    return env;
}

/// A device_time object of a Vulkan run: dispatches ran, those with timestamps have a GPU time.
void checkDeviceTime(const QJsonObject& t)
{
    const int n = t["dispatches"].toInt(), timed = t["timed_dispatches"].toInt();
    QVERIFY2(n >= 1, qPrintable(QJsonDocument(t).toJson()));
    QVERIFY(timed >= 0 && timed <= n);
    QVERIFY(t["wall_ms"].toDouble() > 0);
    QVERIFY(timed > 0 ? t["gpu_ms"].toDouble() > 0 : t["gpu_ms"].isNull());
}

} // namespace

class TestCliVulkan : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string m_model;

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_model = writeLayer(m_dir);
        qputenv("QS_VULKAN_VALIDATION", "1");
        // The runs share a pipeline cache here (the later ones load it), not the user's.
        qputenv("QS_VULKAN_PIPELINE_CACHE", m_dir.filePath("pipelines.qspc").toUtf8());
    }

    void quantizeMatchesTheReference_data()
    {
        QTest::addColumn<QString>("scheme");
        for (const char* s : {"int8", "int4:g128:asym", "fp8_e4m3", "nf4", "mxfp4", "nvfp4", "q8_0", "q4_k"})
            QTest::newRow(s) << s;
    }
    void quantizeMatchesTheReference()
    {
        QString why;
        if (!vulkanHere(&why)) QSKIP(qPrintable(why));
        QFETCH(QString, scheme);
        const Run ref = runCli({"quantize", m_model, "--tensor", "w", "--scheme", scheme.toStdString(), "--json"});
        const Run vk = runCli({"quantize", m_model, "--tensor", "w", "--scheme", scheme.toStdString(), "--backend",
                               "vulkan", "--json"});
        QCOMPARE(ref.code, 0);
        QVERIFY2(vk.code == 0, vk.err.c_str());
        const QJsonObject a = jsonOf(ref.out), b = jsonOf(vk.out);
        QCOMPARE(b["backend"].toString(), QString("vulkan"));
        checkDeviceTime(b["device_time"].toObject());
        QVERIFY(!a.contains("device_time")); // the reference has no device
        QCOMPARE(b["bits_per_weight"].toDouble(), a["bits_per_weight"].toDouble());
        for (const char* m : {"sqnr_db", "mse", "max_abs_err", "cosine"})
            QCOMPARE(b["metrics"].toObject()[m].toDouble(), a["metrics"].toObject()[m].toDouble());
    }

    void methodsRunOnTheVulkanGemm_data()
    {
        QTest::addColumn<QString>("method");
        QTest::newRow("gptq") << "gptq";
        QTest::newRow("awq") << "awq";
    }
    void methodsRunOnTheVulkanGemm()
    {
        // GPTQ/AWQ through --backend vulkan run their GEMMs on the device, which sums in another
        // order than the reference: a weight on a rounding boundary may take the neighbouring
        // code. Criterion (tst_vk_gemm's): the output error ||X (W - Q)^T||^2 and the weight
        // MSE agree within 1%.
        QString why;
        if (!vulkanHere(&why)) QSKIP(qPrintable(why));
        QFETCH(QString, method);
        const std::vector<std::string> args{"quantize", m_model, "--tensor", "w", "--scheme", "int4:g64",
                                            "--method", method.toStdString(), "--synthetic", "64", "--json"};
        std::vector<std::string> vkArgs = args;
        vkArgs.insert(vkArgs.end(), {"--backend", "vulkan"});
        const Run ref = runCli(args);
        const Run vk = runCli(vkArgs);
        QCOMPARE(ref.code, 0);
        QVERIFY2(vk.code == 0, vk.err.c_str());
        const QJsonObject a = jsonOf(ref.out), b = jsonOf(vk.out);
        QVERIFY2(b["backend_path"].toString().contains("GEMM by Vulkan f32 GEMM shader"),
                 qPrintable(b["backend_path"].toString()));
        const double ea = a["output_error"].toDouble(), eb = b["output_error"].toDouble();
        QVERIFY(ea > 0);
        QVERIFY2(std::abs(ea - eb) <= 0.01 * ea, qPrintable(QString("%1 vs %2").arg(ea).arg(eb)));
        const double ma = a["metrics"].toObject()["mse"].toDouble(), mb = b["metrics"].toObject()["mse"].toDouble();
        QVERIFY2(std::abs(ma - mb) <= 0.01 * ma, qPrintable(QString("%1 vs %2").arg(ma).arg(mb)));
    }

    void statisticsMatchTheReference()
    {
        QString why;
        if (!vulkanHere(&why)) QSKIP(qPrintable(why));
        const Run ref = runCli({"inspect", m_model, "--bins", "16", "--json"});
        const Run vk = runCli({"inspect", m_model, "--bins", "16", "--json", "--backend", "vulkan"});
        QCOMPARE(ref.code, 0);
        QVERIFY2(vk.code == 0, vk.err.c_str());
        QVERIFY(jsonOf(vk.out)["stats_backend"].toString().startsWith("vulkan ("));
        checkDeviceTime(jsonOf(vk.out)["device_time"].toObject());
        QVERIFY(!jsonOf(ref.out).contains("device_time"));
        const QJsonObject a = jsonOf(ref.out)["tensors"].toArray()[0].toObject()["stats"].toObject();
        const QJsonObject b = jsonOf(vk.out)["tensors"].toArray()[0].toObject()["stats"].toObject();
        // Counts, extremes and the histogram are exact on the device; the moments are sums in
        // another order (within 2^-10 relative, the kernel's stated bound; far inside here).
        for (const char* k : {"count", "min", "max", "absmax", "nan", "inf", "zeros"}) QCOMPARE(b[k], a[k]);
        QCOMPARE(b["histogram"], a["histogram"]);
        for (const char* k : {"mean", "std", "kurtosis"})
            QVERIFY2(std::abs(b[k].toDouble() - a[k].toDouble()) <= 1e-3 * (std::abs(a[k].toDouble()) + a["std"].toDouble()), k);
    }

    void textReportsShowTheDeviceTime()
    {
        QString why;
        if (!vulkanHere(&why)) QSKIP(qPrintable(why));
        const QRegularExpression line("^ *device time: GPU [0-9.e+-]+ ms over [0-9]+ dispatch(es)?, wall [0-9.e+-]+ ms "
                                      "from submit to fence$",
                                      QRegularExpression::MultilineOption);
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"quantize", m_model, "--tensor", "w", "--scheme", "int4", "--backend", "vulkan"},
              std::vector<std::string>{"quantize", m_model, "--all", "--scheme", "q4_k", "--backend", "vulkan"},
              std::vector<std::string>{"inspect", m_model, "--stats", "--backend", "vulkan"}}) {
            const Run r = runCli(args);
            QVERIFY2(r.code == 0, r.err.c_str());
            QVERIFY2(line.match(QString::fromStdString(r.out)).hasMatch(), r.out.c_str());
            const Run ref = runCli({args.begin(), args.end() - 2});
            QCOMPARE(ref.code, 0);
            QVERIFY2(ref.out.find("device time") == std::string::npos, ref.out.c_str());
        }
    }

    void unusablePipelineCacheIsANote_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("note");
        QTest::newRow("garbage") << "garbage.qspc"
                                 << "note: Vulkan pipeline cache: ignored @/garbage.qspc: not a Quantscope pipeline cache "
                                    "(no QSPC magic); starting empty\n";
        QTest::newRow("unwritable") << "layer.safetensors/c.qspc"
                                    << "note: Vulkan pipeline cache: none yet at @/layer.safetensors/c.qspc (compiled "
                                       "pipelines are saved there); not saved: cannot create the directory "
                                       "@/layer.safetensors (";
    }
    void unusablePipelineCacheIsANote()
    {
        QString why;
        if (!vulkanHere(&why)) QSKIP(qPrintable(why));
        QFETCH(QString, file);
        QFETCH(QString, note);
        note.replace("@", m_dir.path());
        const QByteArray saved = qgetenv("QS_VULKAN_PIPELINE_CACHE");
        const QString path = m_dir.filePath(file);
        if (file == "garbage.qspc") {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly) && f.write(QByteArray(200, 'g')) == 200);
        }
        qputenv("QS_VULKAN_PIPELINE_CACHE", path.toUtf8());
        const Run quantize = runCli({"quantize", m_model, "--tensor", "w", "--scheme", "int8", "--backend", "vulkan"});
        const Run inspect = runCli({"inspect", m_model, "--stats", "--backend", "vulkan", "--json"});
        qputenv("QS_VULKAN_PIPELINE_CACHE", saved);
        for (const Run* run : {&quantize, &inspect}) {
            const Run& r = *run;
            QVERIFY2(r.code == 0, r.err.c_str());
            if (file == "garbage.qspc" && run == &inspect) { // the first run replaced the file
                QVERIFY2(r.err.empty(), r.err.c_str());
                continue;
            }
            QVERIFY2(QString::fromStdString(r.err).startsWith(note), r.err.c_str());
            QCOMPARE(QString::fromStdString(r.err).count("Vulkan pipeline cache"), 1); // said once
        }
    }

    void noDeviceSaysSoAndRunsOnTheReference()
    {
        for (const QStringList& args : {QStringList{"quantize", QString::fromStdString(m_model), "--tensor", "w",
                                                    "--scheme", "int4", "--backend", "vulkan", "--json"},
                                        QStringList{"inspect", QString::fromStdString(m_model), "--stats", "--json",
                                                    "--backend", "vulkan"}}) {
            QProcess p;
            p.setProcessEnvironment(noDriver());
            p.start(QS_CLI_PATH, args);
            QVERIFY(p.waitForFinished(60000));
            const QByteArray err = p.readAllStandardError();
            QCOMPARE(p.exitCode(), 0);
            QVERIFY2(err.startsWith("note: no Vulkan device: "), err.constData());
            QVERIFY2(err.contains("using the reference backend (CPU)"), err.constData());
            QCOMPARE(err.count("no Vulkan device"), 1); // said once
            const QJsonObject j = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
            QVERIFY(j["backend"].toString() == "reference" || j["stats_backend"].toString().startsWith("reference"));
        }
    }

    void deviceOptionIsHonouredOrRefused()
    {
        const Run ref = runCli({"quantize", m_model, "--tensor", "w", "--backend", "reference", "--device", "0"});
        QCOMPARE(ref.code, 2);
        QVERIFY2(ref.err.find("applies to the vulkan backend only") != std::string::npos, ref.err.c_str());
        const Run noStats = runCli({"inspect", m_model, "--backend", "vulkan"});
        QCOMPARE(noStats.code, 2);
        QVERIFY2(noStats.err.find("add --stats or --bins") != std::string::npos, noStats.err.c_str());
        const Run unknown = runCli({"inspect", m_model, "--stats", "--backend", "cuda"});
        QCOMPARE(unknown.code, 2);
        QVERIFY(unknown.err.find("unknown backend 'cuda'") != std::string::npos);
        QString why;
        if (!vulkanHere(&why)) return;
        const Run far = runCli({"inspect", m_model, "--stats", "--backend", "vulkan", "--device", "1000"});
        QCOMPARE(far.code, 2);
        QVERIFY2(far.err.find("Vulkan device index 1000 is out of range") != std::string::npos, far.err.c_str());
    }
};

QTEST_GUILESS_MAIN(TestCliVulkan)
#include "tst_cli_vulkan.moc"
