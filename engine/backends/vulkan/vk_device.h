#pragma once
/// One Vulkan logical device with one compute queue, and what runs on it: buffers, compute
/// kernels (pipelines created once, through a pipeline cache kept on disk: vk_pipeline_cache.h)
/// and dispatches that wait on a fence with a timeout. A Device is used by one thread at a
/// time (the queue thread, vk_queue.h); it is not internally synchronised.
///
/// Memory: every buffer is host-visible and host-coherent (preferring host-cached memory, so
/// reading results back is fast), mapped for its whole life. That is simple and right on
/// lavapipe and integrated GPUs; on a discrete GPU the shader then reads over PCIe, so
/// kernels that need device bandwidth will want device-local buffers and a staging copy.
#include "vk_handles.h"
#include "vk_instance.h"
#include "vk_pipeline_cache.h"

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
    /// The pipeline-cache file (vk_pipeline_cache.h); an empty path turns the cache off.
    /// Default: QS_VULKAN_PIPELINE_CACHE, else one file per device under $XDG_CACHE_HOME/quantscope.
    std::optional<std::filesystem::path> pipelineCacheFile;
};

/// Faults a test can make the next dispatch or allocation meet (consumed once). They are
/// raised in this wrapper exactly where the driver would return them, so the error paths
/// that run are the real ones.
enum class Fault : uint8_t {
    None,
    SubmitDeviceLost,        ///< the next vkQueueSubmit returns VK_ERROR_DEVICE_LOST
    FenceTimeout,            ///< the next fence wait returns VK_TIMEOUT
    OutOfDeviceMemory,       ///< the next vkAllocateMemory returns VK_ERROR_OUT_OF_DEVICE_MEMORY
};

/// A storage buffer with its memory, mapped. Move-only.
struct Buffer {
    DeviceOwned<VkBuffer> buffer;
    DeviceOwned<VkDeviceMemory> memory;
    std::byte* mapped = nullptr;
    uint64_t bytes = 0;

    template <class T>
    std::span<T> as() const { return {reinterpret_cast<T*>(mapped), static_cast<size_t>(bytes / sizeof(T))}; }
};

/// What a compute kernel binds: `storageBuffers` storage buffers at bindings 0..N-1 of set 0
/// and a push-constant block of `pushBytes` bytes (a struct from shaders/push_constants.h).
struct KernelDesc {
    std::string shader;          ///< a variant name of shaders/spirv.h
    uint32_t storageBuffers = 1;
    uint32_t pushBytes = 0;
};

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

/// DispatchTiming summed over many dispatches: all of them for the wall time, those with
/// timestamps for the GPU time.
struct DispatchTotals {
    uint64_t dispatches = 0;
    uint64_t timedDispatches = 0; ///< dispatches with a GPU time
    double wallSeconds = 0;
    double gpuSeconds = 0;        ///< over timedDispatches

    void add(const DispatchTiming& t)
    {
        ++dispatches;
        wallSeconds += t.wallSeconds;
        if (t.gpuSeconds) {
            ++timedDispatches;
            gpuSeconds += *t.gpuSeconds;
        }
    }
    void add(const DispatchTotals& o)
    {
        dispatches += o.dispatches;
        timedDispatches += o.timedDispatches;
        wallSeconds += o.wallSeconds;
        gpuSeconds += o.gpuSeconds;
    }
};

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

    /// The heap buffers are allocated from (that of the host-visible memory type createBuffer
    /// uses), and its size, budget and usage as of now (VK_EXT_memory_budget where present).
    uint32_t bufferHeap() const { return m_bufferHeap; }
    MemoryHeapInfo heapNow();

    /// The largest chunk of a tensor a kernel should put in one buffer now: maxChunkBytes of
    /// bufferHeap() with a fresh budget. Kernels over larger tensors split them.
    uint64_t maxChunkBytes();

    /// A host-visible storage buffer of `bytes` bytes (> 0, at most maxStorageBufferRange and
    /// maxMemoryAllocationSize). VK_ERROR_OUT_OF_DEVICE_MEMORY and the like are error values.
    core::Result<Buffer> createBuffer(uint64_t bytes);

    /// The kernel of desc.shader, created on first use and kept (same desc on later calls, or
    /// InvalidArgument). Unknown shader names are InvalidArgument.
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

    /// Why the device can no longer be used (device lost, a fence timed out); empty if usable.
    const std::string& lost() const { return m_lost; }

    /// Test hook: the next matching call meets `fault` (see Fault).
    void injectFault(Fault fault) { m_fault = fault; }

private:
    Device() = default;
    core::Status init(const DeviceOptions& options);
    core::Status createQueueObjects();
    std::optional<uint32_t> memoryType(uint32_t allowedTypes, uint32_t* heap = nullptr) const;
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
    uint32_t m_bufferHeap = 0;
    PipelineCache m_pipelineCache;
    size_t m_kernelsAtSave = 0; ///< m_kernels.size() at the last savePipelineCache()
    DeviceOwned<VkCommandPool> m_commandPool;
    VkCommandBuffer m_commandBuffer = VK_NULL_HANDLE; // freed with the pool
    DeviceOwned<VkFence> m_fence;
    DeviceOwned<VkQueryPool> m_timestamps;
    std::map<std::string, std::unique_ptr<Kernel>> m_kernels;
    std::vector<DeviceOwned<VkDescriptorPool>> m_retired; ///< of dispatches that failed in flight
    std::string m_lost;
    DispatchTotals m_dispatchTotals;
    Fault m_fault = Fault::None;
};

} // namespace qs::backends::vulkan
