// Device: kernels (pipelines) and dispatches.
#include "vk_device.h"

#include "shaders/spirv.h"

namespace qs::backends::vulkan {
namespace {

bool sameDesc(const KernelDesc& a, const KernelDesc& b)
{
    return a.shader == b.shader && a.storageBuffers == b.storageBuffers && a.pushBytes == b.pushBytes &&
           a.constants == b.constants;
}

} // namespace

std::string kernelName(const KernelDesc& desc)
{
    std::string name = desc.shader;
    for (size_t i = 0; i < desc.constants.size(); ++i)
        name += (i == 0 ? "[" : ",") + std::to_string(desc.constants[i]);
    return desc.constants.empty() ? name : name + "]";
}

core::Result<const Kernel*> Device::kernel(const KernelDesc& desc)
{
    const std::string name = kernelName(desc);
    if (auto it = m_kernels.find(name); it != m_kernels.end()) {
        if (!sameDesc(it->second->desc, desc)) {
            return core::Error{core::ErrorCode::InvalidArgument,
                               "Vulkan kernel " + name + " was created with other bindings or push constants"};
        }
        return it->second.get();
    }
    const auto words = shaders::spirv(desc.shader);
    if (words.empty()) return core::Error{core::ErrorCode::InvalidArgument, "no shader named '" + desc.shader + "'"};
    auto k = std::make_unique<Kernel>();
    k->desc = desc;

    std::vector<VkDescriptorSetLayoutBinding> bindings(desc.storageBuffers);
    for (uint32_t i = 0; i < desc.storageBuffers; ++i)
        bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo dslInfo{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    dslInfo.bindingCount = desc.storageBuffers;
    dslInfo.pBindings = bindings.data();
    VkDescriptorSetLayout dsl = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateDescriptorSetLayout(m_device, &dslInfo, nullptr, &dsl); r != VK_SUCCESS)
        return vkError("vkCreateDescriptorSetLayout", r);
    k->setLayout = {m_device, dsl, m_vk->vkDestroyDescriptorSetLayout};

    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, desc.pushBytes};
    VkPipelineLayoutCreateInfo plInfo{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    plInfo.setLayoutCount = 1;
    plInfo.pSetLayouts = &dsl;
    plInfo.pushConstantRangeCount = desc.pushBytes > 0 ? 1 : 0;
    plInfo.pPushConstantRanges = &range;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreatePipelineLayout(m_device, &plInfo, nullptr, &layout); r != VK_SUCCESS)
        return vkError("vkCreatePipelineLayout", r);
    k->layout = {m_device, layout, m_vk->vkDestroyPipelineLayout};

    VkShaderModuleCreateInfo smInfo{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    smInfo.codeSize = words.size_bytes();
    smInfo.pCode = words.data();
    VkShaderModule module = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateShaderModule(m_device, &smInfo, nullptr, &module); r != VK_SUCCESS)
        return vkError("vkCreateShaderModule " + desc.shader, r);
    DeviceOwned<VkShaderModule> moduleOwner(m_device, module, m_vk->vkDestroyShaderModule);

    VkComputePipelineCreateInfo pInfo{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pInfo.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    pInfo.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pInfo.stage.module = module;
    pInfo.stage.pName = "main";
    std::vector<VkSpecializationMapEntry> entries(desc.constants.size());
    for (uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, i * 4, 4};
    const VkSpecializationInfo specialization{uint32_t(entries.size()), entries.data(), desc.constants.size() * 4,
                                              desc.constants.data()};
    if (!entries.empty()) pInfo.stage.pSpecializationInfo = &specialization;
    pInfo.layout = layout;
    VkPipeline pipeline = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateComputePipelines(m_device, m_pipelineCache.get(), 1, &pInfo, nullptr, &pipeline);
        r != VK_SUCCESS)
        return vkError("vkCreateComputePipelines " + name, r);
    k->pipeline = {m_device, pipeline, m_vk->vkDestroyPipeline};
    const Kernel* result = k.get();
    m_kernels.emplace(name, std::move(k));
    return result;
}

