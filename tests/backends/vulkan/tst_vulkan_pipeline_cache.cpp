// The pipeline cache on disk (vk_pipeline_cache.h): a device that made a kernel writes its
// file, the next device loads it, and every kind of bad file (cut short, garbage, another
// device's, damaged, too large, a directory) is ignored with a note while the device works
// on; a directory that cannot be written is a note; "off" writes nothing; the default
// location follows XDG_CACHE_HOME / HOME. Every test works in its own temporary directory.
// On the installed driver (lavapipe in CI) with validation; skipped only without a driver.
#include "backends/vulkan/vk_pipeline_cache.h"
#include "backends/vulkan/vk_queue.h"

#include "vulkan_helpers.h"

#include <QtTest>

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

using namespace qs::backends::vulkan;
namespace fs = std::filesystem;

namespace {

QByteArray readAll(const fs::path& p)
{
    QFile f(QString::fromStdString(p.string()));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeAll(const fs::path& p, const QByteArray& bytes)
{
    QFile f(QString::fromStdString(p.string()));
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(bytes), bytes.size());
}

uint32_t u32At(const QByteArray& b, qsizetype offset)
{
    uint32_t v = 0;
    std::memcpy(&v, b.constData() + offset, 4); // the file is little-endian, as is every host we build for
    return v;
}

std::span<const std::byte> asBytes(const QByteArray& b)
{
    return {reinterpret_cast<const std::byte*>(b.constData()), static_cast<size_t>(b.size())};
}

bool contains(const std::string& text, const QString& part) { return text.find(part.toStdString()) != std::string::npos; }

/// Every environment variable the cache location depends on, restored when it goes out of scope.
struct SavedEnvironment {
    const char* names[3] = {"QS_VULKAN_PIPELINE_CACHE", "XDG_CACHE_HOME", "HOME"};
    QByteArray values[3];
    bool set[3] = {};
    SavedEnvironment()
    {
        for (int i = 0; i < 3; ++i) {
            set[i] = qEnvironmentVariableIsSet(names[i]);
            values[i] = qgetenv(names[i]);
        }
    }
    ~SavedEnvironment()
    {
        for (int i = 0; i < 3; ++i)
            set[i] ? qputenv(names[i], values[i]) : qunsetenv(names[i]);
    }
};

} // namespace

class TestVulkanPipelineCache : public QObject {
    Q_OBJECT

    vktest::Fixture m_f;
    VkPhysicalDeviceProperties m_props{};

    std::unique_ptr<Device> openDevice(std::optional<fs::path> file)
    {
        DeviceOptions options;
        options.pipelineCacheFile = std::move(file);
        auto d = Device::create(m_f.instance, options);
        if (!d) qWarning("%s", d.error().message.c_str());
        return d ? std::move(*d) : nullptr;
    }

    /// The device works: it creates the probe's kernel and computes the host's sum.
    static bool probeWorks(Device& d)
    {
        const auto words = vktest::lcgWords(4099);
        auto sum = vktest::probe(d, "read_bandwidth", words, 4);
        return sum.ok() && *sum == vktest::hostSum(words);
    }

    /// The bytes of a cache file that a device wrote after making the probe's kernel.
    QByteArray validFile()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "cache.qspc";
        auto d = openDevice(file);
        if (!d || !probeWorks(*d) || !d->savePipelineCache()) return {};
        return readAll(file);
    }

    PipelineCacheIdentity identity() const
    {
        PipelineCacheIdentity id;
        id.vendorId = m_props.vendorID;
        id.deviceId = m_props.deviceID;
        id.driverVersion = m_props.driverVersion;
        std::memcpy(id.uuid.data(), m_props.pipelineCacheUUID, VK_UUID_SIZE);
        return id;
    }

