// The Vulkan device layer on the installed driver (lavapipe on the CI and development
// machines) with the Khronos validation layer on: enumeration, device choice, the
// read-bandwidth probe against a host sum, and the error paths (fence timeout, device lost,
// out of memory) through the wrapper's fault injection. Skipped only when there is no Vulkan
// driver at all.
#include "backends/vulkan/vk_device.h"

#include "shaders/push_constants.h"

#include <QtTest>

#include <cstdint>
#include <vector>

using namespace qs::backends::vulkan;

namespace {

/// Words of the probe's input: a fixed 32-bit LCG (Numerical Recipes constants), so that
/// every word differs and a missed or repeated word changes the sum.
std::vector<uint32_t> lcgWords(size_t n)
{
    std::vector<uint32_t> w(n);
    uint32_t x = 12345u;
    for (auto& v : w) {
        x = x * 1664525u + 1013904223u;
        v = x;
    }
    return w;
}

} // namespace

class TestVulkanDevice : public QObject {
    Q_OBJECT

    std::shared_ptr<const Instance> m_instance;
    std::unique_ptr<Device> m_device;

    void checkNoValidationMessage()
    {
        const auto messages = m_instance->validation().messages();
        for (const auto& m : messages)
            qWarning("%s", m.c_str());
        QCOMPARE(int(messages.size()), 0);
    }

    /// Runs the probe over `words` with `groups` workgroups; returns the sum of the partials.
    qs::core::Result<uint32_t> probe(Device& device, const std::string& shader, const std::vector<uint32_t>& words,
                                     uint32_t groups)
    {
        auto kernel = device.kernel({shader, 2, sizeof(qs::shaders::ReadBandwidthPush)});
        if (!kernel) return kernel.error();
        auto src = device.createBuffer(words.size() * sizeof(uint32_t));
        if (!src) return src.error();
        auto partials = device.createBuffer(groups * sizeof(uint32_t));
        if (!partials) return partials.error();
        std::copy(words.begin(), words.end(), src->as<uint32_t>().begin());
        std::fill(partials->as<uint32_t>().begin(), partials->as<uint32_t>().end(), 0xdeadbeefu);
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&*src, &*partials};
        d.setPush(qs::shaders::ReadBandwidthPush{static_cast<uint32_t>(words.size())});
        d.groups[0] = groups;
        auto t = device.run(d);
        if (!t) return t.error();
        uint32_t sum = 0;
        for (uint32_t p : partials->as<uint32_t>())
            sum += p;
        return sum;
    }

