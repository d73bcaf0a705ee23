// The shared fixture of the Vulkan kernel suites (vk_test_helpers.h).
#include "vk_test_helpers.h"

namespace qs::tests {

using namespace backends::vulkan;

bool createVulkanFixture(VulkanFixture& f, QString& skip)
{
    qputenv("QS_VULKAN_VALIDATION", "1");
    auto options = instanceOptionsFromEnvironment();
    if (!options) return false;
    auto instance = Instance::create(*options);
    if (!instance && instance.error().message.starts_with("no Vulkan device")) {
        skip = QString::fromStdString(instance.error().message);
        return false;
    }
    if (!instance) {
        qWarning("%s", instance.error().message.c_str());
        return false;
    }
    if ((*instance)->devices().empty()) {
        skip = "no Vulkan device: the loader found no physical device";
        return false;
    }
    f.instance = *instance;
    auto device = Device::create(f.instance);
    if (!device) {
        qWarning("%s", device.error().message.c_str());
        return false;
    }
    f.device = std::move(*device);
    qInfo("device: %s (%s), subgroup %u", f.device->info().name.c_str(), f.device->info().driverName.c_str(),
          f.device->info().subgroupSize);
    return f.instance->validationEnabled();
}

bool noValidationMessages(const VulkanFixture& f)
{
    const auto messages = f.instance->validation().messages();
    for (const auto& m : messages) qWarning("%s", m.c_str());
    return messages.empty();
}

} // namespace qs::tests
