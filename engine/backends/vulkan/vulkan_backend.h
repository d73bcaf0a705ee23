#pragma once
/// The Vulkan compute backend: a ComputeQueue (one thread owning one Vulkan device) behind
/// the Backend interface. At this stage it runs no operation yet: its capabilities name only
/// the device, and every op answers "not supported by vulkan: ...". Kernels join it one op at
/// a time (each adds its Op, its `how` line and its override here).
///
/// It is made with VulkanBackend::create, not yet by createBackend/backendNames: those feed the
/// GUI's backend list and the CLI's --backend, where a backend that refuses every op would
/// offer nothing but failures. It joins the registry with its first op.
#include "backends/backend.h"

#include <memory>
#include <optional>

namespace qs::backends::vulkan {

class ComputeQueue;
struct PhysicalDeviceInfo;

struct VulkanBackendOptions {
    std::optional<uint32_t> deviceIndex; ///< default: discrete > integrated > virtual > CPU
    uint32_t fenceTimeoutMs = 30000;     ///< a dispatch running longer fails; the device is recreated
};

class VulkanBackend final : public Backend {
public:
    /// Opens the Vulkan loader (validation when QS_VULKAN_VALIDATION=1), picks the device and
    /// starts its queue thread. "no Vulkan device: ..." (Unsupported) when there is none.
    static core::Result<std::unique_ptr<VulkanBackend>> create(const VulkanBackendOptions& options = {});
    ~VulkanBackend() override;

    std::string_view name() const override { return "vulkan"; }
    const Capabilities& capabilities() const override { return m_caps; }
    core::Status supportsScheme(const quant::Scheme& scheme) const override;
    /// A GEMM whose every call answers "not supported by vulkan: sgemm" (no Vulkan GEMM yet).
    const core::Gemm& gemm() const override;

    const PhysicalDeviceInfo& device() const;
    /// The queue kernels are submitted to.
    ComputeQueue& queue() const { return *m_queue; }

private:
    VulkanBackend() = default;

    std::unique_ptr<ComputeQueue> m_queue;
    std::unique_ptr<core::Gemm> m_gemm;
    Capabilities m_caps;
};

} // namespace qs::backends::vulkan
