#pragma once
/// A linear layer y = x W^T run through oneDNN 2.6 matmul on the CPU, in f32, bf16, or int8
/// (u8 or s8 activations x s8 weights with per-output-channel scales). Primitives and the
/// prepacked weights are created once; run() only executes them.
///
/// Int8: weights are codes q[n][k] with scales sw[n] (w ~ sw[n] * q[n][k]); activations are
/// quantized by a reorder with the fixed scale sx (x ~ sx * qx, u8 when the calibration says
/// x >= 0, else s8, zero point 0); the matmul's output scales sx * sw[n] are fixed at creation,
/// because oneDNN 2.6 runs runtime scales through the slower gemm:jit kernel.
#include "backends/linear.h"
#include "core/result.h"
#include "quant/matrix.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace qs::backends::onednn {

/// The backend-wide types (backends/linear.h); WeightOnly is not a oneDNN 2.6 precision.
using Precision = LinearPrecision;
using backends::ActivationRange;
using backends::Int8Weights;

class Linear {
public:
    /// F32, BF16 or F16 layer from f32 weights [out, in] for `batch` input rows (Unsupported for
    /// WeightOnly: oneDNN 2.6 has no weight decompression; Unsupported for F16 where oneDNN has
    /// no f16 matmul for the CPU, see f16MatmulSupport).
    static core::Result<std::unique_ptr<Linear>> create(const quant::Matrix& weights,
                                                        int64_t batch, Precision precision);
    /// Int8 layer from codes and per-channel scales.
    static core::Result<std::unique_ptr<Linear>> createInt8(const Int8Weights& weights,
                                                            int64_t batch,
                                                            const ActivationRange& range);
    ~Linear();
    Linear(const Linear&) = delete;
    Linear& operator=(const Linear&) = delete;

    /// x: batch * in values, y: batch * out values (row-major).
    core::Status run(std::span<const float> x, std::span<float> y);

    Precision precision() const;
    /// oneDNN's implementation name of the matmul ("brg:avx512_core_vnni", "gemm:jit", ...).
    const std::string& implementation() const;
    /// True when an int8 matmul runs a kernel that is not a dedicated int8 one (gemm:jit, ref):
    /// the timing then says more about the fallback than about int8.
    bool isSlowPath() const;
    /// Bytes of the weights as the primitive holds them (after prepacking).
    uint64_t weightBytes() const;

    struct State; ///< oneDNN objects; opaque outside the .cpp

private:
    explicit Linear(std::unique_ptr<State> state);
    std::unique_ptr<State> m_state;
};

/// Quantizes w [out, in] to int8 codes with a oneDNN reorder (f32 -> s8 with per-row output
/// scale 1/scales[r]: oneDNN multiplies, rounds to nearest even and saturates to [-128, 127]).
core::Result<std::vector<int8_t>> reorderQuantizeInt8(const quant::Matrix& w,
                                                      std::span<const float> scales);

/// Whether oneDNN can create an f16 matmul (f16 x and W, f32 y) on this CPU: oneDNN 2.6 has
/// f16 matmul kernels only for AVX512-FP16 CPUs. Probed once; the error holds oneDNN's answer.
core::Status f16MatmulSupport();

/// The CPU's oneDNN ISA, as oneDNN reports it (e.g. "Intel AVX-512 with AVX512-VNNI ...").
std::string cpuIsaName();

} // namespace qs::backends::onednn
