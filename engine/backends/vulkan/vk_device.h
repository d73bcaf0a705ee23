#pragma once
/// One Vulkan logical device with one compute queue, and what runs on it: buffers, compute
/// kernels (pipelines created once, through a pipeline cache kept on disk: vk_pipeline_cache.h)
/// and dispatches that wait on a fence with a timeout. A Device is used by one thread at a
/// time (the queue thread, vk_queue.h); it is not internally synchronised.
///
/// Memory comes in two kinds (BufferKind):
///   HostVisible  host-visible, host-coherent (host-cached preferred, so reading results back
///                is fast), mapped for the buffer's whole life. For data the device reads once
///                (the quantize, statistics and metrics kernels stream each value once from the
///                host's tensor) and for results: on a discrete GPU a staging copy of such data
///                would cross PCIe exactly once as well, plus a second pass through VRAM, so
///                the shader reading host memory directly is as fast and needs no copy.
///   DeviceLocal  the first DEVICE_LOCAL memory type (the GPU's own memory), for data read
///                many times on the device (prepared linear weights, the read-bandwidth probe's
///                source). When that type is also host-visible and host-coherent (integrated
///                GPUs, lavapipe, some resizable-BAR setups) the buffer is mapped and written
///                directly; otherwise upload()/download() go through a host-visible staging
///                buffer and vkCmdCopyBuffer, in pieces of at most kStagingBytes.
#include "vk_handles.h"
#include "vk_instance.h"
#include "vk_pipeline_cache.h"

#include "core/device_time.h"

#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace qs::backends::vulkan {

struct DeviceOptions {
    std::optional<uint32_t> index;                  ///< physical device; default: chooseDevice
    std::chrono::milliseconds fenceTimeout{30000};  ///< how long a dispatch may run
    /// Test hook: device-local buffers are never mapped, even where their memory type is
    /// host-visible, so that the staging path of upload()/download() runs on lavapipe too.
    /// VulkanBackend sets it from QS_VULKAN_FORCE_STAGING=1 (deviceOptionsFromEnvironment).
    bool forceStaging = false;
    /// The pipeline-cache file (vk_pipeline_cache.h); an empty path turns the cache off.
    /// Default: QS_VULKAN_PIPELINE_CACHE, else one file per device under $XDG_CACHE_HOME/quantscope.
    std::optional<std::filesystem::path> pipelineCacheFile;
};

/// DeviceOptions::forceStaging from QS_VULKAN_FORCE_STAGING ("0" or "1"; unset: false).
/// InvalidArgument for any other value.
core::Result<bool> forceStagingFromEnvironment();

/// Where a buffer's memory lives (see the file comment for which kernel uses which).
enum class BufferKind : uint8_t {
    HostVisible, ///< host-visible, host-coherent, always mapped: streamed inputs, results
    DeviceLocal, ///< device memory: data the device reads many times; mapped only where it can be
};

/// Largest piece of one staging copy (the staging buffer's size).
inline constexpr uint64_t kStagingBytes = uint64_t{16} << 20;

/// Faults a test can make the next dispatch or allocation meet (consumed once). They are
/// raised in this wrapper exactly where the driver would return them, so the error paths
/// that run are the real ones.
enum class Fault : uint8_t {
    None,
    SubmitDeviceLost,        ///< the next vkQueueSubmit returns VK_ERROR_DEVICE_LOST
    FenceTimeout,            ///< the next fence wait returns VK_TIMEOUT
    OutOfDeviceMemory,       ///< the next vkAllocateMemory returns VK_ERROR_OUT_OF_DEVICE_MEMORY
};

/// A storage buffer with its memory. Move-only. HostVisible buffers are always mapped;
/// DeviceLocal ones only where their memory is host-visible (otherwise `mapped` is null and
/// the data moves through Device::upload / Device::download, which work for both kinds).
struct Buffer {
    DeviceOwned<VkBuffer> buffer;
    DeviceOwned<VkDeviceMemory> memory;
    std::byte* mapped = nullptr;
    uint64_t bytes = 0;
    BufferKind kind = BufferKind::HostVisible;

    /// The mapped contents as T; empty when the buffer is not mapped.
    template <class T>
    std::span<T> as() const
    {
        if (!mapped) return {};
        return {reinterpret_cast<T*>(mapped), static_cast<size_t>(bytes / sizeof(T))};
    }
};

/// What a compute kernel binds: `storageBuffers` storage buffers at bindings 0..N-1 of set 0
/// and a push-constant block of `pushBytes` bytes (a struct from shaders/push_constants.h);
/// `constants` specialise the shader: constant_id i takes constants[i] (a 32-bit value).
/// Each distinct (shader, constants) is its own pipeline, named kernelName(desc).
struct KernelDesc {
    std::string shader;          ///< a variant name of shaders/spirv.h
    uint32_t storageBuffers = 1;
    uint32_t pushBytes = 0;
    std::vector<uint32_t> constants;
};

