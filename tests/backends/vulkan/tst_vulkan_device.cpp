// The Vulkan device layer on the installed driver (lavapipe on the CI and development
// machines) with the Khronos validation layer on: enumeration, device choice, the
// read-bandwidth probe against a host sum, and the error paths (fence timeout, device lost,
// out of memory) through the wrapper's fault injection, and both buffer kinds with their
// upload/download (a second device with forceStaging runs the staging copies on lavapipe,
// whose one memory type would otherwise map device-local buffers directly). Skipped only when
// there is no Vulkan driver at all.
#include "backends/vulkan/vk_device.h"

#include "shaders/push_constants.h"
#include "vulkan_helpers.h"

#include <QtTest>

#include <cstdint>
#include <vector>

using namespace qs::backends::vulkan;

using vktest::lcgWords;
using vktest::probe;

class TestVulkanDevice : public QObject {
    Q_OBJECT

    std::shared_ptr<const Instance> m_instance;
    std::unique_ptr<Device> m_device;
    std::unique_ptr<Device> m_staged; ///< forceStaging: device-local buffers unmapped

    Device& deviceFor(bool staged) { return staged ? *m_staged : *m_device; }

    void checkNoValidationMessage()
    {
        const std::string text = vktest::validationText(*m_instance);
        QVERIFY2(text.empty(), text.c_str());
    }

private slots:
    void initTestCase()
    {
        qputenv("QS_VULKAN_VALIDATION", "1");
        // Not the user's pipeline cache (tst_vulkan_pipeline_cache tests it in its own directories).
        if (!qEnvironmentVariableIsSet("QS_VULKAN_PIPELINE_CACHE")) qputenv("QS_VULKAN_PIPELINE_CACHE", "off");
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
        DeviceOptions staged;
        staged.forceStaging = true;
        auto stagedDevice = Device::create(m_instance, staged);
        QVERIFY2(stagedDevice.ok(), stagedDevice.ok() ? "" : stagedDevice.error().message.c_str());
        m_staged = std::move(*stagedDevice);
        qInfo("device: %s (%s), subgroup %u", m_device->info().name.c_str(), m_device->info().driverName.c_str(),
              m_device->info().subgroupSize);
    }

