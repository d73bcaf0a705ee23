#pragma once
/// Move-only owners of Vulkan objects. A DeviceOwned<H> holds one child of a VkDevice and
/// destroys it with the matching vkDestroy* / vkFree* when it goes out of scope; owners are
/// members of the object that creates them, declared after the device they belong to, so
/// that C++ destruction order destroys children first.
#include "vk_loader.h"

#include <utility>

namespace qs::backends::vulkan {

/// The function that destroys a device child of type H.
template <class H>
using DestroyFn = void (*)(VkDevice, H, const VkAllocationCallbacks*);

/// Move-only owner of one device child (buffer, memory, pipeline, layout, pool, fence, ...).
template <class H>
class DeviceOwned {
public:
    DeviceOwned() = default;
    DeviceOwned(VkDevice device, H handle, DestroyFn<H> destroy)
        : m_device(device), m_handle(handle), m_destroy(destroy) {}
    DeviceOwned(const DeviceOwned&) = delete;
    DeviceOwned& operator=(const DeviceOwned&) = delete;
    DeviceOwned(DeviceOwned&& o) noexcept { swap(o); }
    DeviceOwned& operator=(DeviceOwned&& o) noexcept
    {
        if (this != &o) {
            reset();
            swap(o);
        }
        return *this;
    }
    ~DeviceOwned() { reset(); }

    H get() const { return m_handle; }
    explicit operator bool() const { return m_handle != VK_NULL_HANDLE; }

    /// Destroys the object now (no-op when empty).
    void reset()
    {
        if (m_handle != VK_NULL_HANDLE && m_destroy) m_destroy(m_device, m_handle, nullptr);
        m_handle = VK_NULL_HANDLE;
    }

    /// Gives the handle up without destroying it (for an object that must outlive its owner,
    /// e.g. resources of a submission that timed out and may still be running).
    H release() { return std::exchange(m_handle, VK_NULL_HANDLE); }

private:
    void swap(DeviceOwned& o) noexcept
    {
        std::swap(m_device, o.m_device);
        std::swap(m_handle, o.m_handle);
        std::swap(m_destroy, o.m_destroy);
    }

    VkDevice m_device = VK_NULL_HANDLE;
    H m_handle = VK_NULL_HANDLE;
    DestroyFn<H> m_destroy = nullptr;
};

} // namespace qs::backends::vulkan
