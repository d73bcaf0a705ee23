#pragma once
/// One interface for the work the application sends to a device: quantize + dequantize a
/// matrix under a scheme, tensor statistics, error metrics with a pooled error map, linear
/// layers (GEMM / GEMV) and the f32 GEMM the quantization methods run on. A backend is made by
/// name (createBackend); it lists what it supports (capabilities) and answers everything else
/// with an Unsupported error "not supported by NAME: WHAT". Callers hold a Backend and never
/// branch on which one it is.
#include "linear.h"

#include "core/gemm.h"
#include "core/stats.h"
#include "quant/analysis.h"
#include "quant/metrics.h"
#include "quant/quantize.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qs::backends {

enum class Op : uint8_t { Quantize, Statistics, ErrorMetrics, Linear, Gemm };

/// "quantize", "statistics", "error-metrics", "linear", "gemm".
std::string_view opName(Op op);

/// What a backend runs, for listings and for reports of what actually ran.
struct Capabilities {
    std::vector<Op> ops;                        ///< operations it implements
    std::vector<LinearPrecision> linear;        ///< precisions linear() accepts
    std::string schemes;                        ///< the schemes quantize() accepts, in words
    /// How each implemented op runs, one line each, in the order of `ops`
    /// (e.g. "oneDNN reorder f32 -> s8 with the reference's per-channel scales").
    std::vector<std::string> how;
    /// The device it runs on, in words (e.g. "Vulkan 0: llvmpipe (cpu)"); empty for the CPU
    /// the process runs on.
    std::string device;
    bool has(Op op) const;
    bool has(LinearPrecision p) const;
    /// The `how` line of `op`; empty when the op is not implemented.
    std::string_view howRuns(Op op) const;
};

/// errorMetrics(): the scalar metrics (quant/metrics.h) and the error map pooled to a grid.
struct ErrorMapOptions {
    int64_t gridRows = 64;
    int64_t gridCols = 64;
    quant::ErrorKind kind = quant::ErrorKind::Absolute;
    quant::Pooling pooling = quant::Pooling::Max;
};

struct ErrorReport {
    quant::ErrorMetrics metrics;
    quant::Matrix map; ///< quant::errorMap of the two matrices under ErrorMapOptions
};

class Backend;

/// Linear weights made ready once for many linear() calls on one backend (Backend::prepareLinear):
/// opaque; what it holds depends on the backend. The base implementation (the reference and
/// oneDNN backends) holds the LinearWeights as given -- pointers and spans, nothing copied --
/// so the caller must keep the weights alive and unchanged for the prepared object's life. A
/// backend that packs the weights (Vulkan: device-local buffers) owns its copy and does not
/// need the caller's weights afterwards. A prepared object is used only with the backend that
/// made it, must not outlive it in use (destroying it later is safe), and may be used by
/// several threads at once as the backend allows.
class PreparedLinear {
public:
    virtual ~PreparedLinear() = default;
    PreparedLinear(const PreparedLinear&) = delete;
    PreparedLinear& operator=(const PreparedLinear&) = delete;

    const LinearOptions& options() const { return m_options; }
    LinearPrecision precision() const { return m_options.precision; }
    int64_t outFeatures() const { return m_out; }
    int64_t inFeatures() const { return m_in; }
    /// True when `backend` made this object (identity, not name: two Vulkan backends differ).
    bool preparedBy(const Backend& backend) const { return m_owner == &backend; }
    /// The name of the backend that made it, for messages.
    const std::string& ownerName() const { return m_ownerName; }

protected:
    PreparedLinear(const Backend& owner, const LinearOptions& options, int64_t out, int64_t in);

private:
    const Backend* m_owner; ///< compared, never dereferenced
    std::string m_ownerName;
    LinearOptions m_options;
    int64_t m_out = 0, m_in = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    /// The registry name ("reference", "onednn").
    virtual std::string_view name() const = 0;
    virtual const Capabilities& capabilities() const = 0;

    /// True when quantize() runs `scheme`; otherwise the reason ("not supported by ...").
    virtual core::Status supportsScheme(const quant::Scheme& scheme) const = 0;

    /// Quantizes and dequantizes w under scheme, as quant::quantizeRtn defines it (same codes,
    /// scales and storage cost). `reuse` as in quantizeRtn.
    virtual core::Result<quant::Quantized> quantize(const quant::Matrix& w,
                                                    const quant::Scheme& scheme,
                                                    const quant::RangeOptions& range = {},
                                                    core::Progress* progress = nullptr,
                                                    quant::Quantized* reuse = nullptr) const;

    /// The workbench's recompute: quantize(...) and the metrics and pooled error map of the
    /// result (quant/analysis.h). The default runs this backend's quantize and then the
    /// metrics on the CPU (quant::compareValues, quant::errorMap: the one definition of each);
    /// a backend with a fused pass overrides it with the same figures.
    virtual core::Result<quant::Measured> quantizeAndMeasure(const quant::Matrix& w, const quant::Scheme& scheme,
                                                             const quant::RangeOptions& range = {},
                                                             const quant::MeasureOptions& measure = {},
                                                             core::Progress* progress = nullptr,
                                                             quant::Measured* reuse = nullptr) const;

