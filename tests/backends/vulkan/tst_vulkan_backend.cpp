// VulkanBackend on the installed driver (lavapipe): it names its device, lists the ops its
// kernels run and gives the reference's codes through its queue thread; a lost device or a
// fence timeout fails one call and the next runs on a recreated device; a device it cannot use
// is an error value naming the reason. Skipped without a Vulkan driver.
#include "backends/vulkan/vk_queue.h"
#include "backends/vulkan/vulkan_backend.h"

#include "vulkan_helpers.h"

#include "quant/quantize.h"

#include <QtTest>

#include <cmath>
#include <cstring>

using namespace qs::backends::vulkan;
using qs::backends::Op;
using qs::backends::LinearPrecision;

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

    void backendRunsItsKernels()
    {
        auto backend = VulkanBackend::create();
        QVERIFY2(backend.ok(), backend.ok() ? "" : backend.error().message.c_str());
        const auto& caps = (*backend)->capabilities();
        QCOMPARE(std::string((*backend)->name()), std::string("vulkan"));
        for (auto op : {Op::Quantize, Op::Statistics, Op::ErrorMetrics, Op::Linear, Op::Gemm}) {
            QVERIFY(caps.has(op));
            QVERIFY(!caps.howRuns(op).empty());
        }
        for (auto p : {LinearPrecision::F32, LinearPrecision::BF16, LinearPrecision::F16, LinearPrecision::Int8,
                       LinearPrecision::WeightOnly})
            QVERIFY(caps.has(p));
        QVERIFY(caps.device.find((*backend)->device().name) != std::string::npos);
        // The same codes as the reference, through the backend's queue.
        qs::quant::Matrix w;
        w.rows = 3;
        w.cols = 64;
        for (int i = 0; i < 3 * 64; ++i) w.data.push_back(std::sin(0.37f * float(i)) * (i % 11 == 0 ? 5.f : 1.f));
        for (const char* spec : {"int4:g32", "q8_0", "nf4"}) {
            auto scheme = qs::quant::parseScheme(spec);
            QVERIFY(scheme.ok());
            QVERIFY((*backend)->supportsScheme(*scheme).ok());
            auto q = (*backend)->quantize(w, *scheme);
            auto r = qs::quant::quantizeRtn(w, *scheme);
            QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
            QVERIFY(r.ok());
            QCOMPARE(q->codes, r->codes);
            QVERIFY(std::memcmp(q->dequant.data.data(), r->dequant.data.data(), r->dequant.data.size() * 4) == 0);
        }
        // A clip the format does not apply is refused, as on the reference.
        qs::quant::RangeOptions mse;
        mse.method = qs::quant::ClipMethod::Mse;
        auto refused = (*backend)->quantize(w, *qs::quant::parseScheme("q4_0"), mse);
        QVERIFY(!refused.ok());
        QVERIFY(refused.error().message.find("does not apply") != std::string::npos);
        // The GEMM runs on the device too (tst_vk_gemm has its cases): 3 * 4 = 12.
        const float a = 3.0f, b = 4.0f;
        float c = std::nanf("");
        QVERIFY((*backend)->gemm().sgemm(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1).ok());
        QCOMPARE(c, 12.0f);
        const std::string text = vktest::validationText((*backend)->queue().instance());
        QVERIFY2(text.empty(), text.c_str());
    }

    void aLostDeviceFailsOneCallAndTheNextWorks()
    {
        auto backend = VulkanBackend::create();
        QVERIFY(backend.ok());
        qs::quant::Matrix w;
        w.rows = 2;
        w.cols = 32;
        w.data.assign(64, 0.5f);
        w.data[3] = -2.f;
        const auto scheme = *qs::quant::parseScheme("int8");
        for (Fault f : {Fault::SubmitDeviceLost, Fault::FenceTimeout}) {
            const int before = (*backend)->queue().recreations();
            (*backend)->queue().injectFault(f);
            auto lost = (*backend)->quantize(w, scheme);
            QVERIFY(!lost.ok());
            const char* expected = f == Fault::SubmitDeviceLost ? "VK_ERROR_DEVICE_LOST" : "did not signal within";
            QVERIFY2(lost.error().message.find(expected) != std::string::npos, lost.error().message.c_str());
            auto again = (*backend)->quantize(w, scheme);
            QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
            QCOMPARE(again->codes, qs::quant::quantizeRtn(w, scheme)->codes);
            QCOMPARE((*backend)->queue().recreations(), before + 1);
        }
    }

    void outOfDeviceMemoryIsRetriedInSmallerChunks()
    {
        // The first allocation of the next job fails with VK_ERROR_OUT_OF_DEVICE_MEMORY: the
        // backend runs the op again with half the chunk and gives the reference's codes.
        auto backend = VulkanBackend::create();
        QVERIFY(backend.ok());
        qs::quant::Matrix w;
        w.rows = 4;
        w.cols = 256;
        for (int i = 0; i < 4 * 256; ++i) w.data.push_back(std::cos(0.11f * float(i)));
        for (const char* spec : {"int4:g32", "q4_k"}) {
            const auto scheme = *qs::quant::parseScheme(spec);
            (*backend)->queue().injectFault(Fault::OutOfDeviceMemory);
            auto q = (*backend)->quantize(w, scheme);
            QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
            QCOMPARE(q->codes, qs::quant::quantizeRtn(w, scheme)->codes);
        }
        QCOMPARE((*backend)->queue().recreations(), 0);
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