    void cleanupTestCase()
    {
        m_device.reset();
        m_staged.reset();
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
        auto outOfRange = Device::create(m_instance, {uint32_t(m_instance->devices().size()), {}, false});
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
        const uint32_t expected = vktest::hostSum(data); // modulo 2^32 like the shader's
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
        auto device = Device::create(m_instance, {std::nullopt, std::chrono::milliseconds(2000), false});
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

    void bufferKinds()
    {
        for (bool staged : {false, true}) {
            Device& device = deviceFor(staged);
            auto host = device.createBuffer(64);
            auto local = device.createBuffer(64, BufferKind::DeviceLocal);
            QVERIFY(host.ok() && local.ok());
            QCOMPARE(host->kind, BufferKind::HostVisible);
            QCOMPARE(local->kind, BufferKind::DeviceLocal);
            QVERIFY(host->mapped != nullptr); // host-visible buffers are always mapped
            QCOMPARE(host->as<uint32_t>().size(), size_t(16));
            if (staged) { // forceStaging: never mapped, whatever the memory type
                QVERIFY(local->mapped == nullptr);
                QVERIFY(local->as<uint32_t>().empty());
            }
            const auto& heaps = device.info().heaps;
            QVERIFY(device.bufferHeap(BufferKind::DeviceLocal) < heaps.size());
            QVERIFY(heaps[device.bufferHeap(BufferKind::DeviceLocal)].deviceLocal);
            for (BufferKind kind : {BufferKind::HostVisible, BufferKind::DeviceLocal}) {
                const uint64_t chunk = device.maxChunkBytes(kind);
                QVERIFY(chunk > 0 && chunk % 256 == 0);
                QVERIFY(chunk <= device.heapNow(kind).bytes / 4);
            }
        }
        checkNoValidationMessage();
    }

    void roundTrip_data()
    {
        QTest::addColumn<bool>("staged");
        QTest::addColumn<bool>("deviceLocal");
        QTest::addColumn<qulonglong>("bytes");
        QTest::addColumn<qulonglong>("offset");
        const qulonglong MiB = 1ull << 20;
        // Staging pieces are kStagingBytes (16 MiB): 16 MiB + 5 at offset 3 takes two pieces.
        const qulonglong sizes[] = {1, 3, 4097, 5 * MiB + 1, 16 * MiB + 5};
        const qulonglong offsets[] = {0, 3, 1001};
        for (bool staged : {false, true}) {
            for (bool local : {false, true}) {
                for (qulonglong n : sizes) {
                    for (qulonglong off : offsets) {
                        if (n > MiB && off == 1001) continue; // the odd offset is covered by the small sizes
                        const std::string name = std::string(staged ? "forceStaging, " : "") +
                                                 (local ? "device-local" : "host-visible") + ", " +
                                                 std::to_string(n) + " bytes at " + std::to_string(off);
                        QTest::newRow(name.c_str()) << staged << local << n << off;
                    }
                }
            }
        }
    }

    void roundTrip()
    {
        QFETCH(bool, staged);
        QFETCH(bool, deviceLocal);
        QFETCH(qulonglong, bytes);
        QFETCH(qulonglong, offset);
        Device& device = deviceFor(staged);
        const uint64_t total = offset + bytes + 7; // bytes on both sides of the written range
        auto b = device.createBuffer(total, deviceLocal ? BufferKind::DeviceLocal : BufferKind::HostVisible);
        QVERIFY2(b.ok(), b.ok() ? "" : b.error().message.c_str());
        // The whole buffer first (pattern A), then the range (pattern B): a copy that writes
        // outside its range, or the wrong piece of a staged copy, shows up in the download.
        std::vector<std::byte> a(total), range(bytes);
        for (size_t i = 0; i < a.size(); ++i) a[i] = std::byte(i * 7 + 1);
        for (size_t i = 0; i < range.size(); ++i) range[i] = std::byte((i * 2654435761u) >> 13);
        QVERIFY(device.upload(*b, 0, a).ok());
        auto st = device.upload(*b, offset, range);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        std::vector<std::byte> expected = a;
        std::copy(range.begin(), range.end(), expected.begin() + std::ptrdiff_t(offset));
        std::vector<std::byte> back(total);
        QVERIFY(device.download(*b, 0, back).ok());
        QVERIFY(back == expected);
        std::vector<std::byte> part(bytes); // and the range alone, from its offset
        QVERIFY(device.download(*b, offset, part).ok());
        QVERIFY(part == range);
        checkNoValidationMessage();
    }

    void transferOutOfRangeIsAnError()
    {
        for (bool staged : {false, true}) {
            auto b = deviceFor(staged).createBuffer(16, BufferKind::DeviceLocal);
            QVERIFY(b.ok());
            std::vector<std::byte> data(8);
            auto up = deviceFor(staged).upload(*b, 9, data); // 9 + 8 > 16
            QVERIFY(!up.ok());
            QCOMPARE(up.error().code, qs::core::ErrorCode::InvalidArgument);
            QVERIFY2(up.error().message.find("does not fit a buffer of 16 bytes") != std::string::npos,
                     up.error().message.c_str());
            QVERIFY(!deviceFor(staged).download(*b, 17, std::span<std::byte>()).ok());
            QVERIFY(deviceFor(staged).upload(*b, 16, std::span<const std::byte>()).ok()); // empty at the end
        }
    }

    void dispatchReadsAndWritesDeviceLocal_data()
    {
        QTest::addColumn<bool>("staged");
        QTest::newRow("mapped where possible") << false;
        QTest::newRow("forceStaging") << true;
    }

    void dispatchReadsAndWritesDeviceLocal()
    {
        // The probe reads a device-local source filled by upload and writes device-local
        // partials read back by download: both barriers (transfer -> shader read, shader
        // write -> transfer read) are on the path, and the sum must be the host's.
        QFETCH(bool, staged);
        Device& device = deviceFor(staged);
        auto kernel = device.kernel({"read_bandwidth", 2, sizeof(qs::shaders::ReadBandwidthPush)});
        QVERIFY(kernel.ok());
        const auto words = lcgWords(1000003);
        const uint32_t groups = 7;
        auto src = device.createBuffer(words.size() * 4, BufferKind::DeviceLocal);
        auto partials = device.createBuffer(groups * 4, BufferKind::DeviceLocal);
        QVERIFY(src.ok() && partials.ok());
        QVERIFY(device.upload(*src, 0, std::as_bytes(std::span(words))).ok());
        std::vector<uint32_t> poison(groups, 0xdeadbeefu), sums(groups);
        QVERIFY(device.upload(*partials, 0, std::as_bytes(std::span(poison))).ok());
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&*src, &*partials};
        d.setPush(qs::shaders::ReadBandwidthPush{uint32_t(words.size())});
        d.groups[0] = groups;
        for (int run = 0; run < 2; ++run) { // a second run after a download: the order holds both ways
            auto t = device.run(d);
            QVERIFY2(t.ok(), t.ok() ? "" : t.error().message.c_str());
            QVERIFY(device.download(*partials, 0, std::as_writable_bytes(std::span(sums))).ok());
            uint32_t sum = 0;
            for (uint32_t p : sums) sum += p;
            QCOMPARE(sum, vktest::hostSum(words));
        }
        checkNoValidationMessage();
    }

