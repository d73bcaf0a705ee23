#pragma once
/// What a Vulkan physical device offers, as plain values: for choosing a device, for the
/// CLI's `devices` listing and for kernels that depend on a feature (subgroups, fp16, int8).
#include "vk_loader.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qs::backends::vulkan {

struct MemoryHeapInfo {
    uint64_t bytes = 0;
    bool deviceLocal = false;
    /// VK_EXT_memory_budget: what this process may still allocate from the heap; 0 = unknown.
    uint64_t budgetBytes = 0;
    uint64_t usageBytes = 0; ///< VK_EXT_memory_budget: what this process uses now
};

struct PhysicalDeviceInfo {
    uint32_t index = 0; ///< position in vkEnumeratePhysicalDevices order
    std::string name;
    VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
    uint32_t apiVersion = 0;
    uint32_t vendorId = 0;
    uint32_t deviceId = 0;
    std::string driverName; ///< VkPhysicalDeviceDriverProperties (e.g. "llvmpipe")
    std::string driverInfo; ///< e.g. "Mesa 22.3.6 (LLVM 15.0.6)"
    std::vector<MemoryHeapInfo> heaps;
    bool memoryBudget = false;       ///< VK_EXT_memory_budget present
    uint32_t subgroupSize = 0;
    bool shaderFloat16 = false;
    bool shaderInt8 = false;
    bool storageBuffer8Bit = false;
    bool storageBuffer16Bit = false;
    bool cooperativeMatrixNv = false; ///< VK_NV_cooperative_matrix present
    std::optional<uint32_t> computeQueueFamily; ///< first family with VK_QUEUE_COMPUTE_BIT
    uint32_t timestampValidBits = 0; ///< of the compute family; 0 = no timestamps
    float timestampPeriodNs = 0;     ///< nanoseconds per timestamp tick
    uint64_t maxStorageBufferRange = 0;
    uint64_t maxMemoryAllocationSize = 0;
    uint32_t maxComputeWorkGroupCount[3] = {0, 0, 0};
};

/// "discrete", "integrated", "virtual", "cpu", "other".
std::string_view deviceTypeName(VkPhysicalDeviceType type);

/// "1.3.230" from a VK_MAKE_API_VERSION value.
std::string apiVersionString(uint32_t version);

/// Reads everything above from one physical device.
PhysicalDeviceInfo queryDeviceInfo(const Functions& vk, VkPhysicalDevice device, uint32_t index);

/// Refreshes `heaps` (budget and usage) of a device, for a process whose allocations changed.
void queryHeaps(const Functions& vk, VkPhysicalDevice device, PhysicalDeviceInfo& info);

/// Bytes a kernel may allocate for one chunk of a large tensor on heap `heap`:
///   min(maxStorageBufferRange, maxMemoryAllocationSize, available / 4), rounded down to a
///   multiple of 256 bytes,
/// where available = budget - usage with VK_EXT_memory_budget, else the heap's size. A
/// quarter leaves room for a kernel's input, output and scratch chunks at once, and for other
/// users of the heap. 0 when `heap` is out of range.
uint64_t maxChunkBytes(const PhysicalDeviceInfo& info, uint32_t heap);

/// The device to use: `index` when given (InvalidArgument naming the valid range when out of
/// range), else the first discrete GPU, then integrated, then virtual, then CPU, then other.
/// Unsupported "no Vulkan device: ..." when the list is empty or no device has a compute queue.
core::Result<uint32_t> chooseDevice(const std::vector<PhysicalDeviceInfo>& devices,
                                    std::optional<uint32_t> index);

} // namespace qs::backends::vulkan
