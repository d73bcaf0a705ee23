#include "vulkan_backend.h"

#include "vk_queue.h"

namespace qs::backends::vulkan {

namespace {

/// The Gemm slot of a backend that has no GEMM: every call is an Unsupported error.
class UnsupportedGemm final : public core::Gemm {
public:
    std::string_view name() const override { return "vulkan"; }
    core::Status sgemm(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                       float, float*, int64_t) const override
    {
        return core::Error{core::ErrorCode::Unsupported, "not supported by vulkan: sgemm (no Vulkan GEMM yet)"};
    }
};

} // namespace

core::Result<std::unique_ptr<VulkanBackend>> VulkanBackend::create(const VulkanBackendOptions& options)
{
    auto instanceOptions = instanceOptionsFromEnvironment();
    if (!instanceOptions) return instanceOptions.error();
    auto instance = Instance::create(*instanceOptions);
    if (!instance) return instance.error();
    DeviceOptions deviceOptions;
    deviceOptions.index = options.deviceIndex;
    deviceOptions.fenceTimeout = std::chrono::milliseconds(options.fenceTimeoutMs);
    auto queue = ComputeQueue::create(*instance, deviceOptions);
    if (!queue) return queue.error();
    std::unique_ptr<VulkanBackend> b(new VulkanBackend);
    b->m_queue = std::move(*queue);
    b->m_gemm = std::make_unique<UnsupportedGemm>();
    const PhysicalDeviceInfo& d = b->m_queue->info();
    b->m_caps.device = "Vulkan " + std::to_string(d.index) + ": " + d.name + " (" +
                       std::string(deviceTypeName(d.type)) + ", " + d.driverName + ")";
    b->m_caps.schemes = "none yet";
    return b;
}

VulkanBackend::~VulkanBackend() = default;

core::Status VulkanBackend::supportsScheme(const quant::Scheme& scheme) const
{
    return notSupported("quantize " + scheme.spec() + " (no Vulkan quantize kernel yet)");
}

const core::Gemm& VulkanBackend::gemm() const { return *m_gemm; }

const PhysicalDeviceInfo& VulkanBackend::device() const { return m_queue->info(); }

} // namespace qs::backends::vulkan
