// Device: memory types per buffer kind, buffers, staging copies and resident buffers.
#include "vk_device.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace qs::backends::vulkan {

namespace {

constexpr VkMemoryPropertyFlags kHostFlags = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

std::atomic<uint64_t> g_nextSerial{1};

} // namespace

core::Result<bool> forceStagingFromEnvironment()
{
    const char* v = std::getenv("QS_VULKAN_FORCE_STAGING");
    if (!v || std::string_view(v) == "0") return false;
    if (std::string_view(v) == "1") return true;
    return core::Error{core::ErrorCode::InvalidArgument,
                       std::string("QS_VULKAN_FORCE_STAGING must be 0 or 1, got '") + v + "'"};
}

core::Status Device::initMemory()
{
    m_serial = g_nextSerial.fetch_add(1);
    m_vk->vkGetPhysicalDeviceMemoryProperties(m_physical, &m_memory);
    if (!memoryType(BufferKind::HostVisible, ~0u, &m_bufferHeap[size_t(BufferKind::HostVisible)])) {
        return core::Error{core::ErrorCode::Unsupported,
                           m_info.name + " has no host-visible, host-coherent memory type"};
    }
    if (!memoryType(BufferKind::DeviceLocal, ~0u, &m_bufferHeap[size_t(BufferKind::DeviceLocal)]))
        return core::Error{core::ErrorCode::Unsupported, m_info.name + " has no device-local memory type"};
    return {};
}

/// HostVisible: a host-visible, host-coherent type, host-cached preferred (fast reads back).
/// DeviceLocal: the first DEVICE_LOCAL type. The spec orders types of a heap so that fewer
/// property flags come first; on a discrete GPU that is plain VRAM rather than the small
/// host-visible BAR window, which must not be used up by weights.
std::optional<uint32_t> Device::memoryType(BufferKind kind, uint32_t allowedTypes, uint32_t* heap) const
{
    std::optional<uint32_t> found;
    for (uint32_t i = 0; i < m_memory.memoryTypeCount; ++i) {
        const VkMemoryPropertyFlags flags = m_memory.memoryTypes[i].propertyFlags;
        if (!(allowedTypes & (1u << i))) continue;
        if (kind == BufferKind::DeviceLocal) {
            if (!(flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) continue;
            found = i;
            break;
        }
        if ((flags & kHostFlags) != kHostFlags) continue;
        if (!found || (flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT)) found = i; // cached: fast reads back
        if (flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) break;
    }
    if (found && heap) *heap = m_memory.memoryTypes[*found].heapIndex;
    return found;
}

bool Device::mapsDirectly(uint32_t type) const
{
    return (m_memory.memoryTypes[type].propertyFlags & kHostFlags) == kHostFlags;
}

MemoryHeapInfo Device::heapNow(BufferKind kind)
{
    queryHeaps(*m_vk, m_physical, m_info);
    const uint32_t heap = bufferHeap(kind);
    return heap < m_info.heaps.size() ? m_info.heaps[heap] : MemoryHeapInfo{};
}

uint64_t Device::maxChunkBytes(BufferKind kind)
{
    queryHeaps(*m_vk, m_physical, m_info);
    return vulkan::maxChunkBytes(m_info, bufferHeap(kind));
}

core::Result<Buffer> Device::createBuffer(uint64_t bytes, BufferKind kind)
{
    if (bytes == 0 || bytes > m_info.maxStorageBufferRange ||
        (m_info.maxMemoryAllocationSize && bytes > m_info.maxMemoryAllocationSize)) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           "Vulkan buffer of " + std::to_string(bytes) + " bytes: must be 1.." +
                               std::to_string(m_info.maxStorageBufferRange) + " bytes on " + m_info.name +
                               " (maxStorageBufferRange; larger tensors are split into chunks)"};
    }
    // Both kinds may be copied to and from (upload/download, a staged download of results).
    return allocate(bytes,
                    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                        VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                    kind);
}

core::Result<Buffer> Device::allocate(uint64_t bytes, VkBufferUsageFlags usage, BufferKind kind)
{
    Buffer b;
    b.bytes = bytes;
    b.kind = kind;
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = bytes;
    info.usage = usage;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer buffer = VK_NULL_HANDLE;
    if (VkResult r = m_vk->vkCreateBuffer(m_device, &info, nullptr, &buffer); r != VK_SUCCESS)
        return vkError("vkCreateBuffer (" + std::to_string(bytes) + " bytes)", r);
    b.buffer = {m_device, buffer, m_vk->vkDestroyBuffer};

    VkMemoryRequirements req;
    m_vk->vkGetBufferMemoryRequirements(m_device, buffer, &req);
    auto type = memoryType(kind, req.memoryTypeBits);
    if (!type) {
        return core::Error{core::ErrorCode::Unsupported,
                           std::string("no ") + (kind == BufferKind::DeviceLocal ? "device-local" : "host-visible") +
                               " memory type fits a Vulkan buffer on " + m_info.name};
    }
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = *type;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkResult r = takeFault(Fault::OutOfDeviceMemory) ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                                                      : m_vk->vkAllocateMemory(m_device, &alloc, nullptr, &memory);
    if (r != VK_SUCCESS) return vkError("vkAllocateMemory (" + std::to_string(req.size) + " bytes)", r);
    b.memory = {m_device, memory, m_vk->vkFreeMemory};
    if ((r = m_vk->vkBindBufferMemory(m_device, buffer, memory, 0)) != VK_SUCCESS) return vkError("vkBindBufferMemory", r);
    const bool map = kind == BufferKind::HostVisible || (mapsDirectly(*type) && !m_options.forceStaging);
    if (!map) return b;
    void* p = nullptr;
    if ((r = m_vk->vkMapMemory(m_device, memory, 0, VK_WHOLE_SIZE, 0, &p)) != VK_SUCCESS) return vkError("vkMapMemory", r);
    b.mapped = static_cast<std::byte*>(p); // unmapped implicitly by vkFreeMemory
    return b;
}

