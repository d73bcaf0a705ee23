#include "vk_device_info.h"

#include <algorithm>
#include <cstring>

namespace qs::backends::vulkan {
namespace {

bool hasExtension(const std::vector<VkExtensionProperties>& exts, const char* name)
{
    return std::any_of(exts.begin(), exts.end(),
                       [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

std::vector<VkExtensionProperties> deviceExtensions(const Functions& vk, VkPhysicalDevice device)
{
    uint32_t n = 0;
    if (vk.vkEnumerateDeviceExtensionProperties(device, nullptr, &n, nullptr) != VK_SUCCESS) return {};
    std::vector<VkExtensionProperties> exts(n);
    if (vk.vkEnumerateDeviceExtensionProperties(device, nullptr, &n, exts.data()) != VK_SUCCESS) return {};
    exts.resize(n);
    return exts;
}

void queryProperties(const Functions& vk, VkPhysicalDevice device, PhysicalDeviceInfo& info)
{
    VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, &driver};
    VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup};
    vk.vkGetPhysicalDeviceProperties2(device, &props);
    const VkPhysicalDeviceProperties& p = props.properties;
    info.name = p.deviceName;
    info.type = p.deviceType;
    info.apiVersion = p.apiVersion;
    info.vendorId = p.vendorID;
    info.deviceId = p.deviceID;
    info.driverName = driver.driverName;
    info.driverInfo = driver.driverInfo;
    info.subgroupSize = subgroup.subgroupSize;
    info.timestampPeriodNs = p.limits.timestampPeriod;
    info.maxStorageBufferRange = p.limits.maxStorageBufferRange;
    for (int i = 0; i < 3; ++i)
        info.maxComputeWorkGroupCount[i] = p.limits.maxComputeWorkGroupCount[i];
    VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &m3};
    vk.vkGetPhysicalDeviceProperties2(device, &props2);
    info.maxMemoryAllocationSize = m3.maxMemoryAllocationSize;
}

void queryFeatures(const Functions& vk, VkPhysicalDevice device, PhysicalDeviceInfo& info)
{
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
    VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
    vk.vkGetPhysicalDeviceFeatures2(device, &features);
    info.shaderFloat16 = f12.shaderFloat16 == VK_TRUE;
    info.shaderInt8 = f12.shaderInt8 == VK_TRUE;
    info.storageBuffer8Bit = f12.storageBuffer8BitAccess == VK_TRUE;
    info.storageBuffer16Bit = f11.storageBuffer16BitAccess == VK_TRUE;
}

void queryQueues(const Functions& vk, VkPhysicalDevice device, PhysicalDeviceInfo& info)
{
    uint32_t n = 0;
    vk.vkGetPhysicalDeviceQueueFamilyProperties(device, &n, nullptr);
    std::vector<VkQueueFamilyProperties> families(n);
    vk.vkGetPhysicalDeviceQueueFamilyProperties(device, &n, families.data());
    for (uint32_t i = 0; i < n; ++i) {
        if (families[i].queueCount > 0 && (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) {
            info.computeQueueFamily = i;
            info.timestampValidBits = families[i].timestampValidBits;
            return;
        }
    }
}

int typeRank(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
    }
}

} // namespace

std::string_view deviceTypeName(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

std::string apiVersionString(uint32_t v)
{
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
           std::to_string(VK_API_VERSION_PATCH(v));
}

void queryHeaps(const Functions& vk, VkPhysicalDevice device, PhysicalDeviceInfo& info)
{
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mem{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
                                          info.memoryBudget ? &budget : nullptr};
    vk.vkGetPhysicalDeviceMemoryProperties2(device, &mem);
    info.heaps.clear();
    for (uint32_t h = 0; h < mem.memoryProperties.memoryHeapCount; ++h) {
        MemoryHeapInfo heap;
        heap.bytes = mem.memoryProperties.memoryHeaps[h].size;
        heap.deviceLocal = (mem.memoryProperties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
        if (info.memoryBudget) {
            heap.budgetBytes = budget.heapBudget[h];
            heap.usageBytes = budget.heapUsage[h];
        }
        info.heaps.push_back(heap);
    }
}

PhysicalDeviceInfo queryDeviceInfo(const Functions& vk, VkPhysicalDevice device, uint32_t index)
{
    PhysicalDeviceInfo info;
    info.index = index;
    queryProperties(vk, device, info);
    queryFeatures(vk, device, info);
    queryQueues(vk, device, info);
    const auto exts = deviceExtensions(vk, device);
    info.memoryBudget = hasExtension(exts, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    info.cooperativeMatrixNv = hasExtension(exts, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    queryHeaps(vk, device, info);
    return info;
}

uint64_t maxChunkBytes(const PhysicalDeviceInfo& info, uint32_t heap)
{
    if (heap >= info.heaps.size()) return 0;
    const MemoryHeapInfo& h = info.heaps[heap];
    uint64_t available = h.bytes;
    if (info.memoryBudget && h.budgetBytes > 0) available = h.budgetBytes > h.usageBytes ? h.budgetBytes - h.usageBytes : 0;
    uint64_t chunk = std::min<uint64_t>(info.maxStorageBufferRange, available / 4);
    if (info.maxMemoryAllocationSize > 0) chunk = std::min(chunk, info.maxMemoryAllocationSize);
    return chunk / 256 * 256;
}

core::Result<uint32_t> chooseDevice(const std::vector<PhysicalDeviceInfo>& devices, std::optional<uint32_t> index)
{
    if (devices.empty()) {
        return core::Error{core::ErrorCode::Unsupported,
                           "no Vulkan device: the Vulkan loader found no physical device"};
    }
    if (index) {
        if (*index >= devices.size()) {
            return core::Error{core::ErrorCode::InvalidArgument,
                               "Vulkan device index " + std::to_string(*index) + " is out of range (" +
                                   std::to_string(devices.size()) + " device(s): 0.." +
                                   std::to_string(devices.size() - 1) + ")"};
        }
        if (!devices[*index].computeQueueFamily) {
            return core::Error{core::ErrorCode::Unsupported,
                               "Vulkan device " + std::to_string(*index) + " (" + devices[*index].name +
                                   ") has no compute queue"};
        }
        return *index;
    }
    std::optional<uint32_t> best;
    for (const auto& d : devices) {
        if (d.computeQueueFamily && (!best || typeRank(d.type) < typeRank(devices[*best].type))) best = d.index;
    }
    if (!best) return core::Error{core::ErrorCode::Unsupported, "no Vulkan device: no device has a compute queue"};
    return *best;
}

} // namespace qs::backends::vulkan
