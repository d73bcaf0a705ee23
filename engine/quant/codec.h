#pragma once
/// Codecs: one per number-format family, each the single definition of its format.
///
/// A codec fits the parameters of every scale group of a weight matrix (under the clipping
/// rule), encodes every weight to a code, decodes codes back to values, and names the parts a
/// file stores (suffix, dtype, shape) with their exact bytes. Every path goes through it: RTN,
/// GPTQ's column quantizer, AWQ, SmoothQuant, LLM.int8, SpQR, saving and the storage cost, so
/// they cannot drift apart. A quantization result holds codes and typed parameters; its
/// dequantized matrix is decode(codes). No code is ever recovered from a float.
///
/// Adding a format: write `codecs/<name>_codec.cpp` with a Codec subclass and one line in the
/// registry (`codec_registry.cpp`); docs/ARCHITECTURE.md shows an example.
#include "matrix.h"
#include "scheme.h"

#include "core/dtype.h"
#include "core/progress.h"
#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace qs::quant {

enum class ClipMethod : uint8_t {
    MinMax,     ///< the group's own min/max (absmax for symmetric formats)
    Percentile, ///< the `percentile` quantile of |x| (symmetric) or of x at both tails
    Mse,        ///< the clip ratio in {1.0, 0.99, ..., 0.50} minimising the group's MSE
};

struct RangeOptions {
    ClipMethod method = ClipMethod::MinMax;
    double percentile = 99.9; ///< Percentile: in (0, 100]
    int mseSteps = 50;        ///< Mse: ratios 1 - k/100 for k < mseSteps
};

/// The range [lo, hi] a group keeps; symmetric formats use lo = -hi.
struct ClipRange {
    float lo = 0;
    float hi = 0;
    bool operator==(const ClipRange&) const = default;
};

/// How the scale groups of a scheme tile a [rows, cols] matrix. Groups are numbered row-major:
/// tensor 0; channel r; inchannel c; group (and every block format) r * perRow + c / width.
struct GroupGrid {
    Granularity granularity = Granularity::Tensor;
    int64_t rows = 0, cols = 0;
    int64_t width = 0;  ///< input channels per group along a row (the last may be shorter)
    int64_t perRow = 1; ///< groups along a row (inchannel: cols, each a whole column)

    int64_t count() const;
    int64_t groupOf(int64_t r, int64_t c) const;
};

/// Int and FP8: the scale each group decodes with (for group-wise int exactly the stored
/// IEEE half), and for asymmetric int the zero point. value = scale * (code - zero point).
struct ScaledParams {
    std::vector<float> scale;
    std::vector<uint8_t> zeroPoint;
};

/// MX: the E8M0 byte of every block (scale 2^(byte - 127)); NVFP4: the E4M3 bits of every
/// block scale and the F32 tensor scale (value = e2m1 * e4m3(scaleCode) * tensorScale).
struct BlockScaleParams {
    std::vector<uint8_t> scaleCode;
    float tensorScale = 1.0f;
};

/// NF4: the absmax every block decodes with. With double quantization it is
/// absmaxCode * absmaxScale[block / 256] + absmaxMean (the stored form); without, an F32.
struct Nf4Params {
    std::vector<float> absmax;
    std::vector<int8_t> absmaxCode;
    std::vector<float> absmaxScale;
    float absmaxMean = 0.0f;
};

/// GGUF block types keep their scales inside the blocks (the codes).
struct GgmlParams {};

using CodecParams = std::variant<ScaledParams, BlockScaleParams, Nf4Params, GgmlParams>;

/// One part of a quantized tensor as a file stores it: NAME + suffix, dtype, shape and bytes.
struct StoredPart {
    std::string suffix; ///< "" for the codes, ".scale", ".zero_point", ...
    core::DType dtype = core::DType::U8;
    std::vector<int64_t> shape;
    std::vector<std::byte> data; ///< empty in a layout (sizes only)

    /// Bytes of the part from its dtype and shape; UINT64_MAX on overflow.
    uint64_t byteSize() const;
};

/// Sum of the parts' byteSize(): what a file holds for them.
uint64_t totalBytes(const std::vector<StoredPart>& parts);

/// The result of quantizing a [rows, cols] matrix under a scheme.
struct Quantized {
    Scheme scheme;
    GroupGrid grid;
    /// One code per weight, row-major: int two's complement (sym) or unsigned (asym) in the
    /// low bits; FP8 / E2M1 bit patterns; NF4 level indices. GGUF types: the blocks exactly as
    /// a GGUF tensor of shape [rows, cols] stores them.
    std::vector<uint8_t> codes;
    CodecParams params;
    /// Every group's range [lo, hi]: the values it represents without clipping (symmetric
    /// formats [-a, a]; block formats +-(largest element x block scale); GGUF: block absmax).
    std::vector<ClipRange> clip;
    Matrix dequant;           ///< decode(codes, params), [rows, cols]
    uint64_t bytes = 0;       ///< the bytes a file stores for it: totalBytes(layout)
    double bitsPerWeight = 0; ///< bytes * 8 / weights