    void outOfMemoryOnDeviceLocal_data()
    {
        QTest::addColumn<bool>("staged");
        QTest::newRow("mapped where possible") << false;
        QTest::newRow("forceStaging") << true;
    }

    void outOfMemoryOnDeviceLocal()
    {
        QFETCH(bool, staged);
        Device& device = deviceFor(staged);
        device.injectFault(Fault::OutOfDeviceMemory);
        auto b = device.createBuffer(1 << 20, BufferKind::DeviceLocal);
        QVERIFY(!b.ok());
        QVERIFY2(b.error().message.find("vkAllocateMemory (") != std::string::npos &&
                     b.error().message.find("VK_ERROR_OUT_OF_DEVICE_MEMORY") != std::string::npos,
                 b.error().message.c_str());
        auto again = device.createBuffer(1 << 20, BufferKind::DeviceLocal); // the fault is consumed
        QVERIFY(again.ok());
        std::vector<std::byte> data(1 << 20, std::byte{5}), back(1 << 20);
        QVERIFY(device.upload(*again, 0, data).ok());
        QVERIFY(device.download(*again, 0, back).ok());
        QVERIFY(back == data);
        checkNoValidationMessage();
    }

    void residentBuffers()
    {
        auto b = m_device->createBuffer(4096, BufferKind::DeviceLocal);
        QVERIFY(b.ok());
        std::vector<Buffer> kept;
        kept.push_back(std::move(*b));
        const uint64_t before = m_device->residentBytes();
        const uint64_t id = m_device->keepResident(std::move(kept));
        QCOMPARE(m_device->resident(id).size(), size_t(1));
        QCOMPARE(m_device->resident(id)[0].bytes, uint64_t(4096));
        QCOMPARE(m_device->residentBytes(), before + 4096);
        QVERIFY(m_device->resident(id + 1).empty());
        m_device->releaseResident(id);
        QVERIFY(m_device->resident(id).empty());
        QCOMPARE(m_device->residentBytes(), before);
        QVERIFY(m_device->serial() != m_staged->serial());
    }

