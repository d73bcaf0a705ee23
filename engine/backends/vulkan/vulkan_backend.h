#pragma once
/// The Vulkan compute backend: a ComputeQueue (one thread owning one Vulkan device) behind
/// the Backend interface, running the kernels of kernels/: quantize + dequantize (INT2-8,
/// FP8, NF4: vk_quantize; MXFP4/8, NVFP4, Q8_0, Q4_0, Q4_K: vk_quantize_blocks; the same bits
/// as quant::quantizeRtn), statistics (vk_stats), error metrics with the pooled map
/// (vk_metrics) and linear layers (vk_linear). Every kernel call is one job on the queue
/// thread; chunks follow Device::maxChunkBytes(), and an allocation that fails for want of
/// device memory is retried with chunks half as large (down to 1 MiB) before it is an error.
/// The f32 GEMM GPTQ/AWQ run on (gemm()) is vk_gemm's shader, one queue job per call.
/// Made by createBackend("vulkan").
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
    core::Result<quant::Quantized> quantize(const quant::Matrix& w, const quant::Scheme& scheme,
                                            const quant::RangeOptions& range = {}, core::Progress* progress = nullptr,
                                            quant::Quantized* reuse = nullptr) const override;
    /// quantize() with the metrics and error map on the CPU (as the default), and the time the
    /// pass's dispatches took on the device (Measured::deviceTime: GPU timestamps, wall time).
    core::Result<quant::Measured> quantizeAndMeasure(const quant::Matrix& w, const quant::Scheme& scheme,
                                                     const quant::RangeOptions& range = {},
                                                     const quant::MeasureOptions& measure = {},
                                                     core::Progress* progress = nullptr,
                                                     quant::Measured* reuse = nullptr) const override;
    core::Result<core::TensorStats> statistics(const core::TensorInfo& tensor, const core::StatsOptions& options = {},
                                               core::Progress* progress = nullptr) const override;
    core::Result<ErrorReport> errorMetrics(const quant::Matrix& reference, const quant::Matrix& quantized,
                                           const ErrorMapOptions& options = {}) const override;
    core::Result<quant::Matrix> linear(const quant::Matrix& x, const LinearWeights& weights,
                                       const LinearOptions& options = {}) const override;
    /// Packs the weights once into device-local buffers that the device keeps
    /// (Device::keepResident; the caller's weights are not needed afterwards). After the
    /// device was lost and recreated, linear(x, prepared) answers with a Device error asking to
    /// prepare again; destroying the prepared object frees its buffers on the queue thread.
    core::Result<std::unique_ptr<PreparedLinear>> prepareLinear(const LinearWeights& weights,
                                                                const LinearOptions& options = {}) const override;
    core::Result<quant::Matrix> linear(const quant::Matrix& x, const PreparedLinear& prepared) const override;
    /// core::Gemm on the device (kernels/vk_gemm.h: sums on the device, alpha and beta on the
    /// host); each sgemm call is one job on queue().
    const core::Gemm& gemm() const override;
    /// The pipeline-cache problem, if any (ComputeQueue::pipelineCacheWarning).
    std::string warning() const override;

    const PhysicalDeviceInfo& device() const;
    /// The queue kernels are submitted to.
    ComputeQueue& queue() const { return *m_queue; }

private:
    VulkanBackend() = default;
    /// quantize(), adding the dispatches of its queue jobs to `time` when given.
    core::Result<quant::Quantized> quantizeTimed(const quant::Matrix& w, const quant::Scheme& scheme,
                                                 const quant::RangeOptions& range, core::Progress* progress,
                                                 core::DeviceTime* time) const;

    std::shared_ptr<ComputeQueue> m_queue; ///< shared: prepared weights hold a weak_ptr to free their buffers
    std::unique_ptr<core::Gemm> m_gemm;
    Capabilities m_caps;
};

} // namespace qs::backends::vulkan
