#include "vulkan_helpers.h"

#include "shaders/push_constants.h"

#include <QByteArray>
#include <QtGlobal>

#include <algorithm>

using namespace qs::backends::vulkan;

namespace vktest {

qs::core::Result<std::shared_ptr<const Instance>> validatedInstance()
{
    qputenv("QS_VULKAN_VALIDATION", "1");
    // Suites neither write into the user's cache directory nor depend on what an earlier run
    // left there; tst_vulkan_pipeline_cache names its files itself.
    if (!qEnvironmentVariableIsSet("QS_VULKAN_PIPELINE_CACHE")) qputenv("QS_VULKAN_PIPELINE_CACHE", "off");
    auto options = instanceOptionsFromEnvironment();
    if (!options) return options.error();
    auto instance = Instance::create(*options);
    if (!instance) return instance.error();
    if ((*instance)->devices().empty()) {
        return qs::core::Error{qs::core::ErrorCode::Unsupported, "no Vulkan device: the loader found no physical device"};
    }
    return std::shared_ptr<const Instance>(*instance);
}

bool openFixture(Fixture& f, std::string& skip, std::string& error)
{
    auto instance = validatedInstance();
    if (!instance) {
        (instance.error().message.starts_with("no Vulkan device") ? skip : error) = instance.error().message;
        return false;
    }
    if (!(*instance)->validationEnabled()) {
        error = "the Khronos validation layer is not available (vulkan-validationlayers)";
        return false;
    }
    auto device = Device::create(*instance);
    if (!device) {
        error = device.error().message;
        return false;
    }
    f.instance = *instance;
    f.device = std::move(*device);
    return true;
}

std::string fixtureMessages(const Fixture& f)
{
    return f.instance ? validationText(*f.instance) : std::string();
}

std::vector<uint32_t> lcgWords(size_t n)
{
    std::vector<uint32_t> w(n);
    uint32_t x = 12345u;
    for (auto& v : w) {
        x = x * 1664525u + 1013904223u;
        v = x;
    }
    return w;
}

uint32_t hostSum(const std::vector<uint32_t>& words)
{
    uint32_t sum = 0;
    for (uint32_t w : words)
        sum += w;
    return sum;
}

qs::core::Result<uint32_t> probe(Device& device, const std::string& shader, const std::vector<uint32_t>& words,
                                 uint32_t groups, DispatchTiming* timing)
{
    auto kernel = device.kernel({shader, 2, sizeof(qs::shaders::ReadBandwidthPush)});
    if (!kernel) return kernel.error();
    auto src = device.createBuffer(words.size() * sizeof(uint32_t));
    if (!src) return src.error();
    auto partials = device.createBuffer(groups * sizeof(uint32_t));
    if (!partials) return partials.error();
    std::copy(words.begin(), words.end(), src->as<uint32_t>().begin());
    std::fill(partials->as<uint32_t>().begin(), partials->as<uint32_t>().end(), 0xdeadbeefu);
    Dispatch d;
    d.kernel = *kernel;
    d.buffers = {&*src, &*partials};
    d.setPush(qs::shaders::ReadBandwidthPush{static_cast<uint32_t>(words.size())});
    d.groups[0] = groups;
    auto t = device.run(d);
    if (!t) return t.error();
    if (timing) *timing = *t;
    uint32_t sum = 0;
    for (uint32_t p : partials->as<uint32_t>())
        sum += p;
    return sum;
}

std::string validationText(const Instance& instance)
{
    std::string text;
    for (const auto& m : instance.validation().messages())
        text += m + "\n";
    return text;
}

} // namespace vktest