    void forceStagingEnvironment()
    {
        const QByteArray saved = qgetenv("QS_VULKAN_FORCE_STAGING");
        qputenv("QS_VULKAN_FORCE_STAGING", "yes");
        auto bad = forceStagingFromEnvironment();
        qputenv("QS_VULKAN_FORCE_STAGING", "1");
        auto on = forceStagingFromEnvironment();
        qunsetenv("QS_VULKAN_FORCE_STAGING");
        auto unset = forceStagingFromEnvironment();
        if (!saved.isNull()) qputenv("QS_VULKAN_FORCE_STAGING", saved);
        QVERIFY(!bad.ok());
        QVERIFY2(bad.error().message.find("QS_VULKAN_FORCE_STAGING must be 0 or 1, got 'yes'") != std::string::npos,
                 bad.error().message.c_str());
        QVERIFY(on.ok() && *on);
        QVERIFY(unset.ok() && !*unset);
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

    void maxChunkBytes_data()
    {
        QTest::addColumn<bool>("budget");
        QTest::addColumn<qulonglong>("heapBytes");
        QTest::addColumn<qulonglong>("budgetBytes");
        QTest::addColumn<qulonglong>("usageBytes");
        QTest::addColumn<qulonglong>("maxRange");
        QTest::addColumn<qulonglong>("maxAlloc");
        QTest::addColumn<qulonglong>("expected");
        const qulonglong GiB = 1ull << 30, MiB = 1ull << 20;
        // A quarter of what is available, unless a device limit is lower; multiples of 256.
        QTest::newRow("no budget: heap / 4") << false << 8 * GiB << 0ull << 0ull << 4 * GiB << 4 * GiB << 2 * GiB;
        QTest::newRow("storage range limits") << false << 64 * GiB << 0ull << 0ull << 4 * GiB - 1 << 8 * GiB
                                              << 4 * GiB - 256; // (2^32 - 1) rounded down to 256
        QTest::newRow("allocation size limits") << false << 64 * GiB << 0ull << 0ull << 8 * GiB << 1 * GiB << 1 * GiB;
        QTest::newRow("budget - usage") << true << 8 * GiB << 6 * GiB << 2 * GiB << 4 * GiB << 4 * GiB << 1 * GiB;
        QTest::newRow("budget exhausted") << true << 8 * GiB << 2 * GiB << 3 * GiB << 4 * GiB << 4 * GiB << 0ull;
        QTest::newRow("odd sizes round down") << false << 1000 * MiB + 1000 << 0ull << 0ull << 4 * GiB << 4 * GiB
                                              << 262144000ull; // (1000 MiB + 1000) / 4 = 262144250 -> 262144000
    }

    void maxChunkBytes()
    {
        QFETCH(bool, budget);
        QFETCH(qulonglong, heapBytes);
        QFETCH(qulonglong, budgetBytes);
        QFETCH(qulonglong, usageBytes);
        QFETCH(qulonglong, maxRange);
        QFETCH(qulonglong, maxAlloc);
        QFETCH(qulonglong, expected);
        PhysicalDeviceInfo info;
        info.memoryBudget = budget;
        info.heaps = {MemoryHeapInfo{}, MemoryHeapInfo{heapBytes, true, budgetBytes, usageBytes}};
        info.maxStorageBufferRange = maxRange;
        info.maxMemoryAllocationSize = maxAlloc;
        QCOMPARE(qulonglong(qs::backends::vulkan::maxChunkBytes(info, 1)), expected);
        QCOMPARE(qulonglong(qs::backends::vulkan::maxChunkBytes(info, 2)), 0ull); // no such heap
    }

    void deviceChunkFitsItsLimits()
    {
        const uint64_t chunk = m_device->maxChunkBytes();
        const auto heap = m_device->heapNow();
        QVERIFY(chunk > 0);
        QCOMPARE(chunk % 256, 0u);
        QVERIFY(chunk <= m_device->info().maxStorageBufferRange);
        QVERIFY(chunk <= heap.bytes / 4);
        auto b = m_device->createBuffer(chunk); // a chunk of that size can really be made
        QVERIFY2(b.ok(), b.ok() ? "" : b.error().message.c_str());
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