core::Status Device::ensureStaging()
{
    if (m_staging) return {};
    auto b = allocate(kStagingBytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                      BufferKind::HostVisible);
    if (!b) return b.error();
    m_staging = std::move(*b);
    return {};
}

core::Status Device::checkTransfer(const Buffer& b, uint64_t offset, uint64_t size, const char* what) const
{
    if (!b.buffer || offset > b.bytes || size > b.bytes - offset) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           std::string("Vulkan ") + what + " of " + std::to_string(size) + " bytes at offset " +
                               std::to_string(offset) + " does not fit a buffer of " + std::to_string(b.bytes) +
                               " bytes"};
    }
    if (!b.mapped && !m_lost.empty())
        return core::Error{core::ErrorCode::Device, "the Vulkan device can no longer be used (" + m_lost + ")"};
    return {};
}

core::Status Device::upload(Buffer& dst, uint64_t offset, std::span<const std::byte> data)
{
    if (auto s = checkTransfer(dst, offset, data.size(), "upload"); !s) return s;
    if (data.empty()) return {};
    if (dst.mapped) {
        std::memcpy(dst.mapped + offset, data.data(), data.size());
        return {};
    }
    if (auto s = ensureStaging(); !s) return s;
    for (uint64_t done = 0; done < data.size();) {
        const uint64_t n = std::min<uint64_t>(data.size() - done, m_staging->bytes);
        std::memcpy(m_staging->mapped, data.data() + done, n);
        if (auto s = copyThroughStaging(dst, offset + done, n, true); !s) return s;
        done += n;
    }
    return {};
}

core::Status Device::download(const Buffer& src, uint64_t offset, std::span<std::byte> out)
{
    if (auto s = checkTransfer(src, offset, out.size(), "download"); !s) return s;
    if (out.empty()) return {};
    if (src.mapped) {
        std::memcpy(out.data(), src.mapped + offset, out.size());
        return {};
    }
    if (auto s = ensureStaging(); !s) return s;
    for (uint64_t done = 0; done < out.size();) {
        const uint64_t n = std::min<uint64_t>(out.size() - done, m_staging->bytes);
        if (auto s = copyThroughStaging(src, offset + done, n, false); !s) return s;
        std::memcpy(out.data() + done, m_staging->mapped, n);
        done += n;
    }
    return {};
}

/// One piece of a staged copy, between the staging buffer (offset 0) and `deviceBuffer` at
/// `offset`, recorded with the barriers that order it against the dispatches around it:
///   to the device:  shader reads/writes before -> transfer write; transfer write -> shader read
///   to the host:    shader writes before -> transfer read; transfer write -> host read
/// (Host writes to the coherent staging memory are visible to the copy by vkQueueSubmit.)
core::Status Device::copyThroughStaging(const Buffer& deviceBuffer, uint64_t offset, uint64_t size, bool toDevice)
{
    const VkCommandBuffer cb = m_commandBuffer;
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if (VkResult r = m_vk->vkBeginCommandBuffer(cb, &begin); r != VK_SUCCESS) return vkError("vkBeginCommandBuffer", r);
    auto barrier = [&](VkPipelineStageFlags srcStage, VkAccessFlags srcAccess, VkPipelineStageFlags dstStage,
                       VkAccessFlags dstAccess) {
        VkMemoryBarrier m{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        m.srcAccessMask = srcAccess;
        m.dstAccessMask = dstAccess;
        m_vk->vkCmdPipelineBarrier(cb, srcStage, dstStage, 0, 1, &m, 0, nullptr, 0, nullptr);
    };
    constexpr auto compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    constexpr auto transfer = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkBufferCopy region{};
    region.size = size;
    if (toDevice) {
        barrier(compute, VK_ACCESS_SHADER_WRITE_BIT, transfer, VK_ACCESS_TRANSFER_WRITE_BIT);
        region.dstOffset = offset;
        m_vk->vkCmdCopyBuffer(cb, m_staging->buffer.get(), deviceBuffer.buffer.get(), 1, &region);
        barrier(transfer, VK_ACCESS_TRANSFER_WRITE_BIT, compute, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    } else {
        barrier(compute, VK_ACCESS_SHADER_WRITE_BIT, transfer, VK_ACCESS_TRANSFER_READ_BIT);
        region.srcOffset = offset;
        m_vk->vkCmdCopyBuffer(cb, deviceBuffer.buffer.get(), m_staging->buffer.get(), 1, &region);
        barrier(transfer, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    }
    if (VkResult r = m_vk->vkEndCommandBuffer(cb); r != VK_SUCCESS) return vkError("vkEndCommandBuffer", r);
    return submitAndWait(toDevice ? "Vulkan upload" : "Vulkan download");
}

uint64_t Device::keepResident(std::vector<Buffer> buffers)
{
    const uint64_t id = m_nextResident++;
    m_resident.emplace(id, std::move(buffers));
    return id;
}

std::span<const Buffer> Device::resident(uint64_t id) const
{
    auto it = m_resident.find(id);
    if (it == m_resident.end()) return {};
    return it->second;
}

void Device::releaseResident(uint64_t id)
{
    m_resident.erase(id);
}

uint64_t Device::residentBytes() const
{
    uint64_t bytes = 0;
    for (const auto& [id, buffers] : m_resident)
        for (const Buffer& b : buffers) bytes += b.bytes;
    return bytes;
}

} // namespace qs::backends::vulkan