    /// core::computeStats of one tensor.
    virtual core::Result<core::TensorStats> statistics(const core::TensorInfo& tensor,
                                                       const core::StatsOptions& options = {},
                                                       core::Progress* progress = nullptr) const;

    /// Metrics between reference and quantized (same shape) plus the pooled error map.
    virtual core::Result<ErrorReport> errorMetrics(const quant::Matrix& reference,
                                                   const quant::Matrix& quantized,
                                                   const ErrorMapOptions& options = {}) const;

    /// y = x W^T for x [batch, in] (batch 1 is a GEMV) and weights [out, in]: y [batch, out].
    /// See linear.h for what each precision computes.
    virtual core::Result<quant::Matrix> linear(const quant::Matrix& x, const LinearWeights& weights,
                                               const LinearOptions& options = {}) const;

    /// Checks weights and options (checkLinearWeights, and that this backend runs the
    /// precision) and makes them ready for many linear(x, prepared) calls. The base version
    /// keeps the LinearWeights as given (see PreparedLinear: the caller keeps them alive) and
    /// runs the plain linear() on each call; a backend with a costly weight layout overrides it.
    virtual core::Result<std::unique_ptr<PreparedLinear>> prepareLinear(const LinearWeights& weights,
                                                                        const LinearOptions& options = {}) const;

    /// y = x W^T with prepared weights: the same values as linear(x, weights, options) with the
    /// weights and options prepareLinear was given. InvalidArgument when `prepared` comes from
    /// another backend (instance) or x does not have prepared.inFeatures() columns.
    virtual core::Result<quant::Matrix> linear(const quant::Matrix& x, const PreparedLinear& prepared) const;

    /// The f32 GEMM of this backend, for GPTQ / AWQ (quant::MethodOptions::gemm).
    virtual const core::Gemm& gemm() const = 0;

    /// What the user should be told about this backend as of now, beyond capabilities(): e.g.
    /// "Vulkan pipeline cache: ignored FILE: why; starting empty". Empty when all is well.
    virtual std::string warning() const { return {}; }

protected:
    /// The metrics and pooled error map of q against w (quantizeAndMeasure's second half, on
    /// the CPU: quant::compareValues and quant::errorMap).
    static quant::Measured measureOnCpu(const quant::Matrix& w, quant::Quantized q, const quant::MeasureOptions& measure);

    /// Unsupported error "not supported by NAME: what".
    core::Error notSupported(const std::string& what) const;

    /// The checks every linear(x, prepared) starts with: `prepared` made by this backend, x a
    /// non-empty [batch, inFeatures] matrix. InvalidArgument naming the problem otherwise.
    core::Status checkPrepared(const quant::Matrix& x, const PreparedLinear& prepared) const;
};

/// How a backend is made: `device` picks a Vulkan physical device by index
/// (`quantscope-cli devices`); the other backends refuse it.
struct BackendOptions {
    std::optional<uint32_t> device;
};

/// "reference" (alias "ref"), "onednn" and "vulkan"; InvalidArgument listing the valid names
/// otherwise. "vulkan" fails with "no Vulkan device: ..." where there is none.
core::Result<std::unique_ptr<Backend>> createBackend(std::string_view name, const BackendOptions& options = {});

/// A backend to run on, and why it is not the one asked for.
struct BackendChoice {
    std::unique_ptr<Backend> backend;
    std::string fallback; ///< empty, or "no Vulkan device: ...; using the reference backend"
};

/// createBackend(name, options), except that a device backend that cannot start here (no
/// Vulkan loader, driver or device, or device creation failed) gives the reference backend and
/// says why in `fallback`, so the CLI and the GUI tell the user once and go on on the CPU.
/// Unknown names and refused options stay errors.
core::Result<BackendChoice> createBackendOrFallback(std::string_view name, const BackendOptions& options = {});

/// The registry names, in listing order ("reference", "onednn", "vulkan").
std::vector<std::string> backendNames();

/// A backend with its options written as one word, for selectors and saved settings:
/// "reference", "onednn", "vulkan" (the default device) or "vulkan:N" (device N).
struct BackendSpec {
    std::string name;
    BackendOptions options;
};

/// Parses "NAME" or "NAME:N" (N a device index, decimal). InvalidArgument on an empty name,
/// an index that is not a number or out of uint32 range; the name itself is checked by
/// createBackend.
core::Result<BackendSpec> parseBackendSpec(std::string_view spec);

/// The spec of `name` on device `index` ("vulkan:1"), parseBackendSpec's inverse.
std::string backendSpec(std::string_view name, std::optional<uint32_t> index);

/// A device a backend can be pinned to (BackendOptions::device), as a selector shows it.
struct DeviceEntry {
    std::string backend;  ///< "vulkan"
    uint32_t index = 0;   ///< BackendOptions::device
    std::string name;     ///< e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string type;     ///< "discrete GPU", "cpu", ...
    bool isDefault = false; ///< the device the backend picks without an index
};

struct DeviceList {
    std::vector<DeviceEntry> devices;
    std::string none; ///< why a device backend has no usable device; empty otherwise
};

/// The devices of the device backends (today the Vulkan physical devices). Opens the Vulkan
/// loader: call it off the GUI thread. No loader or device is an answer (`none`), a failing
/// Vulkan call an error.
core::Result<DeviceList> listDevices();

} // namespace qs::backends
