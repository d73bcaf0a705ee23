// quantscope-cli devices: the Vulkan devices, checked against vulkaninfo (Khronos' own tool,
// when installed) for name, API version, driver and type; "no Vulkan device" is an answer
// with exit status 0; a bad QS_VULKAN_VALIDATION is an error with exit status 2.
#include "cli/cli.h"

#include "backends/backend.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QtTest>

#include "cli_helpers.h"

using namespace clitest;

namespace {

/// One device of `vulkaninfo --summary`: its "key = value" lines.
using VulkanInfoDevice = QMap<QString, QString>;

QList<VulkanInfoDevice> vulkanInfoDevices(const QString& text)
{
    QList<VulkanInfoDevice> devices;
    static const QRegularExpression gpu("^GPU\\d+:$"), field("^\\s+(\\w+)\\s+= (.*)$");
    for (const QString& line : text.split('\n')) {
        if (gpu.match(line).hasMatch()) devices.append(VulkanInfoDevice{});
        auto m = field.match(line);
        if (m.hasMatch() && !devices.isEmpty()) devices.last()[m.captured(1)] = m.captured(2);
    }
    return devices;
}

QProcessEnvironment envWith(const QString& name, const QString& value)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(name, value);
    return env;
}

} // namespace

class TestDevices : public QObject {
    Q_OBJECT

private slots:
    void jsonAgreesWithVulkaninfo()
    {
        auto r = runCli({"devices", "--json"});
        QCOMPARE(r.code, 0);
        const QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        const QJsonArray devices = j["devices"].toArray();
        if (devices.isEmpty()) {
            QVERIFY(j["none"].toString().startsWith("no Vulkan device: "));
            QSKIP("no Vulkan device here");
        }
        int defaults = 0;
        for (const auto& d : devices)
            defaults += d.toObject()["default"].toBool() ? 1 : 0;
        QCOMPARE(defaults, 1);
        const QString tool = QStandardPaths::findExecutable("vulkaninfo");
        if (tool.isEmpty()) QSKIP("vulkaninfo (vulkan-tools) is not installed: nothing to compare with");
        QProcess p;
        p.start(tool, {"--summary"});
        QVERIFY(p.waitForFinished(60000));
        const auto expected = vulkanInfoDevices(QString::fromUtf8(p.readAllStandardOutput()));
        QCOMPARE(devices.size(), expected.size());
        static const QMap<QString, QString> types = {{"PHYSICAL_DEVICE_TYPE_CPU", "cpu"},
                                                     {"PHYSICAL_DEVICE_TYPE_DISCRETE_GPU", "discrete"},
                                                     {"PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU", "integrated"},
                                                     {"PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU", "virtual"},
                                                     {"PHYSICAL_DEVICE_TYPE_OTHER", "other"}};
        for (int i = 0; i < devices.size(); ++i) {
            const QJsonObject d = devices[i].toObject();
            QCOMPARE(d["index"].toInt(), i);
            QCOMPARE(d["name"].toString(), expected[i]["deviceName"]);
            QCOMPARE(d["api_version"].toString(), expected[i]["apiVersion"]);
            QCOMPARE(d["driver"].toString(), expected[i]["driverName"]);
            QCOMPARE(d["driver_info"].toString(), expected[i]["driverInfo"]);
            QCOMPARE(d["type"].toString(), types.value(expected[i]["deviceType"]));
            QVERIFY(!d["heaps"].toArray().isEmpty());
        }
    }

    void textNamesEveryDevice()
    {
        auto j = runCli({"devices", "--json"});
        auto r = runCli({"devices"});
        QCOMPARE(r.code, 0);
        const QJsonArray devices = QJsonDocument::fromJson(QByteArray::fromStdString(j.out)).object()["devices"].toArray();
        for (const auto& d : devices) {
            const std::string line = std::to_string(d.toObject()["index"].toInt()) + ": " +
                                     d.toObject()["name"].toString().toStdString();
            QVERIFY2(r.out.find(line) != std::string::npos, r.out.c_str());
        }
        if (!devices.isEmpty()) QVERIFY(r.out.find("[default]") != std::string::npos);
        QVERIFY(r.out.find("subgroup size") != std::string::npos || devices.isEmpty());
    }

    /// backends::listDevices (the workbench's device choice) names the same devices, in the
    /// same order, with the same default, as the CLI's listing.
    void engineListAgreesWithCli()
    {
        auto r = runCli({"devices", "--json"});
        QCOMPARE(r.code, 0);
        const QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(r.out)).object();
        const QJsonArray devices = j["devices"].toArray();
        auto list = qs::backends::listDevices();
        QVERIFY2(list.ok(), list.ok() ? "" : list.error().message.c_str());
        QCOMPARE(qsizetype(list->devices.size()), devices.size());
        QCOMPARE(QString::fromStdString(list->none), j["none"].toString());
        for (int i = 0; i < devices.size(); ++i) {
            const QJsonObject d = devices[i].toObject();
            const auto& e = list->devices[size_t(i)];
            QCOMPARE(e.backend, std::string("vulkan"));
            QCOMPARE(int(e.index), d["index"].toInt());
            QCOMPARE(QString::fromStdString(e.name), d["name"].toString());
            QCOMPARE(e.isDefault, d["default"].toBool());
        }
    }

    void noDriverIsAnAnswer()
    {
        QProcess p;
        QProcessEnvironment env = envWith("VK_DRIVER_FILES", "/nonexistent/qs_no_driver.json");
        env.insert("VK_ICD_FILENAMES", "/nonexistent/qs_no_driver.json");
        p.setProcessEnvironment(env);
        p.start(QS_CLI_PATH, {"devices"});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(p.readAllStandardOutput().startsWith("no Vulkan device: "));
    }

    void validationSettingIsHonouredOrRefused()
    {
        QProcess p;
        p.setProcessEnvironment(envWith("QS_VULKAN_VALIDATION", "maybe"));
        p.start(QS_CLI_PATH, {"devices"});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(p.readAllStandardError().startsWith("error: QS_VULKAN_VALIDATION must be 0 or 1, got 'maybe'"));
        p.setProcessEnvironment(envWith("QS_VULKAN_VALIDATION", "1"));
        p.start(QS_CLI_PATH, {"devices", "--json"});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(QJsonDocument::fromJson(p.readAllStandardOutput()).isObject());
    }
};

QTEST_GUILESS_MAIN(TestDevices)
#include "tst_devices.moc"
