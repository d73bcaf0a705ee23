#include "vk_pipeline_cache.h"

#include "core/bytereader.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <system_error>

namespace qs::backends::vulkan {

namespace fs = std::filesystem;

namespace {

static_assert(std::endian::native == std::endian::little,
              "the cache file is read and written in host byte order");

constexpr uint32_t kMagic = 0x43505351; // "QSPC" read as a little-endian u32
constexpr uint32_t kLayoutVersion = 1;
// sizeof(VkPipelineCacheHeaderVersionOne), the header size the spec requires.
constexpr size_t kVulkanHeaderBytes = 32;
static_assert(sizeof(VkPipelineCacheHeaderVersionOne) == kVulkanHeaderBytes);

std::string hex(uint32_t v, int width)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "%0*x", width, v);
    return buf;
}

std::string mib(uint64_t bytes)
{
    return std::to_string(bytes >> 20) + " MiB";
}

template <class T> void append(std::vector<std::byte>& out, const T& v)
{
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

bool sameUuid(std::span<const std::byte> bytes, const std::array<uint8_t, VK_UUID_SIZE>& uuid)
{
    return bytes.size() == uuid.size() && std::memcmp(bytes.data(), uuid.data(), uuid.size()) == 0;
}

core::Error fileError(core::ErrorCode code, std::string message)
{
    return core::Error{code, std::move(message)};
}

/// The checks of the driver's own header (VkPipelineCacheHeaderVersionOne) at the start of `data`.
core::Status checkVulkanHeader(std::span<const std::byte> data, const PipelineCacheIdentity& id)
{
    if (data.size() < kVulkanHeaderBytes) {
        return fileError(core::ErrorCode::Truncated,
                         "its driver data (" + std::to_string(data.size()) +
                             " bytes) are shorter than a Vulkan pipeline cache header (32)");
    }
    core::ByteReader r(data);
    const uint32_t headerSize = r.u32(), headerVersion = r.u32(), vendor = r.u32(),
                   device = r.u32();
    const auto uuid = r.bytes(VK_UUID_SIZE);
    if (headerSize != kVulkanHeaderBytes || headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) {
        return fileError(core::ErrorCode::Unsupported,
                         "its Vulkan header has size " + std::to_string(headerSize) +
                             " and version " + std::to_string(headerVersion) +
                             " (32 and 1 are read)");
    }
    if (vendor != id.vendorId || device != id.deviceId || !sameUuid(uuid, id.uuid))
        return fileError(core::ErrorCode::Unsupported,
                         "its Vulkan header names another device or pipelineCacheUUID");
    return {};
}

/// A short random suffix, so that two processes saving at once never share a temporary file.
std::string tempSuffix()
{
    static thread_local std::mt19937_64 gen{std::random_device{}()};
    return ".tmp-" + hex(static_cast<uint32_t>(gen()), 8);
}

} // namespace

PipelineCacheIdentity pipelineCacheIdentity(const Functions& vk, VkPhysicalDevice physical)
{
    VkPhysicalDeviceProperties p;
    vk.vkGetPhysicalDeviceProperties(physical, &p);
    PipelineCacheIdentity id;
    id.vendorId = p.vendorID;
    id.deviceId = p.deviceID;
    id.driverVersion = p.driverVersion;
    std::memcpy(id.uuid.data(), p.pipelineCacheUUID, VK_UUID_SIZE);
    return id;
}

std::string pipelineCacheFileName(const PipelineCacheIdentity& id)
{
    std::string uuid;
    for (uint8_t b : id.uuid)
        uuid += hex(b, 2);
    return "vulkan-" + hex(id.vendorId, 4) + "-" + hex(id.deviceId, 4) + "-" +
           hex(id.driverVersion, 8) + "-" + uuid + ".qspc";
}

PipelineCacheLocation pipelineCacheLocation(const std::optional<fs::path>& option,
                                            const PipelineCacheIdentity& id)
{
    if (option) {
        if (option->empty())
            return {std::nullopt, "off (DeviceOptions::pipelineCacheFile is empty)"};
        return {*option, {}};
    }
    if (const char* env = std::getenv("QS_VULKAN_PIPELINE_CACHE"); env && *env) {
        if (std::string_view(env) == "off")
            return {std::nullopt, "off (QS_VULKAN_PIPELINE_CACHE=off)"};
        return {fs::path(env), {}};
    }
    fs::path base;
    // The XDG base-directory rules ignore a relative XDG_CACHE_HOME.
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && fs::path(xdg).is_absolute()) {
        base = xdg;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        base = fs::path(home) / ".cache";
    } else {
        return {std::nullopt, "off (neither XDG_CACHE_HOME nor HOME is set)"};
    }
    return {base / "quantscope" / pipelineCacheFileName(id), {}};
}

