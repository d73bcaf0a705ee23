#include "vk_instance.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace qs::backends::vulkan {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

VKAPI_ATTR VkBool32 VKAPI_CALL onValidationMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user)
{
    auto* log = static_cast<ValidationLog*>(user);
    log->add(severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
             data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE; // never abort the call that triggered it
}

VkDebugUtilsMessengerCreateInfoEXT messengerInfo(ValidationLog* log)
{
    VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    info.pfnUserCallback = onValidationMessage;
    info.pUserData = log;
    return info;
}

bool hasLayer(const Functions& vk, const char* name)
{
    uint32_t n = 0;
    if (vk.vkEnumerateInstanceLayerProperties(&n, nullptr) != VK_SUCCESS) return false;
    std::vector<VkLayerProperties> layers(n);
    if (vk.vkEnumerateInstanceLayerProperties(&n, layers.data()) != VK_SUCCESS) return false;
    return std::any_of(layers.begin(), layers.begin() + n,
                       [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

} // namespace

void ValidationLog::add(bool error, std::string message)
{
    std::lock_guard lock(m_mutex);
    (error ? m_errors : m_warnings) += 1;
    m_messages.push_back((error ? "error: " : "warning: ") + std::move(message));
}

int ValidationLog::warnings() const
{
    std::lock_guard lock(m_mutex);
    return m_warnings;
}

int ValidationLog::errors() const
{
    std::lock_guard lock(m_mutex);
    return m_errors;
}

std::vector<std::string> ValidationLog::messages() const
{
    std::lock_guard lock(m_mutex);
    return m_messages;
}

core::Result<InstanceOptions> instanceOptionsFromEnvironment()
{
    InstanceOptions o;
    const char* v = std::getenv("QS_VULKAN_VALIDATION");
    if (!v || !*v || std::strcmp(v, "0") == 0) return o;
    if (std::strcmp(v, "1") != 0) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           std::string("QS_VULKAN_VALIDATION must be 0 or 1, got '") + v + "'"};
    }
    o.validation = true;
    return o;
}

core::Result<std::shared_ptr<Instance>> Instance::create(const InstanceOptions& options)
{
    std::shared_ptr<Instance> instance(new Instance);
    if (auto s = instance->init(options); !s) return s.error();
    if (auto s = instance->enumerate(); !s) return s.error();
    return instance;
}

core::Status Instance::init(const InstanceOptions& options)
{
    auto fns = loadGlobalFunctions();
    if (!fns) return fns.error();
    m_vk = *fns;
    uint32_t loaderVersion = VK_API_VERSION_1_0;
    if (m_vk.vkEnumerateInstanceVersion) m_vk.vkEnumerateInstanceVersion(&loaderVersion);
    if (loaderVersion < VK_API_VERSION_1_2) {
        return core::Error{core::ErrorCode::Unsupported, "no Vulkan device: the Vulkan loader supports only " +
                                                             apiVersionString(loaderVersion) + " (1.2 is needed)"};
    }
    if (options.validation && !hasLayer(m_vk, kValidationLayer)) {
        return core::Error{core::ErrorCode::Unsupported,
                           "Vulkan validation was asked for (QS_VULKAN_VALIDATION=1) but the layer "
                           "VK_LAYER_KHRONOS_validation is not installed (Debian: vulkan-validationlayers)"};
    }
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "quantscope";
    app.apiVersion = VK_API_VERSION_1_2;
    const char* layers[] = {kValidationLayer};
    const char* extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkDebugUtilsMessengerCreateInfoEXT messenger = messengerInfo(m_log.get());
    VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    info.pApplicationInfo = &app;
    if (options.validation) {
        info.pNext = &messenger; // also reports problems of vkCreateInstance itself
        info.enabledLayerCount = 1;
        info.ppEnabledLayerNames = layers;
        info.enabledExtensionCount = 1;
        info.ppEnabledExtensionNames = extensions;
    }
    if (VkResult r = m_vk.vkCreateInstance(&info, nullptr, &m_instance); r != VK_SUCCESS) {
        m_instance = VK_NULL_HANDLE;
        const char* why = r == VK_ERROR_INCOMPATIBLE_DRIVER ? " (no Vulkan driver is installed)" : "";
        return core::Error{core::ErrorCode::Unsupported,
                           "no Vulkan device: vkCreateInstance failed: " + resultName(r) + why};
    }
    if (auto s = loadInstanceFunctions(m_instance, m_vk); !s) return s;
    if (options.validation) {
        if (!m_vk.vkCreateDebugUtilsMessengerEXT) {
            return core::Error{core::ErrorCode::Unsupported, "Vulkan validation: VK_EXT_debug_utils is missing"};
        }
        if (VkResult r = m_vk.vkCreateDebugUtilsMessengerEXT(m_instance, &messenger, nullptr, &m_messenger);
            r != VK_SUCCESS) {
            m_messenger = VK_NULL_HANDLE;
            return vkError("vkCreateDebugUtilsMessengerEXT", r);
        }
    }
    return {};
}

core::Status Instance::enumerate()
{
    uint32_t n = 0;
    VkResult r = m_vk.vkEnumeratePhysicalDevices(m_instance, &n, nullptr);
    if (r == VK_SUCCESS && n > 0) {
        m_physical.resize(n);
        r = m_vk.vkEnumeratePhysicalDevices(m_instance, &n, m_physical.data());
        if (r == VK_INCOMPLETE) r = VK_SUCCESS; // a device vanished between the two calls
        m_physical.resize(n);
    }
    if (r != VK_SUCCESS) return vkError("vkEnumeratePhysicalDevices", r);
    for (uint32_t i = 0; i < m_physical.size(); ++i)
        m_devices.push_back(queryDeviceInfo(m_vk, m_physical[i], i));
    return {};
}

Instance::~Instance()
{
    if (m_messenger != VK_NULL_HANDLE) m_vk.vkDestroyDebugUtilsMessengerEXT(m_instance, m_messenger, nullptr);
    if (m_instance != VK_NULL_HANDLE) m_vk.vkDestroyInstance(m_instance, nullptr);
}

core::Result<DeviceListing> listPhysicalDevices()
{
    auto options = instanceOptionsFromEnvironment();
    if (!options) return options.error();
    auto instance = Instance::create(*options);
    DeviceListing listing;
    if (!instance) {
        if (!instance.error().message.starts_with("no Vulkan device")) return instance.error();
        listing.none = instance.error().message;
        return listing;
    }
    listing.devices = (*instance)->devices();
    auto chosen = chooseDevice(listing.devices, std::nullopt);
    if (chosen) listing.chosen = *chosen;
    else listing.none = chosen.error().message;
    return listing;
}

} // namespace qs::backends::vulkan