/// desc.shader, followed by "[c0,c1,...]" when it has specialisation constants.
std::string kernelName(const KernelDesc& desc);

/// A compute pipeline with its layouts.
struct Kernel {
    KernelDesc desc;
    DeviceOwned<VkDescriptorSetLayout> setLayout;
    DeviceOwned<VkPipelineLayout> layout;
    DeviceOwned<VkPipeline> pipeline;
};

/// One dispatch: the kernel, its buffers in binding order, its push constants, the grid.
struct Dispatch {
    const Kernel* kernel = nullptr;
    std::vector<const Buffer*> buffers;
    std::vector<std::byte> push;
    uint32_t groups[3] = {1, 1, 1};

    template <class P>
    void setPush(const P& p)
    {
        push.resize(sizeof(P));
        std::memcpy(push.data(), &p, sizeof(P));
    }
};

/// Timings of one dispatch: the CPU wall time from submit to fence, and the GPU time between
/// two timestamps around the dispatch (ticks x timestampPeriod); no GPU time when the queue
/// has no timestamps.
struct DispatchTiming {
    double wallSeconds = 0;
    std::optional<double> gpuSeconds;
};

/// DispatchTiming summed over many dispatches (core::DeviceTime: the one definition the CLI
/// and the workbench report).
using DispatchTotals = core::DeviceTime;

class Device {
public:
    /// Creates the logical device on the chosen physical device (DeviceOptions::index, else
    /// chooseDevice). Errors: "no Vulkan device: ..." when there is none, the Vulkan call
    /// that failed otherwise.
    static core::Result<std::unique_ptr<Device>> create(std::shared_ptr<const Instance> instance,
                                                        const DeviceOptions& options = {});
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    ~Device();

    const PhysicalDeviceInfo& info() const { return m_info; }
    const Instance& instance() const { return *m_instance; }
    const DeviceOptions& options() const { return m_options; }
    VkDevice handle() const { return m_device; }

    /// The heap buffers of `kind` are allocated from (that of the memory type createBuffer
    /// picks for the kind), and its size, budget and usage as of now (VK_EXT_memory_budget
    /// where present). On lavapipe and integrated GPUs both kinds share one heap.
    uint32_t bufferHeap(BufferKind kind = BufferKind::HostVisible) const { return m_bufferHeap[size_t(kind)]; }
    MemoryHeapInfo heapNow(BufferKind kind = BufferKind::HostVisible);

    /// The largest chunk of a tensor a kernel should put in one buffer of `kind` now:
    /// maxChunkBytes of bufferHeap(kind) with a fresh budget. Kernels over larger tensors split them.
    uint64_t maxChunkBytes(BufferKind kind = BufferKind::HostVisible);

    /// A storage buffer of `bytes` bytes (> 0, at most maxStorageBufferRange and
    /// maxMemoryAllocationSize) of `kind`. VK_ERROR_OUT_OF_DEVICE_MEMORY and the like are
    /// error values (Fault::OutOfDeviceMemory meets either kind).
    core::Result<Buffer> createBuffer(uint64_t bytes, BufferKind kind = BufferKind::HostVisible);

    /// Writes `data` into `dst` at byte `offset` (offset + size <= dst.bytes, else
    /// InvalidArgument): a memcpy into a mapped buffer, else copies through the staging buffer
    /// (vkCmdCopyBuffer, pieces of kStagingBytes, each submitted and waited for). Work already
    /// run on the device that reads or writes `dst` is ordered before the copy, and shader
    /// reads after it see the data (pipeline barriers).
    core::Status upload(Buffer& dst, uint64_t offset, std::span<const std::byte> data);

    /// Reads `out.size()` bytes of `src` from byte `offset` into `out` (the same rules as upload;
    /// shader writes of earlier dispatches are made visible to the copy).
    core::Status download(const Buffer& src, uint64_t offset, std::span<std::byte> out);

    /// Buffers that outlive the job that made them (prepared linear weights): the device owns
    /// them, so they are destroyed with it (before vkDestroyDevice) when it is lost and
    /// recreated, and a holder keeps only the id and serial(). keepResident returns the id;
    /// resident(id) the buffers (empty for an unknown or released id); releaseResident frees them.
    uint64_t keepResident(std::vector<Buffer> buffers);
    std::span<const Buffer> resident(uint64_t id) const;
    void releaseResident(uint64_t id);
    /// Bytes held by resident buffers.
    uint64_t residentBytes() const;