uint64_t fnv1a64(std::span<const std::byte> bytes)
{
    uint64_t h = 14695981039346656037ull; // FNV-1a 64-bit offset basis and prime (Fowler, Noll, Vo)
    for (std::byte b : bytes) {
        h ^= static_cast<uint8_t>(b);
        h *= 1099511628211ull;
    }
    return h;
}

std::vector<std::byte> encodePipelineCacheFile(std::span<const std::byte> data,
                                               const PipelineCacheIdentity& id)
{
    std::vector<std::byte> out;
    out.reserve(kPipelineCacheHeaderBytes + data.size());
    append(out, kMagic);
    append(out, kLayoutVersion);
    append(out, id.vendorId);
    append(out, id.deviceId);
    append(out, id.driverVersion);
    append(out, static_cast<uint32_t>(sizeof(void*)));
    append(out, id.uuid);
    append(out, static_cast<uint64_t>(data.size()));
    append(out, fnv1a64(data));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

core::Result<std::span<const std::byte>> decodePipelineCacheFile(std::span<const std::byte> file,
                                                                 const PipelineCacheIdentity& id)
{
    const std::string size = std::to_string(file.size()) + " bytes";
    if (file.size() > kMaxPipelineCacheFileBytes)
        return fileError(core::ErrorCode::Unsupported,
                         size + ", more than the " + mib(kMaxPipelineCacheFileBytes) + " read");
    if (file.size() < kPipelineCacheHeaderBytes)
        return fileError(core::ErrorCode::Truncated, size + ", shorter than its 56-byte header");
    core::ByteReader r(file);
    const uint32_t magic = r.u32(), version = r.u32(), vendor = r.u32(), device = r.u32(),
                   driver = r.u32();
    const uint32_t pointerBytes = r.u32();
    const auto uuid = r.bytes(VK_UUID_SIZE);
    const uint64_t dataBytes = r.u64(), hash = r.u64();
    if (magic != kMagic)
        return fileError(core::ErrorCode::Format,
                         "not a Quantscope pipeline cache (no QSPC magic)");
    if (version != kLayoutVersion)
        return fileError(core::ErrorCode::Unsupported,
                         "layout version " + std::to_string(version) + " (1 is read)");
    if (vendor != id.vendorId || device != id.deviceId || !sameUuid(uuid, id.uuid)) {
        return fileError(core::ErrorCode::Unsupported,
                         "made for another device (vendor 0x" + hex(vendor, 4) + ", device 0x" +
                             hex(device, 4) + ") or another pipelineCacheUUID");
    }
    if (driver != id.driverVersion || pointerBytes != sizeof(void*)) {
        return fileError(core::ErrorCode::Unsupported,
                         "made by another driver version (0x" + hex(driver, 8) +
                             ") or another build (" + std::to_string(pointerBytes * 8) + "-bit)");
    }
    const auto data = file.subspan(kPipelineCacheHeaderBytes);
    if (dataBytes != data.size()) {
        return fileError(data.size() < dataBytes ? core::ErrorCode::Truncated
                                                 : core::ErrorCode::Format,
                         "its header announces " + std::to_string(dataBytes) + " bytes of data, " +
                             std::to_string(data.size()) + " follow");
    }
    if (fnv1a64(data) != hash)
        return fileError(core::ErrorCode::Format, "its checksum does not match (damaged)");
    if (auto s = checkVulkanHeader(data, id); !s) return s.error();
    return data;
}

core::Result<PipelineCache> PipelineCache::open(const Functions& vk, VkDevice device,
                                                VkPhysicalDevice physical,
                                                const std::optional<fs::path>& option)
{
    PipelineCache c;
    c.m_vk = &vk;
    c.m_device = device;
    c.m_id = pipelineCacheIdentity(vk, physical);
    auto where = pipelineCacheLocation(option, c.m_id);
    c.m_file = std::move(where.file);
    if (!c.m_file) c.m_openNote = "Vulkan pipeline cache: " + where.why;
    std::vector<std::byte> file; // holds the data until vkCreatePipelineCache has copied them
    const std::span<const std::byte> data = c.m_file ? c.load(file) : std::span<const std::byte>();

    VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    info.initialDataSize = data.size();
    info.pInitialData = data.empty() ? nullptr : data.data();
    VkPipelineCache cache = VK_NULL_HANDLE;
    VkResult r = vk.vkCreatePipelineCache(device, &info, nullptr, &cache);
    if (r != VK_SUCCESS && !data.empty()) {
        c.m_openNote = "Vulkan pipeline cache: the driver refused " + c.m_file->string() + " (" +
                       resultName(r) + "); starting empty";
        c.m_openProblem = true;
        info.initialDataSize = 0;
        info.pInitialData = nullptr;
        r = vk.vkCreatePipelineCache(device, &info, nullptr, &cache);
    } else if (r == VK_SUCCESS && !data.empty()) {
        c.m_storedHash = fnv1a64(data);
    }
    if (r != VK_SUCCESS) return vkError("vkCreatePipelineCache", r);
    c.m_cache = {device, cache, vk.vkDestroyPipelineCache};
    return c;
}

std::span<const std::byte> PipelineCache::load(std::vector<std::byte>& bytes)
{
    const fs::path& path = *m_file;
    auto ignore = [&](const std::string& why) {
        m_openNote =
            "Vulkan pipeline cache: ignored " + path.string() + ": " + why + "; starting empty";
        m_openProblem = true;
        return std::span<const std::byte>();
    };
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found) {
        m_openNote = "Vulkan pipeline cache: none yet at " + path.string() +
                     " (compiled pipelines are saved there)";
        return {};
    }
    if (ec) return ignore(ec.message());
    if (!fs::is_regular_file(status)) return ignore("not a regular file");
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return ignore(ec.message());
    if (size > kMaxPipelineCacheFileBytes) // not read at all
        return ignore(std::to_string(size) + " bytes, more than the " +
                      mib(kMaxPipelineCacheFileBytes) + " read");
    bytes.resize(size);
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!in || static_cast<uint64_t>(in.gcount()) != size) return ignore("it could not be read");
    auto data = decodePipelineCacheFile(bytes, m_id);
    if (!data) return ignore(data.error().message);
    m_openNote = "Vulkan pipeline cache: loaded " + std::to_string(data->size()) + " bytes from " +
                 path.string();
    return *data;
}