core::Status Device::checkDispatch(const Dispatch& d) const
{
    if (!m_lost.empty()) {
        return core::Error{core::ErrorCode::Device, "the Vulkan device can no longer be used (" + m_lost + ")"};
    }
    if (!d.kernel) return core::Error{core::ErrorCode::InvalidArgument, "Vulkan dispatch without a kernel"};
    const KernelDesc& k = d.kernel->desc;
    if (d.buffers.size() != k.storageBuffers || d.push.size() != k.pushBytes) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           "Vulkan dispatch of " + k.shader + ": " + std::to_string(d.buffers.size()) + " buffers and " +
                               std::to_string(d.push.size()) + " push-constant bytes given, the kernel takes " +
                               std::to_string(k.storageBuffers) + " and " + std::to_string(k.pushBytes)};
    }
    for (int i = 0; i < 3; ++i) {
        if (d.groups[i] == 0 || d.groups[i] > m_info.maxComputeWorkGroupCount[i]) {
            return core::Error{core::ErrorCode::InvalidArgument,
                               "Vulkan dispatch of " + k.shader + ": " + std::to_string(d.groups[i]) +
                                   " workgroups in dimension " + std::to_string(i) + " (1.." +
                                   std::to_string(m_info.maxComputeWorkGroupCount[i]) + " allowed)"};
        }
    }
    for (const Buffer* b : d.buffers) {
        if (!b || !b->buffer) return core::Error{core::ErrorCode::InvalidArgument, "Vulkan dispatch: empty buffer"};
    }
    return {};
}

core::Result<VkDescriptorPool> Device::bindBuffers(const Dispatch& d, VkDescriptorSet& set)
{
    const uint32_t n = static_cast<uint32_t>(d.buffers.size());
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, n};
    VkDescriptorPoolCreateInfo poolInfo{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    poolInfo.maxSets = 1;
    poolInfo.poolSizeCount = n > 0 ? 1 : 0;
    poolInfo.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateDescriptorPool(m_device, &poolInfo, nullptr, &pool); r != VK_SUCCESS)
        return vkError("vkCreateDescriptorPool", r);
    const VkDescriptorSetLayout dsl = d.kernel->setLayout.get();
    VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    alloc.descriptorPool = pool;
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &dsl;
    if (VkResult r = m_vk->vkAllocateDescriptorSets(m_device, &alloc, &set); r != VK_SUCCESS) {
        m_vk->vkDestroyDescriptorPool(m_device, pool, nullptr);
        return vkError("vkAllocateDescriptorSets", r);
    }
    std::vector<VkDescriptorBufferInfo> infos(n);
    std::vector<VkWriteDescriptorSet> writes(n);
    for (uint32_t i = 0; i < n; ++i) {
        infos[i] = {d.buffers[i]->buffer.get(), 0, VK_WHOLE_SIZE};
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    m_vk->vkUpdateDescriptorSets(m_device, n, writes.data(), 0, nullptr);
    return pool;
}

core::Status Device::record(const Dispatch& d, VkDescriptorSet set)
{
    const VkCommandBuffer cb = m_commandBuffer;
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if (VkResult r = m_vk->vkBeginCommandBuffer(cb, &begin); r != VK_SUCCESS) return vkError("vkBeginCommandBuffer", r);
    const VkQueryPool qp = m_timestamps.get();
    if (qp) {
        m_vk->vkCmdResetQueryPool(cb, qp, 0, 2);
        m_vk->vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, qp, 0);
    }
    m_vk->vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.kernel->pipeline.get());
    m_vk->vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.kernel->layout.get(), 0, 1, &set, 0, nullptr);
    if (!d.push.empty()) {
        m_vk->vkCmdPushConstants(cb, d.kernel->layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                 static_cast<uint32_t>(d.push.size()), d.push.data());
    }
    m_vk->vkCmdDispatch(cb, d.groups[0], d.groups[1], d.groups[2]);
    if (qp) m_vk->vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, 1);
    // Shader writes become visible to the host's reads of the mapped memory.
    VkMemoryBarrier toHost{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    toHost.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    toHost.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    m_vk->vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &toHost, 0,
                               nullptr, 0, nullptr);
    if (VkResult r = m_vk->vkEndCommandBuffer(cb); r != VK_SUCCESS) return vkError("vkEndCommandBuffer", r);
    return {};
}