private slots:
    void initTestCase()
    {
        VKTEST_OPEN_FIXTURE(m_f);
        const auto& d = m_f.device->info();
        m_f.instance->vk().vkGetPhysicalDeviceProperties(m_f.instance->physicalDevice(d.index), &m_props);
    }

    void cleanup() { VKTEST_NO_VALIDATION_MESSAGES(m_f); }

    void cleanupTestCase()
    {
        m_f.device.reset();
        VKTEST_NO_VALIDATION_MESSAGES(m_f);
    }

    void writesThenLoads()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "sub" / "cache.qspc"; // "sub" is created
        QByteArray written;
        {
            auto first = openDevice(file);
            QVERIFY(first);
            QVERIFY2(contains(first->pipelineCacheNote(), "none yet at " + QString::fromStdString(file.string())),
                     first->pipelineCacheNote().c_str());
            QVERIFY(!first->savePipelineCache()); // no kernel yet: nothing to save
            QVERIFY(!fs::exists(file));
            QVERIFY(probeWorks(*first));
            QVERIFY(first->savePipelineCache());
            written = readAll(file);
            QVERIFY(!first->savePipelineCache()); // no new kernel since
        }
        QCOMPARE(readAll(file), written); // destroying the device found nothing new to write
        // The layout of vk_pipeline_cache.h: our header, then the driver's, both naming this device.
        QVERIFY(written.size() >= 56 + 32);
        QCOMPARE(written.left(4), QByteArray("QSPC"));
        QCOMPARE(u32At(written, 8), m_f.device->info().vendorId);
        QCOMPARE(u32At(written, 12), m_f.device->info().deviceId);
        QCOMPARE(u32At(written, 16), m_props.driverVersion);
        QCOMPARE(written.mid(24, 16), QByteArray(reinterpret_cast<const char*>(m_props.pipelineCacheUUID), 16));
        QCOMPARE(u32At(written, 56), 32u);                                 // VkPipelineCacheHeaderVersionOne::headerSize
        QCOMPARE(u32At(written, 60), uint32_t(VK_PIPELINE_CACHE_HEADER_VERSION_ONE));
        QCOMPARE(u32At(written, 64), m_f.device->info().vendorId);
        QCOMPARE(u32At(written, 68), m_f.device->info().deviceId);
        QCOMPARE(written.mid(72, 16), written.mid(24, 16));
        QCOMPARE(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator()), 1); // no temp left

        auto second = openDevice(file);
        QVERIFY(second);
        const QString loaded = "Vulkan pipeline cache: loaded " + QString::number(written.size() - 56) + " bytes from " +
                               QString::fromStdString(file.string());
        QCOMPARE(QString::fromStdString(second->pipelineCacheNote()), loaded);
        QVERIFY(probeWorks(*second));
        QVERIFY(!second->savePipelineCache()); // the same kernel: the cache's data did not change
        second.reset();
        QCOMPARE(readAll(file), written);
    }

    void destroyingTheDeviceSaves()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "cache.qspc";
        auto d = openDevice(file);
        QVERIFY(d && probeWorks(*d));
        QVERIFY(!fs::exists(file));
        d.reset();
        const QByteArray bytes = readAll(file);
        QVERIFY(decodePipelineCacheFile(asBytes(bytes), identity()).ok());
    }

    void badFileIsIgnored_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("why");
        QTest::newRow("empty") << "empty" << "0 bytes, shorter than its 56-byte header";
        QTest::newRow("header cut short") << "header cut" << "20 bytes, shorter than its 56-byte header";
        QTest::newRow("data cut short") << "data cut" << "its header announces %1 bytes of data, %2 follow";
        QTest::newRow("garbage") << "garbage" << "not a Quantscope pipeline cache (no QSPC magic)";
        QTest::newRow("other device's uuid") << "uuid" << "made for another device";
        QTest::newRow("other driver version") << "driver" << "made by another driver version";
        QTest::newRow("Vulkan header of another uuid") << "vk uuid" << "its Vulkan header names another device";
        QTest::newRow("Vulkan header version 2") << "vk version" << "its Vulkan header has size 32 and version 2";
        QTest::newRow("one byte damaged") << "damaged" << "its checksum does not match (damaged)";
        QTest::newRow("larger than 64 MiB") << "oversized" << "67108865 bytes, more than the 64 MiB read";
    }

    void badFileIsIgnored()
    {
        QFETCH(QString, kind);
        QFETCH(QString, why);
        const QByteArray good = validFile();
        QVERIFY(good.size() >= 56 + 32);
        const QByteArray data = good.mid(56); // the driver's, as it wrote them
        auto rewrap = [&](QByteArray d) { // a well-formed file around other driver data
            const auto bytes = encodePipelineCacheFile(asBytes(d), identity());
            return QByteArray(reinterpret_cast<const char*>(bytes.data()), qsizetype(bytes.size()));
        };
        QByteArray bad = good;
        if (kind == "empty") bad.clear();
        if (kind == "header cut") bad = good.left(20);
        if (kind == "data cut") {
            bad.chop(1);
            why = why.arg(data.size()).arg(data.size() - 1);
        }
        if (kind == "garbage") {
            const auto words = vktest::lcgWords(1024);
            bad = QByteArray(reinterpret_cast<const char*>(words.data()), 4096);
        }
        if (kind == "uuid") bad[24] = char(bad[24] ^ 0x5a);
        if (kind == "driver") bad[16] = char(bad[16] ^ 0x01);
        if (kind == "vk uuid") bad = rewrap(QByteArray(data).replace(16, 1, QByteArray(1, char(data[16] ^ 0x5a))));
        if (kind == "vk version") bad = rewrap(QByteArray(data).replace(4, 1, QByteArray(1, char(2))));
        if (kind == "damaged") bad[bad.size() - 1] = char(bad[bad.size() - 1] ^ 0x01);

        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "cache.qspc";
        if (kind == "oversized") {
            QFile f(QString::fromStdString(file.string())); // sparse: nothing is written or read
            QVERIFY(f.open(QIODevice::WriteOnly) && f.write(good) == good.size() && f.resize((64 << 20) + 1));
        } else {
            writeAll(file, bad);
        }
        auto d = openDevice(file);
        QVERIFY(d); // the file never stops the device
        const std::string note = d->pipelineCacheNote();
        QVERIFY2(contains(note, "Vulkan pipeline cache: ignored " + QString::fromStdString(file.string()) + ": " + why),
                 note.c_str());
        QVERIFY2(contains(note, "; starting empty"), note.c_str());
        QVERIFY(probeWorks(*d));
        QVERIFY(d->savePipelineCache()); // the bad file is replaced by a good one
        QVERIFY(decodePipelineCacheFile(asBytes(readAll(file)), identity()).ok());
    }

    void directoryInPlaceOfTheFileIsANote()
    {
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "cache.qspc";
        fs::create_directory(file);
        auto d = openDevice(file);
        QVERIFY(d);
        QVERIFY2(contains(d->pipelineCacheNote(), "ignored " + QString::fromStdString(file.string()) +
                                                      ": not a regular file; starting empty"),
                 d->pipelineCacheNote().c_str());
        QVERIFY(probeWorks(*d));
        QVERIFY(!d->savePipelineCache());
        QVERIFY2(contains(d->pipelineCacheNote(), "; not saved: cannot rename "), d->pipelineCacheNote().c_str());
        QVERIFY(fs::is_directory(file));
    }

    void unwritableDirectoryIsANote_data()
    {
        QTest::addColumn<bool>("readOnly");
        QTest::addColumn<QString>("why");
        QTest::newRow("a file where the directory should be") << false << "not saved: cannot create the directory ";
        QTest::newRow("read-only directory") << true << "not saved: cannot create ";
    }

    void unwritableDirectoryIsANote()
    {
        QFETCH(bool, readOnly);
        QFETCH(QString, why);
        if (readOnly && ::geteuid() == 0) QSKIP("root writes into read-only directories");
        QTemporaryDir dir;
        const fs::path root(dir.path().toStdString());
        fs::path file;
        if (readOnly) {
            fs::create_directory(root / "ro");
            fs::permissions(root / "ro", fs::perms::owner_read | fs::perms::owner_exec);
            file = root / "ro" / "cache.qspc";
        } else {
            writeAll(root / "blocker", "x");
            file = root / "blocker" / "cache.qspc";
        }
        auto d = openDevice(file);
        QVERIFY(d);
        QVERIFY(probeWorks(*d));
        QVERIFY(!d->savePipelineCache());
        QVERIFY2(contains(d->pipelineCacheNote(), "; " + why), d->pipelineCacheNote().c_str());
        QVERIFY(probeWorks(*d)); // the device works on
        d.reset();
        if (readOnly) fs::permissions(root / "ro", fs::perms::owner_all);
        QVERIFY(!fs::exists(file));
    }

    void offWritesNothing_data()
    {
        QTest::addColumn<bool>("byOption");
        QTest::addColumn<QString>("note");
        QTest::newRow("QS_VULKAN_PIPELINE_CACHE=off") << false << "Vulkan pipeline cache: off (QS_VULKAN_PIPELINE_CACHE=off)";
        QTest::newRow("empty DeviceOptions path")
            << true << "Vulkan pipeline cache: off (DeviceOptions::pipelineCacheFile is empty)";
    }

    void offWritesNothing()
    {
        QFETCH(bool, byOption);
        QFETCH(QString, note);
        SavedEnvironment saved;
        QTemporaryDir dir;
        qputenv("XDG_CACHE_HOME", dir.path().toUtf8());
        qputenv("HOME", dir.path().toUtf8());
        qputenv("QS_VULKAN_PIPELINE_CACHE", byOption ? (dir.path() + "/env.qspc").toUtf8() : QByteArray("off"));
        auto d = openDevice(byOption ? std::optional<fs::path>(fs::path()) : std::nullopt);
        QVERIFY(d);
        QCOMPARE(QString::fromStdString(d->pipelineCacheNote()), note);
        QVERIFY(probeWorks(*d));
        QVERIFY(!d->savePipelineCache());
        d.reset();
        // The driver may keep caches of its own there (Mesa: mesa_shader_cache); ours are not.
        for (const auto& e : fs::recursive_directory_iterator(dir.path().toStdString())) {
            const std::string path = e.path().string();
            QVERIFY2(path.find("quantscope") == std::string::npos && e.path().extension() != ".qspc", path.c_str());
        }
    }

    void location_data()
    {
        QTest::addColumn<QString>("xdg");     // "-": unset; "@": the temporary directory
        QTest::addColumn<QString>("env");     // QS_VULKAN_PIPELINE_CACHE; "-": unset, "@/x": in the directory
        QTest::addColumn<QString>("option");  // DeviceOptions::pipelineCacheFile; "-": unset
        QTest::addColumn<QString>("expected"); // "NAME": the per-device file name
        QTest::newRow("XDG_CACHE_HOME") << "@/xdg" << "-" << "-" << "@/xdg/quantscope/NAME";
        QTest::newRow("no XDG_CACHE_HOME: HOME") << "-" << "-" << "-" << "@/home/.cache/quantscope/NAME";
        QTest::newRow("relative XDG_CACHE_HOME: HOME") << "rel/xdg" << "-" << "-" << "@/home/.cache/quantscope/NAME";
        QTest::newRow("empty QS_VULKAN_PIPELINE_CACHE: default") << "@/xdg" << "" << "-" << "@/xdg/quantscope/NAME";
        QTest::newRow("QS_VULKAN_PIPELINE_CACHE") << "@/xdg" << "@/env/c.bin" << "-" << "@/env/c.bin";
        QTest::newRow("option over the environment") << "@/xdg" << "@/env/c.bin" << "@/opt.bin" << "@/opt.bin";
    }

    void location()
    {
        QFETCH(QString, xdg);
        QFETCH(QString, env);
        QFETCH(QString, option);
        QFETCH(QString, expected);
        SavedEnvironment saved;
        QTemporaryDir dir;
        auto at = [&](QString s) { return s.replace("@", dir.path()); };
        // vendor-device-driverVersion-uuid in hexadecimal, as vk_pipeline_cache.h documents it.
        QString name = QString::asprintf("vulkan-%04x-%04x-%08x-", m_props.vendorID, m_props.deviceID,
                                         m_props.driverVersion) +
                       QByteArray(reinterpret_cast<const char*>(m_props.pipelineCacheUUID), 16).toHex() + ".qspc";
        qputenv("HOME", (dir.path() + "/home").toUtf8());
        xdg == "-" ? qunsetenv("XDG_CACHE_HOME") : qputenv("XDG_CACHE_HOME", at(xdg).toUtf8());
        env == "-" ? qunsetenv("QS_VULKAN_PIPELINE_CACHE") : qputenv("QS_VULKAN_PIPELINE_CACHE", at(env).toUtf8());
        auto d = openDevice(option == "-" ? std::nullopt : std::optional<fs::path>(at(option).toStdString()));
        QVERIFY(d);
        QVERIFY(probeWorks(*d));
        QVERIFY(d->savePipelineCache());
        const fs::path file = at(expected).replace("NAME", name).toStdString();
        QVERIFY2(fs::is_regular_file(file), d->pipelineCacheNote().c_str());
        QVERIFY(decodePipelineCacheFile(asBytes(readAll(file)), identity()).ok());
    }

    void everyCutOfAFileIsRefused()
    {
        const QByteArray good = validFile();
        QVERIFY(decodePipelineCacheFile(asBytes(good), identity()).ok());
        for (qsizetype n = 0; n < good.size(); ++n)
            QVERIFY2(!decodePipelineCacheFile(asBytes(good.left(n)), identity()).ok(), qPrintable(QString::number(n)));
    }

    void fnv1a64KnownValues_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<quint64>("hash");
        // Published FNV-1a 64 test vectors (Fowler, Noll, Vo).
        QTest::newRow("empty") << QByteArray() << quint64(0xcbf29ce484222325ull);
        QTest::newRow("a") << QByteArray("a") << quint64(0xaf63dc4c8601ec8cull);
        QTest::newRow("foobar") << QByteArray("foobar") << quint64(0x85944171f73967e8ull);
    }

    void fnv1a64KnownValues()
    {
        QFETCH(QByteArray, input);
        QFETCH(quint64, hash);
        QCOMPARE(quint64(fnv1a64(asBytes(input))), hash);
    }

    void queueSavesAfterAJobThatMadeKernels_data()
    {
        QTest::addColumn<bool>("garbage");
        QTest::newRow("no file yet") << false;
        QTest::newRow("a garbage file") << true;
    }

    void queueSavesAfterAJobThatMadeKernels()
    {
        QFETCH(bool, garbage);
        QTemporaryDir dir;
        const fs::path file = fs::path(dir.path().toStdString()) / "cache.qspc";
        if (garbage) writeAll(file, QByteArray(100, 'x'));
        DeviceOptions options;
        options.pipelineCacheFile = file;
        auto queue = ComputeQueue::create(m_f.instance, options);
        QVERIFY(queue);
        const std::string note = (*queue)->pipelineCacheNote(), warning = (*queue)->pipelineCacheWarning();
        if (garbage) {
            QVERIFY2(contains(note, "ignored") && warning == note, note.c_str());
        } else {
            QVERIFY2(contains(note, "none yet at") && warning.empty(), note.c_str());
        }
        auto job = (*queue)->submit([](Device& d) -> qs::core::Result<bool> { return probeWorks(d); });
        QVERIFY(job.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
        QVERIFY(*job.get());
        // Saved before the job's future was ready.
        QVERIFY(decodePipelineCacheFile(asBytes(readAll(file)), identity()).ok());
        QCOMPARE((*queue)->pipelineCacheNote(), note); // a successful save adds nothing
    }
};

QTEST_GUILESS_MAIN(TestVulkanPipelineCache)
#include "tst_vulkan_pipeline_cache.moc"
