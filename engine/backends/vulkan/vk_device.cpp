#include "vk_device.h"

namespace qs::backends::vulkan {

core::Result<std::unique_ptr<Device>> Device::create(std::shared_ptr<const Instance> instance,
                                                     const DeviceOptions& options)
{
    std::unique_ptr<Device> d(new Device);
    d->m_instance = std::move(instance);
    d->m_vk = &d->m_instance->vk();
    if (auto s = d->init(options); !s) return s.error();
    return d;
}

core::Status Device::init(const DeviceOptions& options)
{
    m_options = options;
    auto index = chooseDevice(m_instance->devices(), options.index);
    if (!index) return index.error();
    m_info = m_instance->devices()[*index];
    m_physical = m_instance->physicalDevice(*index);
    if (m_info.apiVersion < VK_API_VERSION_1_2) {
        return core::Error{core::ErrorCode::Unsupported, "no Vulkan device: " + m_info.name + " supports Vulkan " +
                                                             apiVersionString(m_info.apiVersion) + " (1.2 is needed)"};
    }
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue.queueFamilyIndex = *m_info.computeQueueFamily;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    // The features later kernels use, where the device has them (queried, never assumed).
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    f12.shaderInt8 = m_info.shaderInt8;
    f12.shaderFloat16 = m_info.shaderFloat16;
    f12.storageBuffer8BitAccess = m_info.storageBuffer8Bit;
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
    f11.storageBuffer16BitAccess = m_info.storageBuffer16Bit;
    std::vector<const char*> extensions;
    if (m_info.memoryBudget) extensions.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &f11};
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();
    if (VkResult r = m_vk->vkCreateDevice(m_physical, &info, nullptr, &m_device); r != VK_SUCCESS) {
        m_device = VK_NULL_HANDLE;
        return vkError("vkCreateDevice on " + m_info.name, r);
    }
    m_vk->vkGetDeviceQueue(m_device, queue.queueFamilyIndex, 0, &m_queue);
    return createQueueObjects();
}

core::Status Device::createQueueObjects()
{
    const VkDevice dev = m_device;
    auto cache = PipelineCache::open(*m_vk, dev, m_physical, m_options.pipelineCacheFile);
    if (!cache) return cache.error();
    m_pipelineCache = std::move(*cache);

    VkCommandPoolCreateInfo poolInfo{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    poolInfo.queueFamilyIndex = *m_info.computeQueueFamily;
    VkCommandPool pool = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateCommandPool(dev, &poolInfo, nullptr, &pool); r != VK_SUCCESS)
        return vkError("vkCreateCommandPool", r);
    m_commandPool = {dev, pool, m_vk->vkDestroyCommandPool};

    VkCommandBufferAllocateInfo cbInfo{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cbInfo.commandPool = pool;
    cbInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cbInfo.commandBufferCount = 1;
    if (VkResult r = m_vk->vkAllocateCommandBuffers(dev, &cbInfo, &m_commandBuffer); r != VK_SUCCESS)
        return vkError("vkAllocateCommandBuffers", r);

    VkFenceCreateInfo fenceInfo{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateFence(dev, &fenceInfo, nullptr, &fence); r != VK_SUCCESS)
        return vkError("vkCreateFence", r);
    m_fence = {dev, fence, m_vk->vkDestroyFence};

    if (m_info.timestampValidBits > 0) {
        VkQueryPoolCreateInfo qInfo{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
        qInfo.queryType = VK_QUERY_TYPE_TIMESTAMP;
        qInfo.queryCount = 2;
        VkQueryPool qp = VK_NULL_HANDLE;
        if (VkResult r = m_vk->vkCreateQueryPool(dev, &qInfo, nullptr, &qp); r != VK_SUCCESS)
            return vkError("vkCreateQueryPool", r);
        m_timestamps = {dev, qp, m_vk->vkDestroyQueryPool};
    }
    return initMemory();
}

Device::~Device()
{
    if (m_device == VK_NULL_HANDLE) return;
    // Nothing may be destroyed while the GPU may still use it; after a device loss the wait
    // returns at once with VK_ERROR_DEVICE_LOST, and destroying is then allowed.
    m_vk->vkDeviceWaitIdle(m_device);
    savePipelineCache();
    m_retired.clear();
    m_resident.clear();
    m_staging.reset();
    m_kernels.clear();
    m_timestamps.reset();
    m_fence.reset();
    m_commandPool.reset();
    m_pipelineCache.reset();
    m_vk->vkDestroyDevice(m_device, nullptr);
}

bool Device::savePipelineCache()
{
    // Only pipelines made here change the cache: no need to copy and hash its data otherwise.
    // A lost device's cache is not trusted.
    if (!m_lost.empty() || m_kernels.size() == m_kernelsAtSave) return false;
    m_kernelsAtSave = m_kernels.size();
    return m_pipelineCache.save();
}

bool Device::takeFault(Fault f)
{
    if (m_fault != f) return false;
    m_fault = Fault::None;
    return true;
}

} // namespace qs::backends::vulkan