std::string PipelineCache::note() const
{
    return m_saveNote.empty() ? m_openNote : m_openNote + "; " + m_saveNote;
}

bool PipelineCache::save()
{
    if (!m_file || !m_cache) return false;
    size_t n = 0;
    VkResult r = m_vk->vkGetPipelineCacheData(m_device, m_cache.get(), &n, nullptr);
    std::vector<std::byte> data(r == VK_SUCCESS ? n : 0);
    if (r == VK_SUCCESS) r = m_vk->vkGetPipelineCacheData(m_device, m_cache.get(), &n, data.data());
    if (r != VK_SUCCESS) {
        m_saveNote = "not saved: vkGetPipelineCacheData: " + resultName(r);
        return false;
    }
    data.resize(n);
    if (n + kPipelineCacheHeaderBytes > kMaxPipelineCacheFileBytes) {
        m_saveNote = "not saved: " + std::to_string(n) + " bytes, more than the " +
                     mib(kMaxPipelineCacheFileBytes) + " a cache file may hold";
        return false;
    }
    const uint64_t hash = fnv1a64(data);
    if (m_storedHash == hash) return false; // the file holds these data already
    if (!writeFile(encodePipelineCacheFile(data, m_id))) return false;
    m_storedHash = hash;
    m_saveNote.clear();
    return true;
}

bool PipelineCache::writeFile(std::span<const std::byte> bytes)
{
    const fs::path& path = *m_file;
    std::error_code ec;
    if (const fs::path dir = path.parent_path(); !dir.empty()) fs::create_directories(dir, ec);
    if (ec) {
        m_saveNote = "not saved: cannot create the directory " + path.parent_path().string() +
                     " (" + ec.message() + ")";
        return false;
    }
    fs::path temp = path;
    temp += tempSuffix();
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
        m_saveNote = "not saved: cannot create " + temp.string() + " (" +
                     std::generic_category().message(errno) + ")";
        return false;
    }
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        m_saveNote = "not saved: writing " + temp.string() + " failed (" +
                     std::generic_category().message(errno) + ")";
    } else if (fs::rename(temp, path, ec); ec) { // atomic within one directory
        m_saveNote = "not saved: cannot rename " + temp.string() + " to " + path.string() + " (" +
                     ec.message() + ")";
    } else {
        return true;
    }
    fs::remove(temp, ec);
    return false;
}

} // namespace qs::backends::vulkan
