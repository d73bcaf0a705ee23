#include "backend.h"

#include "onednn/onednn_backend.h"
#include "reference/reference_backend.h"
#include "vulkan/vulkan_backend.h"
#include "vulkan/vk_instance.h"

#include <algorithm>
#include <charconv>

namespace qs::backends {

std::string_view opName(Op op)
{
    switch (op) {
    case Op::Quantize: return "quantize";
    case Op::Statistics: return "statistics";
    case Op::ErrorMetrics: return "error-metrics";
    case Op::Linear: return "linear";
    case Op::Gemm: return "gemm";
    }
    return "?";
}

bool Capabilities::has(Op op) const { return std::find(ops.begin(), ops.end(), op) != ops.end(); }

bool Capabilities::has(LinearPrecision p) const
{
    return std::find(linear.begin(), linear.end(), p) != linear.end();
}

std::string_view Capabilities::howRuns(Op op) const
{
    for (size_t i = 0; i < ops.size() && i < how.size(); ++i) {
        if (ops[i] == op) return how[i];
    }
    return {};
}

core::Error Backend::notSupported(const std::string& what) const
{
    return core::Error{core::ErrorCode::Unsupported,
                       "not supported by " + std::string(name()) + ": " + what};
}

core::Result<quant::Quantized> Backend::quantize(const quant::Matrix&, const quant::Scheme& scheme,
                                                 const quant::RangeOptions&, core::Progress*,
                                                 quant::Quantized*) const
{
    return notSupported("quantize " + scheme.spec());
}

core::Result<quant::Measured> Backend::quantizeAndMeasure(const quant::Matrix& w, const quant::Scheme& scheme,
                                                         const quant::RangeOptions& range,
                                                         const quant::MeasureOptions& measure, core::Progress* progress,
                                                         quant::Measured* reuse) const
{
    auto q = quantize(w, scheme, range, progress, reuse ? &reuse->q : nullptr);
    if (!q) return q.error();
    return measureOnCpu(w, std::move(*q), measure);
}

quant::Measured Backend::measureOnCpu(const quant::Matrix& w, quant::Quantized q, const quant::MeasureOptions& measure)
{
    quant::Measured m;
    m.metrics = quant::compareValues(w.values(), q.dequant.values());
    m.errorMap = quant::errorMap(w, q.dequant, measure.gridRows, measure.gridCols, measure.kind, measure.pooling);
    m.q = std::move(q);
    return m;
}

core::Result<core::TensorStats> Backend::statistics(const core::TensorInfo&,
                                                    const core::StatsOptions&,
                                                    core::Progress*) const
{
    return notSupported("statistics");
}

core::Result<ErrorReport> Backend::errorMetrics(const quant::Matrix&, const quant::Matrix&,
                                                const ErrorMapOptions&) const
{
    return notSupported("error metrics");
}

core::Result<quant::Matrix> Backend::linear(const quant::Matrix&, const LinearWeights&,
                                            const LinearOptions& options) const
{
    return notSupported("linear " + std::string(precisionName(options.precision)));
}

PreparedLinear::PreparedLinear(const Backend& owner, const LinearOptions& options, int64_t out, int64_t in)
    : m_owner(&owner), m_ownerName(owner.name()), m_options(options), m_out(out), m_in(in)
{
}

namespace {

/// The base prepareLinear's result: the caller's LinearWeights (pointers and spans) as given.
class BorrowedLinear final : public PreparedLinear {
public:
    BorrowedLinear(const Backend& owner, const LinearWeights& weights, const LinearOptions& options)
        : PreparedLinear(owner, options, linearOutFeatures(weights, options.precision),
                         linearInFeatures(weights, options.precision)),
          weights(weights)
    {
    }
    LinearWeights weights;
};

} // namespace

core::Result<std::unique_ptr<PreparedLinear>> Backend::prepareLinear(const LinearWeights& weights,
                                                                     const LinearOptions& options) const
{
    if (!capabilities().has(options.precision)) return notSupported("linear " + std::string(precisionName(options.precision)));
    if (auto st = checkLinearWeights(weights, options); !st) return st.error();
    return std::unique_ptr<PreparedLinear>(new BorrowedLinear(*this, weights, options));
}

core::Status Backend::checkPrepared(const quant::Matrix& x, const PreparedLinear& prepared) const
{
    if (!prepared.preparedBy(*this)) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           "linear: the weights were prepared by another backend (" + prepared.ownerName() +
                               "), not by this " + std::string(name()) + " backend; prepare them on this one"};
    }
    if (x.rows <= 0 || x.cols <= 0 || x.data.size() != size_t(x.rows) * size_t(x.cols))
        return core::Error{core::ErrorCode::InvalidArgument, "linear: the activations must be a non-empty [batch, in] matrix"};
    if (x.cols != prepared.inFeatures()) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           "linear: the prepared weights are [" + std::to_string(prepared.outFeatures()) + ", " +
                               std::to_string(prepared.inFeatures()) + "], the activations have " +
                               std::to_string(x.cols) + " input features"};
    }
    return core::Status::success();
}

