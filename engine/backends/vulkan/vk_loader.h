#pragma once
/// The Vulkan entry points the backend uses, loaded at run time: the loader library
/// (libvulkan.so.1) is opened with dlopen, so a machine without it gets an error value
/// ("no Vulkan device: ...") instead of a binary that will not start. Every call goes through
/// a Functions table; that is also where fault injection hooks in (vk_device.h).
#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include "core/result.h"

#include <string>

namespace qs::backends::vulkan {

// Functions that need no instance.
#define QS_VK_GLOBAL_FUNCTIONS(X) \
    X(vkCreateInstance)           \
    X(vkEnumerateInstanceVersion) \
    X(vkEnumerateInstanceLayerProperties) \
    X(vkEnumerateInstanceExtensionProperties)

// Functions loaded through vkGetInstanceProcAddr once an instance exists (device functions
// too: they then dispatch on whichever device they are given, so a recreated device needs
// no new table).
#define QS_VK_INSTANCE_FUNCTIONS(X)              \
    X(vkDestroyInstance)                         \
    X(vkEnumeratePhysicalDevices)                \
    X(vkGetPhysicalDeviceProperties)             \
    X(vkGetPhysicalDeviceProperties2)            \
    X(vkGetPhysicalDeviceFeatures2)              \
    X(vkGetPhysicalDeviceQueueFamilyProperties)  \
    X(vkGetPhysicalDeviceMemoryProperties)       \
    X(vkGetPhysicalDeviceMemoryProperties2)      \
    X(vkEnumerateDeviceExtensionProperties)      \
    X(vkCreateDevice)                            \
    X(vkDestroyDevice)                           \
    X(vkGetDeviceQueue)                          \
    X(vkDeviceWaitIdle)                          \
    X(vkCreateBuffer)                            \
    X(vkDestroyBuffer)                           \
    X(vkGetBufferMemoryRequirements)             \
    X(vkAllocateMemory)                          \
    X(vkFreeMemory)                              \
    X(vkBindBufferMemory)                        \
    X(vkMapMemory)                               \
    X(vkUnmapMemory)                             \
    X(vkInvalidateMappedMemoryRanges)            \
    X(vkFlushMappedMemoryRanges)                 \
    X(vkCreateShaderModule)                      \
    X(vkDestroyShaderModule)                     \
    X(vkCreateDescriptorSetLayout)               \
    X(vkDestroyDescriptorSetLayout)              \
    X(vkCreatePipelineLayout)                    \
    X(vkDestroyPipelineLayout)                   \
    X(vkCreatePipelineCache)                     \
    X(vkDestroyPipelineCache)                    \
    X(vkGetPipelineCacheData)                    \
    X(vkCreateComputePipelines)                  \
    X(vkDestroyPipeline)                         \
    X(vkCreateDescriptorPool)                    \
    X(vkDestroyDescriptorPool)                   \
    X(vkAllocateDescriptorSets)                  \
    X(vkUpdateDescriptorSets)                    \
    X(vkCreateCommandPool)                       \
    X(vkDestroyCommandPool)                      \
    X(vkAllocateCommandBuffers)                  \
    X(vkFreeCommandBuffers)                      \
    X(vkBeginCommandBuffer)                      \
    X(vkEndCommandBuffer)                        \
    X(vkCmdBindPipeline)                         \
    X(vkCmdBindDescriptorSets)                   \
    X(vkCmdPushConstants)                        \
    X(vkCmdDispatch)                             \
    X(vkCmdCopyBuffer)                           \
    X(vkCmdPipelineBarrier)                      \
    X(vkCmdResetQueryPool)                       \
    X(vkCmdWriteTimestamp)                       \
    X(vkCreateQueryPool)                         \
    X(vkDestroyQueryPool)                        \
    X(vkGetQueryPoolResults)                     \
    X(vkCreateFence)                             \
    X(vkDestroyFence)                            \
    X(vkResetFences)                             \
    X(vkWaitForFences)                           \
    X(vkQueueSubmit)

// Extension functions: null when the extension is absent.
#define QS_VK_OPTIONAL_FUNCTIONS(X)     \
    X(vkCreateDebugUtilsMessengerEXT)   \
    X(vkDestroyDebugUtilsMessengerEXT)

/// The loaded entry points. Copyable (plain function pointers); the library stays open for
/// the life of the process once opened.
struct Functions {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
#define QS_VK_MEMBER(name) PFN_##name name = nullptr;
    QS_VK_GLOBAL_FUNCTIONS(QS_VK_MEMBER)
    QS_VK_INSTANCE_FUNCTIONS(QS_VK_MEMBER)
    QS_VK_OPTIONAL_FUNCTIONS(QS_VK_MEMBER)
#undef QS_VK_MEMBER
};

/// Opens libvulkan.so.1 (once per process) and loads the global functions. Error
/// "no Vulkan device: the Vulkan loader libvulkan.so.1 is not installed (...)" when absent.
core::Result<Functions> loadGlobalFunctions();

/// Loads the instance-level (and device) functions of `instance` into `fns`. Error naming
/// the first missing function.
core::Status loadInstanceFunctions(VkInstance instance, Functions& fns);

/// "VK_ERROR_DEVICE_LOST" etc.; "VkResult N" for values it does not know.
std::string resultName(VkResult r);

/// A core::Error "what: VK_ERROR_...".
core::Error vkError(const std::string& what, VkResult r);

} // namespace qs::backends::vulkan
