// quantscope-cli devices: every Vulkan physical device the loader finds, or why there is none.
#include "commands.h"
#include "format.h"

#include "backends/vulkan/vk_instance.h"

#include <nlohmann/json.hpp>

#include <ostream>

namespace qs::cli {

namespace {

using backends::vulkan::PhysicalDeviceInfo;
using nlohmann::ordered_json;

std::string yesNo(bool b) { return b ? "yes" : "no"; }

ordered_json deviceJson(const PhysicalDeviceInfo& d, bool chosen)
{
    ordered_json heaps = ordered_json::array();
    for (const auto& h : d.heaps) {
        ordered_json j = {{"bytes", h.bytes}, {"device_local", h.deviceLocal}};
        if (d.memoryBudget) j["budget_bytes"] = h.budgetBytes;
        heaps.push_back(j);
    }
    return {{"index", d.index}, {"name", d.name}, {"type", std::string(backends::vulkan::deviceTypeName(d.type))},
            {"api_version", backends::vulkan::apiVersionString(d.apiVersion)}, {"driver", d.driverName},
            {"driver_info", d.driverInfo}, {"default", chosen}, {"heaps", heaps}, {"subgroup_size", d.subgroupSize},
            {"shader_float16", d.shaderFloat16}, {"shader_int8", d.shaderInt8},
            {"cooperative_matrix_nv", d.cooperativeMatrixNv}, {"compute_queue", d.computeQueueFamily.has_value()},
            {"timestamp_period_ns", d.timestampValidBits > 0 ? ordered_json(d.timestampPeriodNs) : ordered_json(nullptr)}};
}

std::string heapsText(const PhysicalDeviceInfo& d)
{
    std::string s;
    for (const auto& h : d.heaps) {
        s += (s.empty() ? "" : ", ") + humanBytes(h.bytes) + (h.deviceLocal ? " device-local" : " host");
        if (d.memoryBudget) s += " (budget " + humanBytes(h.budgetBytes) + ")";
    }
    return s;
}

void printDevice(const PhysicalDeviceInfo& d, bool chosen, std::ostream& out)
{
    out << d.index << ": " << d.name << (chosen ? "  [default]" : "") << "\n"
        << "   type " << backends::vulkan::deviceTypeName(d.type) << ", Vulkan "
        << backends::vulkan::apiVersionString(d.apiVersion) << ", driver " << d.driverName << " (" << d.driverInfo
        << ")\n"
        << "   memory heaps: " << heapsText(d) << "\n"
        << "   subgroup size " << d.subgroupSize << ", shaderFloat16 " << yesNo(d.shaderFloat16) << ", shaderInt8 "
        << yesNo(d.shaderInt8) << ", cooperative matrix (VK_NV_cooperative_matrix) " << yesNo(d.cooperativeMatrixNv)
        << ", compute queue " << yesNo(d.computeQueueFamily.has_value()) << ", timestamps "
        << (d.timestampValidBits > 0 ? numberText(d.timestampPeriodNs) + " ns/tick" : std::string("no")) << "\n";
}

/// "No device" is an answer (exit 0); a failure to ask is an error (exit 2).
int listDevices(bool json, std::ostream& out, std::ostream& err)
{
    auto listing = backends::vulkan::listPhysicalDevices();
    if (!listing) return fail(err, listing.error().message);
    const auto& [devices, chosen, none] = *listing;
    if (json) {
        ordered_json j = {{"devices", ordered_json::array()}};
        for (const auto& d : devices)
            j["devices"].push_back(deviceJson(d, chosen == d.index));
        if (!none.empty()) j["none"] = none;
        out << j.dump(2) << "\n";
        return 0;
    }
    for (const auto& d : devices)
        printDevice(d, chosen == d.index, out);
    if (!none.empty()) out << none << "\n";
    return 0;
}

class DevicesCommand final : public Command {
public:
    explicit DevicesCommand(CLI::App& root)
    {
        m_app = root.add_subcommand("devices", "List the Vulkan devices the compute backend can use (exit status 0 "
                                               "also when there is none: it says why).");
        m_app->add_flag("--json", m_json, "print one JSON object");
    }
    bool chosen() const override { return m_app->parsed(); }
    int run(std::ostream& out, std::ostream& err) override { return listDevices(m_json, out, err); }

private:
    CLI::App* m_app = nullptr;
    bool m_json = false;
};

} // namespace

std::unique_ptr<Command> addDevicesCommand(CLI::App& root) { return std::make_unique<DevicesCommand>(root); }

} // namespace qs::cli
