#include "device_time.h"

#include "format.h"

#include "backends/vulkan/vk_queue.h"
#include "backends/vulkan/vulkan_backend.h"

#include <ostream>

namespace qs::cli {

using backends::vulkan::DispatchTotals;

std::optional<DispatchTotals> deviceTime(const backends::Backend& backend)
{
    const auto* vulkan = dynamic_cast<const backends::vulkan::VulkanBackend*>(&backend);
    if (!vulkan) return std::nullopt;
    return vulkan->queue().dispatchTotals();
}

void printPipelineCacheWarning(const backends::Backend& backend, std::ostream& err)
{
    if (const std::string w = backend.warning(); !w.empty()) err << "note: " << w << "\n";
}

std::string deviceTimeText(const DispatchTotals& t)
{
    if (t.dispatches == 0) return "device time: no Vulkan dispatch ran";
    const std::string n =
        std::to_string(t.dispatches) + (t.dispatches == 1 ? " dispatch" : " dispatches");
    const std::string wall = "wall " + numberText(t.wallSeconds * 1e3) + " ms from submit to fence";
    if (t.timedDispatches == 0)
        return "device time: no GPU timestamps on this device; " + wall + " over " + n;
    std::string gpu = "device time: GPU " + numberText(t.gpuSeconds * 1e3) + " ms over ";
    if (t.timedDispatches < t.dispatches)
        gpu += std::to_string(t.timedDispatches) + " of " + n + " (the others have no timestamps)";
    else
        gpu += n;
    return gpu + ", " + wall;
}

nlohmann::ordered_json deviceTimeJson(const DispatchTotals& t)
{
    return {{"dispatches", t.dispatches},
            {"timed_dispatches", t.timedDispatches},
            {"gpu_ms", t.timedDispatches > 0 ? nlohmann::ordered_json(t.gpuSeconds * 1e3)
                                             : nlohmann::ordered_json(nullptr)},
            {"wall_ms", t.wallSeconds * 1e3}};
}

} // namespace qs::cli
