// VulkanBackend on the installed driver (lavapipe): it names its device, lists the ops its
// kernels run and gives the reference's codes through its queue thread; a lost device or a
// fence timeout fails one call and the next runs on a recreated device; a device it cannot use
// is an error value naming the reason; prepared linear weights give the unprepared values bit
// for bit (with QS_VULKAN_FORCE_STAGING=1 too), stay usable after the caller's weights are
// gone, are refused by other backends, and after a lost device ask to be prepared again.
// Skipped without a Vulkan driver.
#include "backends/vulkan/vk_queue.h"
#include "backends/vulkan/vulkan_backend.h"
#include "quant/analysis.h"

#include "vulkan_helpers.h"

#include "backends/backend.h"
#include "quant/quantize.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <optional>

using namespace qs::backends::vulkan;
using qs::backends::Op;
using qs::backends::LinearPrecision;
using qs::backends::LinearOptions;
using qs::backends::LinearWeights;

namespace {

qs::quant::Matrix waveMatrix(int64_t rows, int64_t cols, float f)
{
    qs::quant::Matrix m{rows, cols, {}};
    for (int64_t i = 0; i < rows * cols; ++i) m.data.push_back(std::sin(f * float(i)) * (i % 7 == 0 ? 2.f : 1.f));
    return m;
}

bool sameBits(const qs::quant::Matrix& a, const qs::quant::Matrix& b)
{
    return a.rows == b.rows && a.cols == b.cols && std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4) == 0;
}