core::Result<quant::Matrix> Backend::linear(const quant::Matrix& x, const PreparedLinear& prepared) const
{
    if (auto st = checkPrepared(x, prepared); !st) return st.error();
    const auto* borrowed = dynamic_cast<const BorrowedLinear*>(&prepared);
    if (!borrowed) { // made by this backend's own prepareLinear, which must then run it too
        return core::Error{core::ErrorCode::InvalidArgument, std::string(name()) +
                                                          ": prepared weights of a kind its linear() does not run"};
    }
    return linear(x, borrowed->weights, prepared.options());
}

std::vector<std::string> backendNames() { return {"reference", "onednn", "vulkan"}; }

core::Result<std::unique_ptr<Backend>> createBackend(std::string_view name, const BackendOptions& options)
{
    if (name == "vulkan") {
        vulkan::VulkanBackendOptions vk;
        vk.deviceIndex = options.device;
        auto b = vulkan::VulkanBackend::create(vk);
        if (!b) return b.error();
        return std::unique_ptr<Backend>(std::move(*b));
    }
    if (options.device && (name == "reference" || name == "ref" || name == "onednn")) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           "a device index applies to the vulkan backend only, not to '" + std::string(name) + "'"};
    }
    if (name == "reference" || name == "ref") return std::unique_ptr<Backend>(new ReferenceBackend);
    if (name == "onednn") return std::unique_ptr<Backend>(new onednn::OnednnBackend);
    std::string valid;
    for (const auto& n : backendNames())
        valid += (valid.empty() ? "" : ", ") + n;
    return core::Error{core::ErrorCode::InvalidArgument,
                       "unknown backend '" + std::string(name) + "': valid are " + valid +
                           " (\"ref\" is short for reference)"};
}

core::Result<BackendChoice> createBackendOrFallback(std::string_view name, const BackendOptions& options)
{
    auto b = createBackend(name, options);
    if (b) return BackendChoice{std::move(*b), {}};
    // Only a device that is not there falls back; a bad name or option is the user's to fix.
    if (name != "vulkan" || b.error().code == core::ErrorCode::InvalidArgument) return b.error();
    return BackendChoice{std::unique_ptr<Backend>(new ReferenceBackend),
                         b.error().message + "; using the reference backend (CPU)"};
}

core::Result<BackendSpec> parseBackendSpec(std::string_view spec)
{
    const auto colon = spec.find(':');
    BackendSpec b{std::string(spec.substr(0, colon)), {}};
    if (b.name.empty())
        return core::Error{core::ErrorCode::InvalidArgument, "backend '" + std::string(spec) + "': no name"};
    if (colon == std::string_view::npos) return b;
    const std::string_view digits = spec.substr(colon + 1);
    uint32_t index = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
        return core::Error{core::ErrorCode::InvalidArgument,
                           "backend '" + std::string(spec) + "': the device after ':' must be a number (0, 1, ...)"};
    }
    b.options.device = index;
    return b;
}

std::string backendSpec(std::string_view name, std::optional<uint32_t> index)
{
    return index ? std::string(name) + ":" + std::to_string(*index) : std::string(name);
}

core::Result<DeviceList> listDevices()
{
    auto listing = vulkan::listPhysicalDevices();
    if (!listing) return listing.error();
    DeviceList list{{}, listing->none};
    for (const auto& d : listing->devices) {
        list.devices.push_back({"vulkan", d.index, d.name, std::string(vulkan::deviceTypeName(d.type)),
                                listing->chosen == d.index});
    }
    return list;
}

} // namespace qs::backends