    /// A number no other Device of this process has had: tells a holder of resident ids
    /// whether the device it prepared on is still this one.
    uint64_t serial() const { return m_serial; }

    /// The kernel of desc.shader with desc.constants, created on first use and kept (same
    /// bindings and push size on later calls, or InvalidArgument). Unknown shader names are
    /// InvalidArgument.
    core::Result<const Kernel*> kernel(const KernelDesc& desc);

    /// Records, submits and waits for one dispatch. A fence that does not signal within
    /// options().fenceTimeout, or a lost device, is an error value, after which the device
    /// refuses further work (lost() says why) and must be recreated.
    core::Result<DispatchTiming> run(const Dispatch& dispatch);

    /// What became of the pipeline-cache file: loaded, none yet, ignored and why, off, or not
    /// writable (PipelineCache::note). For the user; the device works in every case.
    std::string pipelineCacheNote() const { return m_pipelineCache.note(); }
    /// pipelineCacheNote() when it reports a problem, else empty (PipelineCache::warning).
    std::string pipelineCacheWarning() const { return m_pipelineCache.warning(); }

    /// Writes the pipeline cache to its file when kernels were created since the last save
    /// and the cache's data changed (atomically; a failure goes to pipelineCacheNote()). True
    /// when the file was written. Also done when the device is destroyed.
    bool savePipelineCache();

    /// The timings of every dispatch run() completed since the last call, then starts again.
    DispatchTotals takeDispatchTotals() { return std::exchange(m_dispatchTotals, {}); }
    /// The dispatches since the last takeDispatchTotals (within a queue job: the job's so far).
    const DispatchTotals& dispatchTotals() const { return m_dispatchTotals; }

    /// Why the device can no longer be used (device lost, a fence timed out); empty if usable.
    const std::string& lost() const { return m_lost; }

    /// Test hook: the next matching call meets `fault` (see Fault).
    void injectFault(Fault fault) { m_fault = fault; }

private:
    Device() = default;
    core::Status init(const DeviceOptions& options);
    core::Status createQueueObjects();
    core::Status initMemory();
    std::optional<uint32_t> memoryType(BufferKind kind, uint32_t allowedTypes, uint32_t* heap = nullptr) const;
    bool mapsDirectly(uint32_t memoryType) const;
    core::Result<Buffer> allocate(uint64_t bytes, VkBufferUsageFlags usage, BufferKind kind);
    core::Status ensureStaging();
    core::Status checkTransfer(const Buffer& b, uint64_t offset, uint64_t size, const char* what) const;
    core::Status copyThroughStaging(const Buffer& deviceBuffer, uint64_t offset, uint64_t size, bool toDevice);
    bool takeFault(Fault f);
    core::Status checkDispatch(const Dispatch& d) const;
    core::Result<VkDescriptorPool> bindBuffers(const Dispatch& d, VkDescriptorSet& set);
    core::Status record(const Dispatch& d, VkDescriptorSet set);
    core::Status submitAndWait(const std::string& what);
    std::optional<double> readGpuSeconds();

    std::shared_ptr<const Instance> m_instance;
    const Functions* m_vk = nullptr;
    DeviceOptions m_options;
    PhysicalDeviceInfo m_info;
    VkPhysicalDevice m_physical = VK_NULL_HANDLE;
    VkDevice m_device = VK_NULL_HANDLE; // destroyed last (~Device), after every owner below
    VkQueue m_queue = VK_NULL_HANDLE;
    uint32_t m_bufferHeap[2] = {0, 0}; ///< per BufferKind
    uint64_t m_serial = 0;
    VkPhysicalDeviceMemoryProperties m_memory{};
    PipelineCache m_pipelineCache;
    size_t m_kernelsAtSave = 0; ///< m_kernels.size() at the last savePipelineCache()
    DeviceOwned<VkCommandPool> m_commandPool;
    VkCommandBuffer m_commandBuffer = VK_NULL_HANDLE; // freed with the pool
    DeviceOwned<VkFence> m_fence;
    DeviceOwned<VkQueryPool> m_timestamps;
    std::map<std::string, std::unique_ptr<Kernel>> m_kernels;
    std::optional<Buffer> m_staging; ///< created on the first staged copy
    std::map<uint64_t, std::vector<Buffer>> m_resident;
    uint64_t m_nextResident = 1;
    std::vector<DeviceOwned<VkDescriptorPool>> m_retired; ///< of dispatches that failed in flight
    std::string m_lost;
    DispatchTotals m_dispatchTotals;
    Fault m_fault = Fault::None;
};

} // namespace qs::backends::vulkan