uint64_t residentBytes(VulkanBackend& backend)
{
    return *backend.queue().submit([](Device& d) { return qs::core::Result<uint64_t>(d.residentBytes()); }).get();
}

} // namespace

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

    void quantizeAndMeasureSaysItsDeviceTime()
    {
        // The measured pass carries the time its dispatches took on the device: the same
        // dispatches the queue counted for this call (its totals before and after), and the
        // same metrics and map as the reference's fused pass.
        auto backend = VulkanBackend::create();
        QVERIFY2(backend.ok(), backend.ok() ? "" : backend.error().message.c_str());
        qs::quant::Matrix w;
        w.rows = 13;
        w.cols = 256; // a Q4_K super-block per row
        for (int i = 0; i < 13 * 256; ++i) w.data.push_back(std::cos(0.11f * float(i)) * (i % 17 == 0 ? 4.f : 1.f));
        for (const char* spec : {"int4:g32", "q4_k", "fp8_e4m3"}) {
            auto scheme = qs::quant::parseScheme(spec);
            QVERIFY(scheme.ok());
            const auto before = (*backend)->queue().dispatchTotals();
            auto m = (*backend)->quantizeAndMeasure(w, *scheme);
            QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
            const auto after = (*backend)->queue().dispatchTotals();
            QVERIFY(m->deviceTime.has_value());
            QVERIFY(m->deviceTime->dispatches > 0);
            QCOMPARE(m->deviceTime->dispatches, after.dispatches - before.dispatches);
            QCOMPARE(m->deviceTime->timedDispatches, after.timedDispatches - before.timedDispatches);
            QCOMPARE(m->deviceTime->gpuSeconds, after.gpuSeconds - before.gpuSeconds);
            auto r = qs::quant::quantizeAndMeasure(w, *scheme);
            QVERIFY(r.ok());
            QCOMPARE(m->q.codes, r->q.codes);
            QCOMPARE(m->metrics.sqnrDb, r->metrics.sqnrDb);
            QCOMPARE(m->errorMap.data, r->errorMap.data);
            QVERIFY(!r->deviceTime);
        }
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

    void preparedLinear_data()
    {
        QTest::addColumn<bool>("staging");
        QTest::addColumn<QString>("kind");
        for (bool staging : {false, true})
            for (const char* kind : {"f32", "f16", "int8", "int4:g32", "q4_k"})
                QTest::addRow("%s%s", staging ? "QS_VULKAN_FORCE_STAGING=1, " : "", kind) << staging << QString(kind);
    }

    void preparedLinear()
    {
        QFETCH(bool, staging);
        QFETCH(QString, kind);
        qputenv("QS_VULKAN_FORCE_STAGING", staging ? "1" : "0");
        auto backend = VulkanBackend::create();
        qunsetenv("QS_VULKAN_FORCE_STAGING");
        QVERIFY2(backend.ok(), backend.ok() ? "" : backend.error().message.c_str());
        auto w = std::make_unique<qs::quant::Matrix>(waveMatrix(37, 256, 0.13f));
        std::vector<int8_t> codes(37 * 256);
        std::vector<float> scales(37);
        for (size_t i = 0; i < codes.size(); ++i) codes[i] = int8_t(int(i * 2654435761u >> 24) - 128);
        for (size_t n = 0; n < scales.size(); ++n) scales[n] = 0.01f + 0.001f * float(n);
        std::optional<qs::quant::Quantized> q;
        LinearOptions options;
        LinearWeights weights = LinearWeights::fromF32(*w);
        if (kind == "f16") options.precision = LinearPrecision::F16;
        if (kind == "int8") {
            options = {LinearPrecision::Int8, {1.5f, false}};
            weights = LinearWeights::fromInt8({codes, scales, 37, 256});
        }
        if (kind.startsWith("int4") || kind == "q4_k") {
            q = *qs::quant::quantizeRtn(*w, *qs::quant::parseScheme(kind.toStdString()));
            options.precision = LinearPrecision::WeightOnly;
            weights = LinearWeights::fromQuantized(*q);
        }
        auto prepared = (*backend)->prepareLinear(weights, options);
        QVERIFY2(prepared.ok(), prepared.ok() ? "" : prepared.error().message.c_str());
        QCOMPARE((*prepared)->outFeatures(), int64_t(37));
        QCOMPARE((*prepared)->inFeatures(), int64_t(256));
        QCOMPARE((*prepared)->precision(), options.precision);
        QVERIFY(residentBytes(**backend) >= 37 * 256 / 2); // at least the int4 codes
        std::vector<qs::quant::Matrix> expected;
        for (int batch : {1, 4, 33}) {
            auto y = (*backend)->linear(waveMatrix(batch, 256, 0.07f), weights, options);
            QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
            expected.push_back(std::move(*y));
        }
        // The device keeps its own packed copy: the caller's weights may go.
        w.reset();
        q.reset();
        std::fill(codes.begin(), codes.end(), int8_t(0));
        std::fill(scales.begin(), scales.end(), 0.0f);
        int i = 0;
        for (int batch : {1, 4, 33}) {
            auto y = (*backend)->linear(waveMatrix(batch, 256, 0.07f), **prepared);
            QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
            QVERIFY2(sameBits(*y, expected[size_t(i++)]), qPrintable(QString("batch %1").arg(batch)));
        }
        prepared->reset(); // frees the buffers on the queue thread, before the next job
        QCOMPARE(residentBytes(**backend), uint64_t(0));
        const std::string text = vktest::validationText((*backend)->queue().instance());
        QVERIFY2(text.empty(), text.c_str());
    }

    void preparedLinearIsRefusedElsewhere()
    {
        auto backend = VulkanBackend::create();
        auto other = VulkanBackend::create();
        auto reference = qs::backends::createBackend("reference");
        QVERIFY(backend.ok() && other.ok() && reference.ok());
        const qs::quant::Matrix w = waveMatrix(5, 64, 0.3f), x = waveMatrix(2, 64, 0.2f);
        auto mine = (*backend)->prepareLinear(LinearWeights::fromF32(w));
        auto theirs = (*reference)->prepareLinear(LinearWeights::fromF32(w));
        QVERIFY(mine.ok() && theirs.ok());
        struct Case { const qs::backends::Backend* runner; const qs::backends::PreparedLinear* prepared; const char* owner; };
        for (const Case& c : {Case{backend->get(), theirs->get(), "(reference)"},
                              Case{reference->get(), mine->get(), "(vulkan)"},
                              Case{other->get(), mine->get(), "(vulkan)"}}) {
            auto y = c.runner->linear(x, *c.prepared);
            QVERIFY(!y.ok());
            QCOMPARE(y.error().code, qs::core::ErrorCode::InvalidArgument);
            QVERIFY2(y.error().message.find(std::string("prepared by another backend ") + c.owner) != std::string::npos,
                     y.error().message.c_str());
        }
        auto shape = (*backend)->linear(waveMatrix(2, 63, 0.2f), **mine);
        QVERIFY(!shape.ok());
        QCOMPARE(shape.error().code, qs::core::ErrorCode::InvalidArgument);
        QVERIFY2(shape.error().message.find("the prepared weights are [5, 64], the activations have 63 input features") !=
                     std::string::npos,
                 shape.error().message.c_str());
        auto bad = (*backend)->prepareLinear(LinearWeights{}, {});
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, qs::core::ErrorCode::InvalidArgument);
        // A prepared object may outlive its backend: destroying it then touches nothing.
        backend->reset();
        mine->reset();
    }

    void preparedLinearAfterALostDevice()
    {
        auto backend = VulkanBackend::create();
        QVERIFY(backend.ok());
        const qs::quant::Matrix w = waveMatrix(9, 128, 0.21f), x = waveMatrix(3, 128, 0.05f);
        auto prepared = (*backend)->prepareLinear(LinearWeights::fromF32(w));
        QVERIFY(prepared.ok());
        auto want = (*backend)->linear(x, **prepared);
        QVERIFY(want.ok());
        (*backend)->queue().injectFault(Fault::SubmitDeviceLost);
        auto lost = (*backend)->linear(x, **prepared);
        QVERIFY(!lost.ok());
        QVERIFY2(lost.error().message.find("VK_ERROR_DEVICE_LOST") != std::string::npos, lost.error().message.c_str());
        auto stale = (*backend)->linear(x, **prepared); // the buffers died with the old device
        QVERIFY(!stale.ok());
        QCOMPARE(stale.error().code, qs::core::ErrorCode::Device);
        QVERIFY2(stale.error().message.find("lost and recreated; prepare them again") != std::string::npos,
                 stale.error().message.c_str());
        QCOMPARE((*backend)->queue().recreations(), 1);
        auto again = (*backend)->prepareLinear(LinearWeights::fromF32(w));
        QVERIFY(again.ok());
        auto y = (*backend)->linear(x, **again);
        QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
        QVERIFY(sameBits(*y, *want));
        prepared->reset(); // its release finds another device and leaves the new buffers alone
        auto still = (*backend)->linear(x, **again);
        QVERIFY(still.ok() && sameBits(*still, *want));
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
