// VulkanBackend at this stage: made on the installed driver (lavapipe), it names its device,
// lists no op, and answers every op with "not supported by vulkan: ..."; a device it cannot
// use is an error value naming the reason. Skipped without a Vulkan driver.
#include "backends/vulkan/vk_queue.h"
#include "backends/vulkan/vulkan_backend.h"

#include "vulkan_helpers.h"

#include <QtTest>

using namespace qs::backends::vulkan;

class TestVulkanBackend : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        auto instance = vktest::validatedInstance(); // also sets QS_VULKAN_VALIDATION=1
        if (!instance && instance.error().message.starts_with("no Vulkan device"))
            QSKIP(qPrintable(QString::fromStdString(instance.error().message)));
        QVERIFY2(instance.ok(), instance.ok() ? "" : instance.error().message.c_str());
    }

    void backendRunsNoOpYet()
    {
        auto backend = VulkanBackend::create();
        QVERIFY2(backend.ok(), backend.ok() ? "" : backend.error().message.c_str());
        const auto& caps = (*backend)->capabilities();
        QCOMPARE(std::string((*backend)->name()), std::string("vulkan"));
        QVERIFY(caps.ops.empty());
        QVERIFY(caps.linear.empty());
        QVERIFY(caps.device.find((*backend)->device().name) != std::string::npos);
        auto scheme = qs::quant::parseScheme("int8");
        QVERIFY(scheme.ok());
        auto q = (*backend)->quantize(qs::quant::Matrix{}, *scheme);
        QVERIFY(!q.ok());
        QCOMPARE(q.error().code, qs::core::ErrorCode::Unsupported);
        QVERIFY2(q.error().message.starts_with("not supported by vulkan: quantize int8"), q.error().message.c_str());
        float c = 0;
        auto g = (*backend)->gemm().sgemm(false, false, 1, 1, 1, 1.0f, &c, 1, &c, 1, 0.0f, &c, 1);
        QVERIFY(!g.ok());
        QVERIFY(g.error().message.starts_with("not supported by vulkan: sgemm"));
        QVERIFY(!(*backend)->statistics({}).ok());
        const std::string text = vktest::validationText((*backend)->queue().instance());
        QVERIFY2(text.empty(), text.c_str());
    }

    void backendRefusesABadDevice()
    {
        VulkanBackendOptions o;
        o.deviceIndex = 1000;
        auto backend = VulkanBackend::create(o);
        QVERIFY(!backend.ok());
        QCOMPARE(backend.error().code, qs::core::ErrorCode::InvalidArgument);
        QVERIFY2(backend.error().message.starts_with("Vulkan device index 1000 is out of range"),
                 backend.error().message.c_str());
    }
    void noDriverIsAnErrorValue()
    {
        const QByteArray driverFiles = qgetenv("VK_DRIVER_FILES"), icdFiles = qgetenv("VK_ICD_FILENAMES");
        qputenv("VK_DRIVER_FILES", "/nonexistent/qs_no_driver.json");
        qputenv("VK_ICD_FILENAMES", "/nonexistent/qs_no_driver.json");
        auto backend = VulkanBackend::create();
        auto restore = [](const char* name, const QByteArray& v) { v.isNull() ? qunsetenv(name) : qputenv(name, v); };
        restore("VK_DRIVER_FILES", driverFiles);
        restore("VK_ICD_FILENAMES", icdFiles);
        QVERIFY(!backend.ok());
        QCOMPARE(backend.error().code, qs::core::ErrorCode::Unsupported);
        QVERIFY2(backend.error().message.starts_with("no Vulkan device: "), backend.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestVulkanBackend)
#include "tst_vulkan_backend.moc"
