#include "vulkan_backend.h"

#include "vk_queue.h"
#include "kernels/vk_gemm.h"
#include "kernels/vk_linear.h"
#include "kernels/vk_metrics.h"
#include "kernels/vk_quantize.h"
#include "kernels/vk_quantize_blocks.h"
#include "kernels/vk_stats.h"

#include "quant/quantize.h"

namespace qs::backends::vulkan {

namespace {

bool outOfMemory(const core::Error& e)
{
    return e.message.find("VK_ERROR_OUT_OF_DEVICE_MEMORY") != std::string::npos ||
           e.message.find("VK_ERROR_OUT_OF_HOST_MEMORY") != std::string::npos;
}

/// Runs `kernel(device, chunkBytes)` as one job on the queue, first with the device's
/// maxChunkBytes(kind) (`kind`: the buffers the chunks go to); when an allocation fails for want of memory, again with half the chunk,
/// down to kMinChunk, so that a tensor that does not fit now is split finer instead of failing.
/// The last error is returned when even the smallest chunk does not fit, or when `mayRetry()`
/// says a failed attempt left its output changed.
template <class Kernel, class MayRetry = bool (*)()>
auto withChunkRetry(ComputeQueue& queue, Kernel kernel, BufferKind kind = BufferKind::HostVisible,
                    MayRetry mayRetry = [] { return true; })
{
    constexpr uint64_t kMinChunk = uint64_t{1} << 20;
    uint64_t chunk = 0; // 0: the device's maxChunkBytes()
    while (true) {
        uint64_t used = 0;
        auto result = queue
                          .submit([&](Device& device) {
                              used = chunk ? chunk : device.maxChunkBytes(kind);
                              return kernel(device, used);
                          })
                          .get();
        if (result || !outOfMemory(result.error()) || used / 2 < kMinChunk || !mayRetry()) return result;
        chunk = used / 2;
    }
}

/// core::Gemm on the backend's queue: each sgemm is one job (sgemmOnDevice), retried with
/// smaller chunks when the device runs out of memory before C was touched.
class VulkanGemm final : public core::Gemm {
public:
    explicit VulkanGemm(ComputeQueue& queue) : m_queue(queue) {}
    std::string_view name() const override { return "vulkan"; }
    core::Status sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                       int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const override
    {
        const GemmCall call{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
        bool wroteC = false;
        return withChunkRetry(
            m_queue,
            [&](Device& device, uint64_t chunk) {
                DeviceGemmOptions options;
                options.maxChunkBytes = chunk;
                options.wroteC = &wroteC;
                return sgemmOnDevice(device, call, options);
            },
            BufferKind::HostVisible, [&] { return !wroteC; });
    }

private:
    ComputeQueue& m_queue;
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
    auto forceStaging = forceStagingFromEnvironment();
    if (!forceStaging) return forceStaging.error();
    deviceOptions.forceStaging = *forceStaging;
    auto queue = ComputeQueue::create(*instance, deviceOptions);
    if (!queue) return queue.error();
    std::unique_ptr<VulkanBackend> b(new VulkanBackend);
    b->m_queue = std::move(*queue);
    b->m_gemm = std::make_unique<VulkanGemm>(*b->m_queue);
    const PhysicalDeviceInfo& d = b->m_queue->info();
    b->m_caps.device = "Vulkan " + std::to_string(d.index) + ": " + d.name + " (" +
                       std::string(deviceTypeName(d.type)) + ", " + d.driverName + ")";
    b->m_caps.ops = {Op::Quantize, Op::Statistics, Op::ErrorMetrics, Op::Linear, Op::Gemm};
    b->m_caps.linear = {LinearPrecision::F32, LinearPrecision::BF16, LinearPrecision::F16,
                        LinearPrecision::Int8, LinearPrecision::WeightOnly};
    b->m_caps.schemes = "int2-8 (sym/asym, tensor/channel/group; minmax or percentile clip), fp8_e4m3/e5m2, "
                        "nf4 (+dq), mxfp4, mxfp8, nvfp4, q8_0, q4_0, q4_k";
    b->m_caps.how = {
        "Vulkan compute shaders on " + d.name + ": group ranges and codes on the device, scales fitted by the "
        "codec on the host (same bits as the reference)",
        "Vulkan subgroup reductions, moments merged pairwise (Pebay) on the host",
        "Vulkan metric sums and pooled error map (max cells bit-exact, sums within f32 reduction error)",
        "Vulkan GEMV/GEMM shaders, weights decoded in the shader (int4 group, Q4_K); other weight-only "
        "schemes as f32 dequantized weights",
        "Vulkan f32 GEMM shader (64 x 64 tiles, f32 sums); alpha and beta applied on the host as C is copied out"};
    return b;
}

VulkanBackend::~VulkanBackend() = default;

core::Status VulkanBackend::supportsScheme(const quant::Scheme& scheme) const
{
    if (blockSchemeOnDevice(scheme) || quantizeOnDeviceSupports(scheme, {})) return core::Status::success();
    return notSupported("quantize " + scheme.spec());
}

core::Result<quant::Quantized> VulkanBackend::quantize(const quant::Matrix& w, const quant::Scheme& scheme,
                                                       const quant::RangeOptions& range, core::Progress* progress,
                                                       quant::Quantized*) const
{
    return quantizeTimed(w, scheme, range, progress, nullptr);
}

core::Result<quant::Quantized> VulkanBackend::quantizeTimed(const quant::Matrix& w, const quant::Scheme& scheme,
                                                            const quant::RangeOptions& range, core::Progress* progress,
                                                            core::DeviceTime* time) const
{
    if (auto st = quant::checkClip(scheme, range); !st) return st.error();
    const bool blocks = blockSchemeOnDevice(scheme);
    return withChunkRetry(*m_queue, [&](Device& device, uint64_t chunk) -> core::Result<quant::Quantized> {
        QuantizeOptions options;
        options.chunkBytes = chunk;
        auto q = blocks ? quantizeBlocksOnDevice(device, w, scheme, range, progress, nullptr, chunk)
                        : quantizeOnDevice(device, w, scheme, range, progress, options);
        // The queue takes the totals after every job: what the device holds now is this job's.
        if (time) time->add(device.dispatchTotals());
        return q;
    });
}

core::Result<quant::Measured> VulkanBackend::quantizeAndMeasure(const quant::Matrix& w, const quant::Scheme& scheme,
                                                                const quant::RangeOptions& range,
                                                                const quant::MeasureOptions& measure,
                                                                core::Progress* progress, quant::Measured*) const
{
    core::DeviceTime time;
    auto q = quantizeTimed(w, scheme, range, progress, &time);
    if (!q) return q.error();
    auto m = measureOnCpu(w, std::move(*q), measure);
    m.deviceTime = time;
    return m;
}

core::Result<core::TensorStats> VulkanBackend::statistics(const core::TensorInfo& tensor,
                                                          const core::StatsOptions& options,
                                                          core::Progress* progress) const
{
    return withChunkRetry(*m_queue, [&](Device& device, uint64_t chunk) {
        return statisticsOnDevice(device, tensor, options, progress, chunk);
    });
}

core::Result<ErrorReport> VulkanBackend::errorMetrics(const quant::Matrix& reference, const quant::Matrix& quantized,
                                                      const ErrorMapOptions& options) const
{
    return withChunkRetry(*m_queue, [&](Device& device, uint64_t chunk) {
        return errorMetricsOnDevice(device, reference, quantized, options, chunk);
    });
}

core::Result<quant::Matrix> VulkanBackend::linear(const quant::Matrix& x, const LinearWeights& weights,
                                                  const LinearOptions& options) const
{
    return withChunkRetry(*m_queue, [&](Device& device, uint64_t chunk) {
        DeviceLinearOptions chunking;
        chunking.maxChunkBytes = chunk;
        return linearOnDevice(device, x, weights, options, nullptr, chunking);
    }, BufferKind::DeviceLocal);
}

namespace {

/// VulkanBackend's prepared weights: the layout, and the id of the buffers the device keeps
/// (Device::keepResident) with the serial of that device.
class VulkanPreparedLinear final : public PreparedLinear {
public:
    VulkanPreparedLinear(const Backend& owner, DeviceLinearLayout layout, uint64_t serial, uint64_t id,
                         std::weak_ptr<ComputeQueue> queue)
        : PreparedLinear(owner, layout.options, layout.rows, layout.cols), layout(std::move(layout)), serial(serial),
          id(id), m_queue(std::move(queue))
    {
    }
    /// Frees the buffers on the queue thread (not waited for); nothing to do when the backend
    /// is gone or the device was recreated: the buffers went with that device.
    ~VulkanPreparedLinear() override
    {
        if (auto queue = m_queue.lock()) {
            queue->submit([serial = serial, id = id](Device& device) {
                if (device.serial() == serial) device.releaseResident(id);
                return core::Status::success();
            });
        }
    }
    const DeviceLinearLayout layout;
    const uint64_t serial;
    const uint64_t id;

private:
    std::weak_ptr<ComputeQueue> m_queue;
};

} // namespace

core::Result<std::unique_ptr<PreparedLinear>> VulkanBackend::prepareLinear(const LinearWeights& weights,
                                                                           const LinearOptions& options) const
{
    if (auto st = checkLinearWeights(weights, options); !st) return st.error();
    struct Kept {
        DeviceLinearLayout layout;
        uint64_t serial = 0, id = 0;
    };
    auto kept = withChunkRetry(*m_queue, [&](Device& device, uint64_t chunk) -> core::Result<Kept> {
        DeviceLinearOptions chunking;
        chunking.maxChunkBytes = chunk;
        auto prepared = prepareLinearOnDevice(device, weights, options, chunking);
        if (!prepared) return prepared.error();
        return Kept{prepared->layout, device.serial(), device.keepResident(std::move(prepared->buffers))};
    }, BufferKind::DeviceLocal);
    if (!kept) return kept.error();
    return std::unique_ptr<PreparedLinear>(new VulkanPreparedLinear(*this, std::move(kept->layout), kept->serial,
                                                                    kept->id, m_queue));
}

core::Result<quant::Matrix> VulkanBackend::linear(const quant::Matrix& x, const PreparedLinear& prepared) const
{
    if (auto st = checkPrepared(x, prepared); !st) return st.error();
    const auto* p = dynamic_cast<const VulkanPreparedLinear*>(&prepared);
    if (!p) return Backend::linear(x, prepared); // not ours: the base's kind (or its error)
    return m_queue
        ->submit([&](Device& device) -> core::Result<quant::Matrix> {
            if (device.serial() != p->serial) {
                return core::Error{core::ErrorCode::Device,
                                   "vulkan linear: the prepared weights were on a Vulkan device that has since been "
                                   "lost and recreated; prepare them again"};
            }
            return linearOnDevice(device, x, p->layout, device.resident(p->id));
        })
        .get();
}

const core::Gemm& VulkanBackend::gemm() const { return *m_gemm; }

std::string VulkanBackend::warning() const { return m_queue->pipelineCacheWarning(); }

const PhysicalDeviceInfo& VulkanBackend::device() const { return m_queue->info(); }

} // namespace qs::backends::vulkan
