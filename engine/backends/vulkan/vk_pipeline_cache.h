#pragma once
/// The Vulkan pipeline cache, kept on disk between runs so that a device does not compile
/// its compute pipelines again at every start.
///
/// Where: DeviceOptions::pipelineCacheFile when set (an empty path turns the cache off), else
/// the environment variable QS_VULKAN_PIPELINE_CACHE (a file path, or "off"), else
/// $XDG_CACHE_HOME/quantscope/<name> (when XDG_CACHE_HOME is an absolute path) or
/// $HOME/.cache/quantscope/<name>, with one <name> per device identity
/// (pipelineCacheFileName).
///
/// The file is untrusted input (another driver, a crash, a user, a full disk may have left
/// it): drivers need not survive malformed cache data, so nothing reaches
/// vkCreatePipelineCache before every check of decodePipelineCacheFile has passed. A file
/// that fails one is ignored (the cache starts empty) and note() says why; a file that cannot
/// be read or written is a note too. The cache file never makes device creation fail.
///
/// File layout, every integer little-endian (a Quantscope header, then the driver's data):
///   offset  0  u32  magic 0x43505351 ("QSPC")
///           4  u32  layout version (1)
///           8  u32  vendorID            12  u32  deviceID
///          16  u32  driverVersion       20  u32  sizeof(void*) of the writer
///          24  u8[16] pipelineCacheUUID
///          40  u64  N, bytes of driver data that follow
///          48  u64  FNV-1a 64 of those N bytes
///          56  N bytes from vkGetPipelineCacheData
///              (they start with VkPipelineCacheHeaderVersionOne)
#include "vk_handles.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qs::backends::vulkan {

/// What a pipeline cache is valid for: the physical device and its driver build.
struct PipelineCacheIdentity {
    uint32_t vendorId = 0;
    uint32_t deviceId = 0;
    uint32_t driverVersion = 0;
    std::array<uint8_t, VK_UUID_SIZE> uuid{}; ///< VkPhysicalDeviceProperties::pipelineCacheUUID
};

/// The identity of `physical` (vkGetPhysicalDeviceProperties).
PipelineCacheIdentity pipelineCacheIdentity(const Functions& vk, VkPhysicalDevice physical);

/// "vulkan-<vendor>-<device>-<driverVersion>-<uuid>.qspc", the numbers in hexadecimal.
std::string pipelineCacheFileName(const PipelineCacheIdentity& id);

/// Files larger than this are not read (a cache of this project's few dozen kernels is
/// far smaller).
inline constexpr uint64_t kMaxPipelineCacheFileBytes = uint64_t{64} << 20;

/// Size of the Quantscope header before the driver's data.
inline constexpr size_t kPipelineCacheHeaderBytes = 56;

/// Where the cache of `id` lives: `file` empty means the cache is off, and `why` says why
/// (in words for a note).
struct PipelineCacheLocation {
    std::optional<std::filesystem::path> file;
    std::string why;
};

/// Resolves the location as described at the top of this header. `option` is
/// DeviceOptions::pipelineCacheFile.
PipelineCacheLocation pipelineCacheLocation(const std::optional<std::filesystem::path>& option,
                                            const PipelineCacheIdentity& id);

/// The file's bytes for driver cache `data` of `id`.
std::vector<std::byte> encodePipelineCacheFile(std::span<const std::byte> data,
                                               const PipelineCacheIdentity& id);

/// The driver data inside a cache file's bytes, once every check passed: size within
/// kMaxPipelineCacheFileBytes, magic, layout version, identity and pointer size, data length,
/// checksum, then the data's own VkPipelineCacheHeaderVersionOne (header size 32, version
/// ONE, vendorID, deviceID, pipelineCacheUUID). Format/Truncated/Unsupported error saying
/// which check failed otherwise.
core::Result<std::span<const std::byte>> decodePipelineCacheFile(std::span<const std::byte> file,
                                                                 const PipelineCacheIdentity& id);

/// FNV-1a 64 of `bytes` (the file's checksum: it finds a file cut short or damaged; it is no
/// defence against a file made on purpose, which the driver must then survive like any data).
uint64_t fnv1a64(std::span<const std::byte> bytes);

/// The VkPipelineCache of one device, seeded from its file and written back to it. Move-only.
class PipelineCache {
public:
    PipelineCache() = default;

    /// Creates the cache of `device`, from the file when it passes decodePipelineCacheFile,
    /// empty otherwise (note() says why). An error only when vkCreatePipelineCache fails for
    /// an empty cache, never because of the file.
    static core::Result<PipelineCache> open(const Functions& vk, VkDevice device,
                                            VkPhysicalDevice physical,
                                            const std::optional<std::filesystem::path>& option);

    VkPipelineCache get() const { return m_cache.get(); }

    /// The file, or nullopt when the cache is off.
    const std::optional<std::filesystem::path>& file() const { return m_file; }

    /// One line for the user: what happened to the file at open ("loaded N bytes from ...",
    /// "none yet at ...", "ignored ...: why", "off ..."), and, after a failed save, why the
    /// file could not be written.
    std::string note() const;

    /// note() when it reports a problem (a file ignored or refused, a save that failed), for a
    /// program that mentions only those; empty otherwise.
    std::string warning() const
    {
        return m_openProblem || !m_saveNote.empty() ? note() : std::string();
    }

    /// Writes the cache to its file when its data differ from what was loaded or last
    /// written: into a temporary file in the same directory, then renamed over the file, so a
    /// reader never sees half a file. True when written; a failure is kept for note(), never
    /// an error.
    bool save();

    /// Destroys the VkPipelineCache (without saving).
    void reset() { m_cache.reset(); }

private:
    /// Reads and checks the file into `bytes`; the driver data in it, or empty (note says why).
    std::span<const std::byte> load(std::vector<std::byte>& bytes);
    bool writeFile(std::span<const std::byte> data);

    const Functions* m_vk = nullptr;
    VkDevice m_device = VK_NULL_HANDLE;
    DeviceOwned<VkPipelineCache> m_cache;
    PipelineCacheIdentity m_id;
    std::optional<std::filesystem::path> m_file;
    std::string m_openNote;
    std::string m_saveNote;
    bool m_openProblem = false;           ///< the file was there but not used
    std::optional<uint64_t> m_storedHash; ///< FNV-1a of the data in the file, when known
};

} // namespace qs::backends::vulkan
