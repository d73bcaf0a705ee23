#include "vk_loader.h"

#include <dlfcn.h>

#include <mutex>

namespace qs::backends::vulkan {
namespace {

struct Library {
    void* handle = nullptr;
    std::string error;
};

const Library& library()
{
    static const Library lib = [] {
        Library l;
        l.handle = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!l.handle) {
            const char* e = dlerror();
            l.error = e ? e : "dlopen failed";
        }
        return l;
    }();
    return lib;
}

} // namespace

core::Result<Functions> loadGlobalFunctions()
{
    const Library& lib = library();
    if (!lib.handle) {
        return core::Error{core::ErrorCode::Unsupported,
                           "no Vulkan device: the Vulkan loader libvulkan.so.1 is not installed (" +
                               lib.error + ")"};
    }
    Functions f;
    f.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib.handle, "vkGetInstanceProcAddr"));
    if (!f.vkGetInstanceProcAddr) {
        return core::Error{core::ErrorCode::Unsupported,
                           "no Vulkan device: libvulkan.so.1 has no vkGetInstanceProcAddr"};
    }
#define QS_VK_LOAD_GLOBAL(name) \
    f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(nullptr, #name));
    QS_VK_GLOBAL_FUNCTIONS(QS_VK_LOAD_GLOBAL)
#undef QS_VK_LOAD_GLOBAL
    if (!f.vkCreateInstance || !f.vkEnumerateInstanceLayerProperties ||
        !f.vkEnumerateInstanceExtensionProperties) {
        return core::Error{core::ErrorCode::Unsupported,
                           "no Vulkan device: the Vulkan loader lacks vkCreateInstance"};
    }
    // vkEnumerateInstanceVersion is null on a Vulkan 1.0 loader: that loader is refused later
    // (the backend needs 1.2), not here.
    return f;
}

core::Status loadInstanceFunctions(VkInstance instance, Functions& f)
{
#define QS_VK_LOAD_INSTANCE(name)                                                              \
    f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(instance, #name));           \
    if (!f.name) {                                                                             \
        return core::Error{core::ErrorCode::Unsupported,                                       \
                           "no Vulkan device: the Vulkan loader has no " #name};               \
    }
    QS_VK_INSTANCE_FUNCTIONS(QS_VK_LOAD_INSTANCE)
#undef QS_VK_LOAD_INSTANCE
#define QS_VK_LOAD_OPTIONAL(name) \
    f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(instance, #name));
    QS_VK_OPTIONAL_FUNCTIONS(QS_VK_LOAD_OPTIONAL)
#undef QS_VK_LOAD_OPTIONAL
    return {};
}

std::string resultName(VkResult r)
{
    switch (r) {
#define QS_VK_CASE(x) case x: return #x;
        QS_VK_CASE(VK_SUCCESS)
        QS_VK_CASE(VK_NOT_READY)
        QS_VK_CASE(VK_TIMEOUT)
        QS_VK_CASE(VK_INCOMPLETE)
        QS_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        QS_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        QS_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
        QS_VK_CASE(VK_ERROR_DEVICE_LOST)
        QS_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        QS_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        QS_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        QS_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        QS_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        QS_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        QS_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        QS_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
        QS_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        QS_VK_CASE(VK_ERROR_UNKNOWN)
#undef QS_VK_CASE
    default: return "VkResult " + std::to_string(static_cast<int>(r));
    }
}

core::Error vkError(const std::string& what, VkResult r)
{
    return core::Error{core::ErrorCode::Device, what + ": " + resultName(r)};
}

} // namespace qs::backends::vulkan