    int64_t rows() const { return dequant.rows; }
    int64_t cols() const { return dequant.cols; }
};

/// The element parameters of one group for element-wise coding (GPTQ): value = decode(code).
struct GroupCoding {
    float scale = 1.0f; ///< Int/FP8 scale, MX/NVFP4 block scale, NF4 absmax
    float zero = 0.0f;  ///< Int asymmetric zero point
};

/// Called from worker threads for every finished block of rows [r0, r1) of a quantization
/// (codes and dequant written), so consumers (metrics, error maps) read it while it is hot.
using RowsDone = std::function<void(int64_t r0, int64_t r1)>;

class Codec {
public:
    explicit Codec(const Scheme& scheme) : m_scheme(scheme) {}
    virtual ~Codec() = default;
    Codec(const Codec&) = delete;
    Codec& operator=(const Codec&) = delete;

    const Scheme& scheme() const { return m_scheme; }

    /// How this scheme's groups tile a [rows, cols] matrix.
    virtual GroupGrid grid(int64_t rows, int64_t cols) const = 0;
    /// InvalidArgument when a [rows, cols] matrix cannot take this scheme (whole GGUF blocks).
    virtual core::Status checkShape(int64_t rows, int64_t cols) const;
    /// The stored parts (no data) of a [rows, cols] tensor.
    virtual std::vector<StoredPart> layout(int64_t rows, int64_t cols) const = 0;

    /// Round-to-nearest: fits every group's parameters under `range`, writes q.codes,
    /// q.params, q.clip and q.dequant (buffers already sized by the caller), calling `rowsDone`
    /// for every finished block of rows.
    virtual core::Status quantize(const Matrix& w, const RangeOptions& range, Quantized& q,
                                  core::Progress* progress, const RowsDone& rowsDone) const = 0;
    /// Decodes rows [r0, r1) of q.codes into `out` (row-major, cols per row).
    virtual void decodeRows(const Quantized& q, int64_t r0, int64_t r1, float* out) const = 0;
    /// The stored parts with their bytes (layout() with data).
    virtual core::Result<std::vector<StoredPart>> store(const Quantized& q) const = 0;

    /// The values group `group` of q can represent, ascending: its quantization grid (int:
    /// scale x (code - zp) over the code range; FP8/MX/NVFP4/NF4: every element value x the
    /// group's scale). GGUF blocks keep sub-block scales inside the block, so for them this
    /// is the distinct values the block's codes decode to (the levels in use).
    virtual std::vector<float> groupLevels(const Quantized& q, int64_t group) const;

    /// Element-wise coding with per-group parameters (GPTQ), or null for formats whose
    /// parameters cannot be fitted one group at a time (GGUF blocks, NF4 double quant).
    virtual const class ElementCoder* elements() const { return nullptr; }

    /// Sizes q.params for q.grid (values unspecified); startResult sizes q.clip.
    virtual void resizeParams(Quantized& q) const = 0;

    /// True when quantize() honours RangeOptions' clipping (MSE, percentile). Formats whose
    /// scales come from each block's absmax (MX, NVFP4, NF4, GGUF) do not, and checkClip
    /// refuses a clip for them instead of dropping it.
    virtual bool clips() const { return false; }

protected:
    Scheme m_scheme;
};

/// Element-wise coding of the formats whose groups can be fitted one at a time.
class ElementCoder {
public:
    virtual ~ElementCoder() = default;
    /// The element parameters of group `group` of q.
    virtual GroupCoding coding(const Quantized& q, int64_t group) const = 0;
    /// The code of x; `position` (row * cols + col) drives stochastic rounding.
    virtual uint8_t encode(float x, const GroupCoding& g, uint64_t position) const = 0;
    virtual float decode(uint8_t code, const GroupCoding& g) const = 0;
    /// Copies group `from` of `src` (params and clip) into group `to` of `dst`.
    virtual void copyGroup(const Quantized& src, int64_t from, Quantized& dst, int64_t to) const = 0;
};

/// The codec of `scheme` (InvalidArgument for an invalid scheme).
core::Result<std::unique_ptr<Codec>> makeCodec(const Scheme& scheme);

/// A result of w's shape under codec c: grid, params and clip sized by `c`, codes and dequant
/// buffers sized (contents unspecified), taking over `reuse`'s buffers when given.
Quantized startResult(const Codec& c, int64_t rows, int64_t cols, Quantized* reuse);

/// Fills bytes and bitsPerWeight from the codec's layout.
void setStorageCost(const Codec& c, Quantized& q);

} // namespace qs::quant
