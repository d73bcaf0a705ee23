#pragma once
// What the Vulkan kernel suites share: an instance with the Khronos validation layer and a
// device on the installed driver (lavapipe in CI), skipped only when there is no driver.
#include "backends/vulkan/vk_device.h"

#include <QtTest>

#include <memory>

namespace qs::tests {

struct VulkanFixture {
    std::shared_ptr<const backends::vulkan::Instance> instance;
    std::unique_ptr<backends::vulkan::Device> device;
};

/// Creates the fixture with QS_VULKAN_VALIDATION=1. Returns false and sets `skip` when no
/// driver is installed; fails the calling test (QVERIFY) on any other error.
bool createVulkanFixture(VulkanFixture& f, QString& skip);

/// Every validation message so far, printed; true when there was none.
bool noValidationMessages(const VulkanFixture& f);

} // namespace qs::tests