core::Status Device::submitAndWait(const std::string& what)
{
    const VkFence fence = m_fence.get();
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &m_commandBuffer;
    VkResult r = takeFault(Fault::SubmitDeviceLost) ? VK_ERROR_DEVICE_LOST
                                                     : m_vk->vkQueueSubmit(m_queue, 1, &submit, fence);
    if (r != VK_SUCCESS) {
        if (r == VK_ERROR_DEVICE_LOST) m_lost = "device lost at vkQueueSubmit";
        return vkError(what + ": vkQueueSubmit", r);
    }
    const auto timeoutNs = static_cast<uint64_t>(std::chrono::nanoseconds(m_options.fenceTimeout).count());
    r = takeFault(Fault::FenceTimeout) ? VK_TIMEOUT : m_vk->vkWaitForFences(m_device, 1, &fence, VK_TRUE, timeoutNs);
    if (r == VK_SUCCESS) r = m_vk->vkResetFences(m_device, 1, &fence);
    if (r == VK_SUCCESS) return {};
    const std::string ms = std::to_string(m_options.fenceTimeout.count()) + " ms";
    m_lost = r == VK_TIMEOUT ? "a dispatch did not finish within " + ms : "device lost while waiting for a dispatch";
    // The work may still be running and reading the caller's buffers: wait once more (a
    // second timeout) before the caller may free them. A device that is truly hung is left
    // to ~Device's vkDeviceWaitIdle, which a driver ends with VK_ERROR_DEVICE_LOST.
    if (r == VK_TIMEOUT) m_vk->vkWaitForFences(m_device, 1, &fence, VK_TRUE, timeoutNs);
    if (r == VK_TIMEOUT) {
        return core::Error{core::ErrorCode::Device, what + ": the fence did not signal within " + ms +
                                                    " (VK_TIMEOUT); the device must be recreated"};
    }
    return vkError(what + ": vkWaitForFences", r);
}

std::optional<double> Device::readGpuSeconds()
{
    if (!m_timestamps) return std::nullopt;
    uint64_t ticks[2] = {0, 0};
    VkResult r = m_vk->vkGetQueryPoolResults(m_device, m_timestamps.get(), 0, 2, sizeof(ticks), ticks, sizeof(uint64_t),
                                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS) return std::nullopt;
    const uint64_t mask = m_info.timestampValidBits >= 64 ? ~0ull : (1ull << m_info.timestampValidBits) - 1;
    const uint64_t delta = (ticks[1] - ticks[0]) & mask;
    return static_cast<double>(delta) * static_cast<double>(m_info.timestampPeriodNs) * 1e-9;
}

core::Result<DispatchTiming> Device::run(const Dispatch& d)
{
    if (auto s = checkDispatch(d); !s) return s.error();
    VkDescriptorSet set = VK_NULL_HANDLE;
    auto pool = bindBuffers(d, set);
    if (!pool) return pool.error();
    DeviceOwned<VkDescriptorPool> poolOwner(m_device, *pool, m_vk->vkDestroyDescriptorPool);
    if (auto s = record(d, set); !s) return s.error();
    const auto start = std::chrono::steady_clock::now();
    if (auto s = submitAndWait("Vulkan dispatch of " + d.kernel->desc.shader); !s) {
        if (!m_lost.empty()) m_retired.push_back(std::move(poolOwner)); // may be in use: ~Device frees it
        return s.error();
    }
    DispatchTiming t;
    t.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    t.gpuSeconds = readGpuSeconds();
    m_dispatchTotals.add(t.wallSeconds, t.gpuSeconds);
    return t;
}

} // namespace qs::backends::vulkan
