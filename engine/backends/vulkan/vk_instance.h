#pragma once
/// The Vulkan instance: the loader opened at run time, the Khronos validation layer when
/// QS_VULKAN_VALIDATION=1, and the physical devices found. Failures are error values:
/// no loader, no driver or no device give Unsupported "no Vulkan device: ...".
#include "vk_device_info.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace qs::backends::vulkan {

/// Validation-layer messages of warning or error severity, counted and kept (thread-safe:
/// the layer calls back from whichever thread made the offending call).
class ValidationLog {
public:
    void add(bool error, std::string message);
    int warnings() const;
    int errors() const;
    /// Every kept message, oldest first ("error: ..." / "warning: ...").
    std::vector<std::string> messages() const;

private:
    mutable std::mutex m_mutex;
    int m_warnings = 0;
    int m_errors = 0;
    std::vector<std::string> m_messages;
};

struct InstanceOptions {
    /// Enable VK_LAYER_KHRONOS_validation and a debug-utils messenger feeding ValidationLog.
    bool validation = false;
};

/// InstanceOptions from the environment: validation when QS_VULKAN_VALIDATION=1. Any value
/// other than unset, "", "0" or "1" is an InvalidArgument error naming the variable.
core::Result<InstanceOptions> instanceOptionsFromEnvironment();

class Instance {
public:
    /// Opens the loader, creates a Vulkan 1.2 instance and lists the physical devices. An
    /// instance with no device is a success (devices() is empty): listing says so, and
    /// Device::create refuses with "no Vulkan device: ...".
    static core::Result<std::shared_ptr<Instance>> create(const InstanceOptions& options);

    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();

    const Functions& vk() const { return m_vk; }
    VkInstance handle() const { return m_instance; }
    const std::vector<PhysicalDeviceInfo>& devices() const { return m_devices; }
    VkPhysicalDevice physicalDevice(uint32_t index) const { return m_physical.at(index); }
    bool validationEnabled() const { return m_messenger != VK_NULL_HANDLE; }
    /// Messages of the validation layer (empty, and nothing counted, without validation).
    const ValidationLog& validation() const { return *m_log; }

private:
    Instance() = default;
    core::Status init(const InstanceOptions& options);
    core::Status enumerate();

    Functions m_vk;
    VkInstance m_instance = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT m_messenger = VK_NULL_HANDLE;
    std::unique_ptr<ValidationLog> m_log = std::make_unique<ValidationLog>();
    std::vector<VkPhysicalDevice> m_physical;
    std::vector<PhysicalDeviceInfo> m_devices;
};

/// What `quantscope-cli devices` and the workbench's device choice show: every physical
/// device, the one used by default, or why there is none.
struct DeviceListing {
    std::vector<PhysicalDeviceInfo> devices;
    std::optional<uint32_t> chosen; ///< the default device (chooseDevice), if any
    std::string none;               ///< why there is no usable device; empty when there is one
};

/// Lists the devices with an instance made from the environment (QS_VULKAN_VALIDATION). No
/// loader, no driver or no device with a compute queue is an answer (`none` says which); a
/// bad environment variable or a failing Vulkan call is an error.
core::Result<DeviceListing> listPhysicalDevices();

} // namespace qs::backends::vulkan