private slots:
    void initTestCase()
    {
        qputenv("QS_VULKAN_VALIDATION", "1");
        auto options = instanceOptionsFromEnvironment();
        QVERIFY2(options.ok(), options.ok() ? "" : options.error().message.c_str());
        QVERIFY(options->validation);
        auto instance = Instance::create(*options);
        if (!instance && instance.error().message.starts_with("no Vulkan device"))
            QSKIP(qPrintable(QString::fromStdString(instance.error().message)));
        QVERIFY2(instance.ok(), instance.ok() ? "" : instance.error().message.c_str());
        if ((*instance)->devices().empty()) QSKIP("no Vulkan device: the loader found no physical device");
        m_instance = *instance;
        QVERIFY(m_instance->validationEnabled());
        auto device = Device::create(m_instance);
        QVERIFY2(device.ok(), device.ok() ? "" : device.error().message.c_str());
        m_device = std::move(*device);
        qInfo("device: %s (%s), subgroup %u", m_device->info().name.c_str(), m_device->info().driverName.c_str(),
              m_device->info().subgroupSize);
    }

    void cleanupTestCase()
    {
        m_device.reset();
        if (m_instance) checkNoValidationMessage(); // destruction is validated too
    }

    void environmentIsChecked()
    {
        qputenv("QS_VULKAN_VALIDATION", "yes");
        auto bad = instanceOptionsFromEnvironment();
        qputenv("QS_VULKAN_VALIDATION", "1");
        QVERIFY(!bad.ok());
        QVERIFY(bad.error().message.find("QS_VULKAN_VALIDATION must be 0 or 1, got 'yes'") != std::string::npos);
    }

    void noDriverIsAnErrorValue()
    {
        // The loader reads its driver list at every vkCreateInstance: point it at nothing.
        const QByteArray driverFiles = qgetenv("VK_DRIVER_FILES"), icdFiles = qgetenv("VK_ICD_FILENAMES");
        qputenv("VK_DRIVER_FILES", "/nonexistent/qs_no_driver.json");
        qputenv("VK_ICD_FILENAMES", "/nonexistent/qs_no_driver.json");
        auto instance = Instance::create({false});
        auto restore = [](const char* name, const QByteArray& v) { v.isNull() ? qunsetenv(name) : qputenv(name, v); };
        restore("VK_DRIVER_FILES", driverFiles);
        restore("VK_ICD_FILENAMES", icdFiles);
        if (instance) { // a loader that creates an instance without drivers lists no device
            QVERIFY((*instance)->devices().empty());
            auto device = Device::create(*instance);
            QVERIFY(!device.ok());
            QVERIFY(device.error().message.starts_with("no Vulkan device: "));
            return;
        }
        QCOMPARE(instance.error().code, qs::core::ErrorCode::Unsupported);
        QVERIFY2(instance.error().message.starts_with("no Vulkan device: "), instance.error().message.c_str());
    }

    void enumerate()
    {
        QVERIFY(!m_instance->devices().empty());
        for (const auto& d : m_instance->devices()) {
            QVERIFY(!d.name.empty());
            QVERIFY(!d.heaps.empty());
            QVERIFY(d.apiVersion >= VK_API_VERSION_1_0);
        }
        QVERIFY(m_device->info().computeQueueFamily.has_value());
        auto outOfRange = Device::create(m_instance, {uint32_t(m_instance->devices().size()), {}});
        QVERIFY(!outOfRange.ok());
        QCOMPARE(outOfRange.error().code, qs::core::ErrorCode::InvalidArgument);
        QVERIFY(outOfRange.error().message.find("out of range") != std::string::npos);
    }

    void chooseDevice_data()
    {
        QTest::addColumn<QList<int>>("types");
        QTest::addColumn<int>("expected");
        const int cpu = VK_PHYSICAL_DEVICE_TYPE_CPU, discrete = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
        const int integrated = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, virt = VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU;
        QTest::newRow("cpu only") << QList<int>{cpu} << 0;
        QTest::newRow("cpu, discrete") << QList<int>{cpu, discrete} << 1;
        QTest::newRow("integrated, discrete, cpu") << QList<int>{integrated, discrete, cpu} << 1;
        QTest::newRow("cpu, integrated") << QList<int>{cpu, integrated} << 1;
        QTest::newRow("cpu, virtual, integrated") << QList<int>{cpu, virt, integrated} << 2;
        QTest::newRow("cpu, virtual") << QList<int>{cpu, virt} << 1;
        QTest::newRow("two discrete: the first") << QList<int>{discrete, discrete} << 0;
    }

    void chooseDevice()
    {
        QFETCH(QList<int>, types);
        QFETCH(int, expected);
        std::vector<PhysicalDeviceInfo> devices(types.size());
        for (int i = 0; i < types.size(); ++i) {
            devices[i].index = uint32_t(i);
            devices[i].type = VkPhysicalDeviceType(types[i]);
            devices[i].computeQueueFamily = 0;
        }
        auto chosen = qs::backends::vulkan::chooseDevice(devices, std::nullopt);
        QVERIFY(chosen.ok());
        QCOMPARE(int(*chosen), expected);
        auto explicitIndex = qs::backends::vulkan::chooseDevice(devices, 0u);
        QVERIFY(explicitIndex.ok());
        QCOMPARE(int(*explicitIndex), 0);
        devices[size_t(expected)].computeQueueFamily.reset(); // a device without compute is never chosen
        auto other = qs::backends::vulkan::chooseDevice(devices, std::nullopt);
        if (devices.size() == 1) QVERIFY(!other.ok());
        else QVERIFY(other.ok() && int(*other) != expected);
        QVERIFY(!qs::backends::vulkan::chooseDevice({}, std::nullopt).ok());
    }

    void probeSum_data()
    {
        QTest::addColumn<QString>("shader");
        QTest::addColumn<int>("words");
        QTest::addColumn<int>("groups");
        QTest::newRow("1 word, 1 group") << "read_bandwidth" << 1 << 1;
        QTest::newRow("255 words, 1 group") << "read_bandwidth" << 255 << 1;
        QTest::newRow("257 words, 3 groups") << "read_bandwidth" << 257 << 3;
        QTest::newRow("1000003 words, 7 groups") << "read_bandwidth" << 1000003 << 7;
        QTest::newRow("16 Mi words (64 MiB), 64 groups") << "read_bandwidth" << (16 << 20) << 64;
        QTest::newRow("vec4: 4 words, 1 group") << "read_bandwidth_vec4" << 4 << 1;
        QTest::newRow("vec4: 1000004 words, 5 groups") << "read_bandwidth_vec4" << 1000004 << 5;
        QTest::newRow("vec4: 16 Mi words, 64 groups") << "read_bandwidth_vec4" << (16 << 20) << 64;
    }

    void probeSum()
    {
        QFETCH(QString, shader);
        QFETCH(int, words);
        QFETCH(int, groups);
        const auto data = lcgWords(size_t(words));
        uint32_t expected = 0; // the host's sum, modulo 2^32 like the shader's
        for (uint32_t w : data)
            expected += w;
        auto sum = probe(*m_device, shader.toStdString(), data, uint32_t(groups));
        QVERIFY2(sum.ok(), sum.ok() ? "" : sum.error().message.c_str());
        QCOMPARE(*sum, expected);
        checkNoValidationMessage();
    }

    void probeClosedForm()
    {
        // words[i] = i: the sum is n (n - 1) / 2, worked out by hand for n = 100000:
        // 100000 * 99999 / 2 = 4999950000 = 4999950000 - 2^32 = 704982704 (mod 2^32).
        std::vector<uint32_t> data(100000);
        for (uint32_t i = 0; i < data.size(); ++i)
            data[i] = i;
        auto sum = probe(*m_device, "read_bandwidth", data, 4);
        QVERIFY2(sum.ok(), sum.ok() ? "" : sum.error().message.c_str());
        QCOMPARE(*sum, 704982704u);
    }

    void badDispatchIsAnError()
    {
        auto kernel = m_device->kernel({"read_bandwidth", 2, sizeof(qs::shaders::ReadBandwidthPush)});
        QVERIFY(kernel.ok());
        auto buffer = m_device->createBuffer(64);
        QVERIFY(buffer.ok());
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&*buffer};
        d.setPush(qs::shaders::ReadBandwidthPush{16});
        auto r = m_device->run(d);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, qs::core::ErrorCode::InvalidArgument);
        QVERIFY(!m_device->kernel({"no_such_shader", 1, 0}).ok());
        QVERIFY(!m_device->kernel({"read_bandwidth", 3, 4}).ok()); // same name, other layout
        QVERIFY(!m_device->createBuffer(0).ok());
        QVERIFY(m_device->lost().empty()); // refused before anything was submitted
    }

    void fenceTimeoutIsAnError()
    {
        auto device = Device::create(m_instance, {std::nullopt, std::chrono::milliseconds(2000)});
        QVERIFY(device.ok());
        (*device)->injectFault(Fault::FenceTimeout);
        auto r = probe(**device, "read_bandwidth", lcgWords(1000), 2);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("did not signal within 2000 ms (VK_TIMEOUT)") != std::string::npos,
                 r.error().message.c_str());
        QVERIFY(!(*device)->lost().empty());
        auto refused = probe(**device, "read_bandwidth", lcgWords(1000), 2);
        QVERIFY(!refused.ok());
        QVERIFY(refused.error().message.find("can no longer be used") != std::string::npos);
    }

    void deviceLostIsAnError()
    {
        auto device = Device::create(m_instance);
        QVERIFY(device.ok());
        (*device)->injectFault(Fault::SubmitDeviceLost);
        auto r = probe(**device, "read_bandwidth", lcgWords(1000), 2);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("vkQueueSubmit: VK_ERROR_DEVICE_LOST") != std::string::npos,
                 r.error().message.c_str());
        QVERIFY(!(*device)->lost().empty());
    }

    void outOfMemoryIsAnError()
    {
        m_device->injectFault(Fault::OutOfDeviceMemory);
        auto b = m_device->createBuffer(1024);
        QVERIFY(!b.ok());
        QVERIFY2(b.error().message.find("vkAllocateMemory (") != std::string::npos &&
                     b.error().message.find("VK_ERROR_OUT_OF_DEVICE_MEMORY") != std::string::npos,
                 b.error().message.c_str());
        QVERIFY(m_device->createBuffer(1024).ok()); // the fault is consumed; the device is fine
    }

    void timestamps()
    {
        if (m_device->info().timestampValidBits == 0) QSKIP("the compute queue has no timestamps");
        auto kernel = m_device->kernel({"read_bandwidth", 2, sizeof(qs::shaders::ReadBandwidthPush)});
        QVERIFY(kernel.ok());
        auto src = m_device->createBuffer(4 << 20);
        auto partials = m_device->createBuffer(64 * 4);
        QVERIFY(src.ok() && partials.ok());
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&*src, &*partials};
        d.setPush(qs::shaders::ReadBandwidthPush{1u << 20});
        d.groups[0] = 64;
        auto t = m_device->run(d);
        QVERIFY(t.ok());
        QVERIFY(t->gpuSeconds.has_value());
        QVERIFY(*t->gpuSeconds > 0); // two timestamps around a dispatch that read 4 MiB
    }

    void validationCatchesMisuse()
    {
        // A second instance, so that its log holds only what this test provokes: a buffer of
        // size 0 breaks VUID-VkBufferCreateInfo-size-00912, which the layer must report.
        auto instance = Instance::create({true});
        QVERIFY(instance.ok());
        auto device = Device::create(*instance);
        QVERIFY(device.ok());
        VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
        info.size = 0;
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
        VkBuffer buffer = VK_NULL_HANDLE;
        const Functions& vk = (*instance)->vk();
        if (vk.vkCreateBuffer((*device)->handle(), &info, nullptr, &buffer) == VK_SUCCESS && buffer)
            vk.vkDestroyBuffer((*device)->handle(), buffer, nullptr);
        QVERIFY((*instance)->validation().errors() >= 1);
        const auto messages = (*instance)->validation().messages();
        QVERIFY(!messages.empty() && messages.front().find("VUID-VkBufferCreateInfo-size-00912") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestVulkanDevice)
#include "tst_vulkan_device.moc"
