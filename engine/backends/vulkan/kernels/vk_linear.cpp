#include "vk_linear.h"

#include "quant/codecs/codec_support.h"

#include "core/dtype.h"
#include "quant/ggml_quant.h"
#include "shaders/push_constants.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <variant>

namespace qs::backends::vulkan {

using core::Error;
using core::ErrorCode;

namespace {

enum class WeightFormat : uint8_t { F32, BF16, F16, Int8, WInt, Q4K };

constexpr uint32_t kGemvBatch = 4;  ///< gemv.comp's BT: batch rows per workgroup
constexpr uint32_t kGemmTile = 32;  ///< gemm.comp's TM = TN
constexpr int64_t kQ4KBlockWords = 36; ///< 144 bytes per 256 values

/// How a layer's weights are laid out for the shaders, and where the host reads them from.
struct WeightLayout {
    WeightFormat format = WeightFormat::F32;
    int64_t rows = 0, cols = 0;
    uint32_t rowWords = 0;
    shaders::LinearPush push{};
    std::vector<uint32_t> constants; ///< WInt: the decode's specialisation (QS_LINEAR_SPEC_*)
    std::vector<float> scales{0.0f}; ///< binding 2 (never empty: a buffer needs a size)
    std::vector<float> zeros{0.0f};  ///< binding 3
    const quant::Matrix* f32 = nullptr;
    std::span<const int8_t> int8Codes;
    std::vector<uint8_t> packed; ///< WInt: quant packBits rows of packedRowBytes bytes
    int64_t packedRowBytes = 0;
    const quant::Quantized* quantized = nullptr;
};

bool isQ4K(const quant::Quantized& q)
{
    return q.scheme.family == quant::Family::Ggml && q.scheme.ggmlType == core::DType::Q4_K;
}

bool isInt(const quant::Quantized& q)
{
    return q.scheme.family == quant::Family::Int && std::holds_alternative<quant::ScaledParams>(q.params);
}

/// The Int weight-only layout: codes packed as the engine stores them, scales and zero points.
void intLayout(const quant::Quantized& q, WeightLayout& l)
{
    const auto& p = std::get<quant::ScaledParams>(q.params);
    const int bits = q.scheme.bits;
    l.format = WeightFormat::WInt;
    l.rowWords = uint32_t((l.cols * bits + 31) / 32);
    l.packedRowBytes = quant::detail::packedRowBytes(l.cols, bits);
    l.packed = quant::detail::packBits(q.codes, l.rows, l.cols, bits);
    l.scales = p.scale;
    l.push.groupWidth = uint32_t(std::max<int64_t>(q.grid.width, 1));
    l.push.groupsPerRow = uint32_t(q.grid.perRow);
    const bool group = q.grid.granularity == quant::Granularity::Group;
    l.constants.assign(QS_LINEAR_SPEC_COUNT, 0u);
    l.constants[QS_LINEAR_SPEC_BITS] = uint32_t(bits);
    l.constants[QS_LINEAR_SPEC_ASYM] = q.scheme.asymmetric ? 1u : 0u;
    l.constants[QS_LINEAR_SPEC_GRANULARITY] = uint32_t(q.grid.granularity); // Tensor 0 ... Group 3
    l.constants[QS_LINEAR_SPEC_GROUP_SHIFT] = group && std::has_single_bit(l.push.groupWidth)
                                                  ? uint32_t(std::countr_zero(l.push.groupWidth))
                                                  : QS_LINEAR_NO_SHIFT;
    if (q.scheme.asymmetric) l.zeros.assign(p.zeroPoint.begin(), p.zeroPoint.end());
}

WeightLayout weightLayout(const LinearWeights& weights, const LinearOptions& options)
{
    WeightLayout l;
    l.rows = linearOutFeatures(weights, options.precision);
    switch (options.precision) {
    case LinearPrecision::F32:
    case LinearPrecision::BF16:
    case LinearPrecision::F16:
        l.f32 = weights.f32;
        l.cols = weights.f32->cols;
        l.format = options.precision == LinearPrecision::F32    ? WeightFormat::F32
                   : options.precision == LinearPrecision::BF16 ? WeightFormat::BF16
                                                                : WeightFormat::F16;
        l.rowWords = uint32_t(l.format == WeightFormat::F32 ? l.cols : (l.cols + 1) / 2);
        break;
    case LinearPrecision::Int8: {
        l.format = WeightFormat::Int8;
        l.cols = weights.int8.cols;
        l.int8Codes = weights.int8.codes;
        l.rowWords = uint32_t((l.cols + 3) / 4);
        const float sx = activationScale(options.range);
        l.scales.resize(size_t(l.rows));
        for (int64_t n = 0; n < l.rows; ++n) l.scales[size_t(n)] = sx * weights.int8.scales[size_t(n)]; // as the reference
        break;
    }
    case LinearPrecision::WeightOnly: {
        const quant::Quantized& q = *weights.quantized;
        l.quantized = &q;
        l.cols = q.cols();
        if (isQ4K(q)) {
            l.format = WeightFormat::Q4K;
            l.rowWords = uint32_t(l.cols / 256 * kQ4KBlockWords);
        } else if (isInt(q)) {
            intLayout(q, l);
        } else { // no decoder in the shaders: the quantizer's decoded weights in f32
            l.f32 = &q.dequant;
            l.rowWords = uint32_t(l.cols);
        }
        break;
    }
    }
    return l;
}

/// Writes rows [r0, r1) of the weights into `out` ((r1 - r0) * rowWords words).
void packRows(const WeightLayout& l, int64_t r0, int64_t r1, uint32_t* out)
{
    const size_t words = size_t(r1 - r0) * l.rowWords;
    std::fill(out, out + words, 0u);
    auto* bytes = reinterpret_cast<std::byte*>(out);
    const size_t rowBytes = size_t(l.rowWords) * 4;
    for (int64_t r = r0; r < r1; ++r) {
        std::byte* dst = bytes + size_t(r - r0) * rowBytes;
        uint32_t* dstWords = out + size_t(r - r0) * l.rowWords;
        switch (l.format) {
        case WeightFormat::F32: std::memcpy(dst, l.f32->row(r), size_t(l.cols) * 4); break;
        case WeightFormat::BF16:
            for (int64_t k = 0; k < l.cols; ++k) {
                const uint32_t bits = std::bit_cast<uint32_t>(roundToBf16(l.f32->row(r)[k])) >> 16;
                dstWords[k / 2] |= bits << (16 * (k & 1));
            }
            break;
        case WeightFormat::F16:
            for (int64_t k = 0; k < l.cols; ++k)
                dstWords[k / 2] |= uint32_t(quant::f32ToF16RoundNearestEven(l.f32->row(r)[k])) << (16 * (k & 1));
            break;
        case WeightFormat::Int8: std::memcpy(dst, l.int8Codes.data() + r * l.cols, size_t(l.cols)); break;
        case WeightFormat::WInt:
            std::memcpy(dst, l.packed.data() + r * l.packedRowBytes, size_t(l.packedRowBytes));
            break;
        case WeightFormat::Q4K:
            std::memcpy(dst, l.quantized->codes.data() + size_t(r) * rowBytes, rowBytes);
            break;
        }
    }
}

std::string_view formatSuffix(WeightFormat f)
{
    switch (f) {
    case WeightFormat::F32: return "f32";
    case WeightFormat::BF16: return "bf16";
    case WeightFormat::F16: return "f16";
    case WeightFormat::Int8: return "int8";
    case WeightFormat::WInt: return "wint";
    case WeightFormat::Q4K: return "q4k";
    }
    return "?";
}

/// The shader of a format and batch: "linear_gemv_wint", "linear_gemm_q4k", ...
std::string shaderName(std::string_view format, int64_t batch)
{
    return std::string(batch <= int64_t(kGemvBatch) ? "linear_gemv_" : "linear_gemm_") + std::string(format);
}

/// The variant that runs, for the user: the shader, and for W_INT its specialisation, e.g.
/// "linear_gemv_wint4_sym_group_shift7" (width 128) or "linear_gemv_wint3_asym_group_div".
std::string variantName(std::string_view format, const std::vector<uint32_t>& constants, int64_t batch)
{
    std::string name = shaderName(format, batch);
    if (constants.size() != QS_LINEAR_SPEC_COUNT) return name;
    static const char* const grains[] = {"_tensor", "_channel", "_inchannel", "_group"};
    const uint32_t shift = constants[QS_LINEAR_SPEC_GROUP_SHIFT];
    name += std::to_string(constants[QS_LINEAR_SPEC_BITS]) + (constants[QS_LINEAR_SPEC_ASYM] ? "_asym" : "_sym") +
            grains[constants[QS_LINEAR_SPEC_GRANULARITY] & 3u];
    if (constants[QS_LINEAR_SPEC_GRANULARITY] == 3u)
        name += shift == QS_LINEAR_NO_SHIFT ? std::string("_div") : "_shift" + std::to_string(shift);
    return name;
}

/// x as the kernel reads it: f32 values, bf16- or half-rounded values (as f32), or the Int8
/// codes as int32.
void writeActivations(const quant::Matrix& x, const LinearOptions& options, std::span<std::byte> out)
{
    const size_t n = x.data.size();
    if (options.precision == LinearPrecision::Int8) {
        auto* q = reinterpret_cast<int32_t*>(out.data());
        for (size_t i = 0; i < n; ++i) q[i] = quantizeActivation(x.data[i], options.range);
    } else {
        auto* v = reinterpret_cast<float*>(out.data());
        float (*round)(float) = nullptr;
        if (options.precision == LinearPrecision::BF16) round = roundToBf16;
        if (options.precision == LinearPrecision::F16) round = quant::roundToHalf;
        for (size_t i = 0; i < n; ++i) v[i] = round ? round(x.data[i]) : x.data[i];
    }
}

/// A device-local buffer holding `values` (scales, zero points).
core::Result<Buffer> uploaded(Device& device, std::span<const float> values)
{
    auto b = device.createBuffer(values.size_bytes(), BufferKind::DeviceLocal);
    if (!b) return b;
    if (auto st = device.upload(*b, 0, std::as_bytes(values)); !st) return st.error();
    return b;
}

/// Refuses what the kernels cannot hold or sum exactly; returns the rows per chunk (the same
/// for every batch, so that prepared weights serve GEMV and GEMM alike).
core::Result<int64_t> chunkRows(const Device& device, const WeightLayout& l, const LinearOptions& options,
                                const DeviceLinearOptions& deviceOptions)
{
    const auto& info = device.info();
    if (options.precision == LinearPrecision::Int8 && l.cols > 65793)
        return Error{ErrorCode::Unsupported, "vulkan linear: int8 with " + std::to_string(l.cols) +
                                                 " input features could overflow the int32 sums (at most 65793)"};
    const uint64_t limit = deviceOptions.maxChunkBytes
                               ? deviceOptions.maxChunkBytes
                               : std::min(info.maxStorageBufferRange, info.maxMemoryAllocationSize);
    const uint64_t rowBytes = uint64_t(l.rowWords) * 4;
    if (rowBytes > limit)
        return Error{ErrorCode::Unsupported, "vulkan linear: one weight row takes " + std::to_string(rowBytes) +
                                                 " bytes, more than a buffer may hold (" + std::to_string(limit) + ")"};
    // A GEMV workgroup per row, a GEMM workgroup per 32 rows: the GEMV bound holds for both.
    const uint64_t maxGroupsX = info.maxComputeWorkGroupCount[0];
    return int64_t(std::min({limit / rowBytes, maxGroupsX, uint64_t(l.rows)}));
}

/// Refuses a batch the kernels cannot index or grid.
core::Status checkBatch(const Device& device, const DeviceLinearLayout& l, int64_t batch)
{
    constexpr uint64_t u32max = std::numeric_limits<uint32_t>::max();
    if (uint64_t(batch) * uint64_t(l.cols) > u32max || uint64_t(batch) * uint64_t(l.rows) > u32max)
        return Error{ErrorCode::Unsupported, "vulkan linear: x or y has more than 2^32 values"};
    const bool gemv = batch <= int64_t(kGemvBatch);
    const uint64_t groupsY = gemv ? (uint64_t(batch) + kGemvBatch - 1) / kGemvBatch
                                  : (uint64_t(batch) + kGemmTile - 1) / kGemmTile;
    if (groupsY > device.info().maxComputeWorkGroupCount[1])
        return Error{ErrorCode::Unsupported, "vulkan linear: the batch needs more workgroups than the device allows"};
    return core::Status::success();
}

/// Writes weight rows [r0, r1) into `dst` from byte 0: packed in place where it is mapped,
/// else packed in pieces of at most kStagingBytes and uploaded.
core::Status fillChunk(Device& device, const WeightLayout& l, int64_t r0, int64_t r1, Buffer& dst)
{
    if (dst.mapped) {
        packRows(l, r0, r1, reinterpret_cast<uint32_t*>(dst.mapped));
        return core::Status::success();
    }
    const uint64_t rowBytes = uint64_t(l.rowWords) * 4;
    const int64_t step = std::max<int64_t>(1, int64_t(kStagingBytes / rowBytes));
    std::vector<uint32_t> piece;
    for (int64_t a = r0; a < r1; a += step) {
        const int64_t b = std::min(r1, a + step);
        piece.resize(size_t(b - a) * l.rowWords);
        packRows(l, a, b, piece.data());
        if (auto st = device.upload(dst, uint64_t(a - r0) * rowBytes, std::as_bytes(std::span(piece))); !st) return st;
    }
    return core::Status::success();
}

DeviceLinearLayout deviceLayout(const WeightLayout& l, const LinearOptions& options, int64_t rowsPerChunk)
{
    DeviceLinearLayout d;
    d.options = options;
    d.rows = l.rows;
    d.cols = l.cols;
    d.rowWords = l.rowWords;
    d.rowsPerChunk = rowsPerChunk;
    d.format = std::string(formatSuffix(l.format));
    d.push = l.push;
    d.constants = l.constants;
    d.push.inFeatures = uint32_t(l.cols);
    d.push.rowWords = l.rowWords;
    d.push.outStride = uint32_t(l.rows);
    return d;
}

/// The device buffers of one call: x, y and the kernel, made once for all chunks.
struct CallBuffers {
    const Kernel* kernel = nullptr;
    Buffer x, y;
};

core::Result<CallBuffers> callBuffers(Device& device, const quant::Matrix& x, const DeviceLinearLayout& l)
{
    if (auto st = checkBatch(device, l, x.rows); !st) return st.error();
    auto kernel = device.kernel({shaderName(l.format, x.rows), 5, sizeof(shaders::LinearPush), l.constants});
    if (!kernel) return kernel.error();
    auto xBuf = device.createBuffer(x.data.size() * 4); // host-visible: written once, read once per row
    if (!xBuf) return xBuf.error();
    writeActivations(x, l.options, {xBuf->mapped, xBuf->bytes});
    auto yBuf = device.createBuffer(uint64_t(x.rows) * uint64_t(l.rows) * 4);
    if (!yBuf) return yBuf.error();
    return CallBuffers{*kernel, std::move(*xBuf), std::move(*yBuf)};
}

/// Dispatches weight rows [r0, r1) held in `w`; adds its timing to `total`.
core::Status dispatchChunk(Device& device, const CallBuffers& call, const DeviceLinearLayout& l, int64_t batch,
                           const Buffer& w, const Buffer& scales, const Buffer& zeros, int64_t r0, int64_t r1,
                           DispatchTiming& total)
{
    shaders::LinearPush push = l.push;
    push.batch = uint32_t(batch);
    push.rows = uint32_t(r1 - r0);
    push.rowOffset = uint32_t(r0);
    Dispatch d;
    d.kernel = call.kernel;
    d.buffers = {&call.x, &w, &scales, &zeros, &call.y};
    d.setPush(push);
    const bool gemv = batch <= int64_t(kGemvBatch);
    d.groups[0] = uint32_t(gemv ? r1 - r0 : (r1 - r0 + kGemmTile - 1) / kGemmTile);
    d.groups[1] = uint32_t(gemv ? (batch + kGemvBatch - 1) / kGemvBatch : (batch + kGemmTile - 1) / kGemmTile);
    auto t = device.run(d);
    if (!t) return t.error();
    total.wallSeconds += t->wallSeconds;
    total.gpuSeconds =
        (total.gpuSeconds && t->gpuSeconds) ? std::optional(*total.gpuSeconds + *t->gpuSeconds) : std::nullopt;
    return core::Status::success();
}

quant::Matrix readY(const CallBuffers& call, int64_t batch, int64_t rows)
{
    quant::Matrix y{batch, rows, std::vector<float>(size_t(batch) * size_t(rows))};
    std::memcpy(y.data.data(), call.y.mapped, y.data.size() * 4);
    return y;
}

} // namespace

std::string linearKernelName(const LinearWeights& weights, const LinearOptions& options, int64_t batch)
{
    const WeightLayout l = weightLayout(weights, options);
    return variantName(formatSuffix(l.format), l.constants, batch);
}

uint64_t linearWeightBytes(const LinearWeights& weights, const LinearOptions& options)
{
    const WeightLayout l = weightLayout(weights, options);
    uint64_t bytes = uint64_t(l.rows) * l.rowWords * 4;
    if (l.format == WeightFormat::WInt || l.format == WeightFormat::Int8) bytes += l.scales.size() * 4;
    if (l.format == WeightFormat::WInt && l.constants[QS_LINEAR_SPEC_ASYM]) bytes += l.zeros.size() * 4;
    return bytes;
}

core::Result<quant::Matrix> linearOnDevice(Device& device, const quant::Matrix& x, const LinearWeights& weights,
                                           const LinearOptions& options, DispatchTiming* timing,
                                           const DeviceLinearOptions& deviceOptions)
{
    if (auto st = checkLinear(x, weights, options); !st) return st.error();
    const WeightLayout l = weightLayout(weights, options);
    auto rowsPerChunk = chunkRows(device, l, options, deviceOptions);
    if (!rowsPerChunk) return rowsPerChunk.error();
    const DeviceLinearLayout layout = deviceLayout(l, options, *rowsPerChunk);
    auto call = callBuffers(device, x, layout);
    if (!call) return call.error();
    // The weights stream through one device-local chunk buffer, refilled per chunk: a call
    // holds at most one chunk of them however large the layer (prepareLinearOnDevice keeps all).
    auto scales = uploaded(device, l.scales);
    auto zeros = uploaded(device, l.zeros);
    auto wBuf = device.createBuffer(uint64_t(*rowsPerChunk) * l.rowWords * 4, BufferKind::DeviceLocal);
    for (auto* b : {&scales, &zeros, &wBuf})
        if (!*b) return b->error();
    DispatchTiming total;
    total.gpuSeconds = 0.0;
    for (int64_t r0 = 0; r0 < l.rows; r0 += *rowsPerChunk) {
        const int64_t r1 = std::min(l.rows, r0 + *rowsPerChunk);
        if (auto st = fillChunk(device, l, r0, r1, *wBuf); !st) return st.error();
        if (auto st = dispatchChunk(device, *call, layout, x.rows, *wBuf, *scales, *zeros, r0, r1, total); !st)
            return st.error();
    }
    if (timing) *timing = total;
    return readY(*call, x.rows, l.rows);
}

core::Result<DeviceLinearWeights> prepareLinearOnDevice(Device& device, const LinearWeights& weights,
                                                        const LinearOptions& options,
                                                        const DeviceLinearOptions& deviceOptions)
{
    if (auto st = checkLinearWeights(weights, options); !st) return st.error();
    const WeightLayout l = weightLayout(weights, options);
    auto rowsPerChunk = chunkRows(device, l, options, deviceOptions);
    if (!rowsPerChunk) return rowsPerChunk.error();
    DeviceLinearWeights prepared;
    prepared.layout = deviceLayout(l, options, *rowsPerChunk);
    auto scales = uploaded(device, l.scales);
    if (!scales) return scales.error();
    auto zeros = uploaded(device, l.zeros);
    if (!zeros) return zeros.error();
    prepared.buffers.push_back(std::move(*scales));
    prepared.buffers.push_back(std::move(*zeros));
    for (int64_t r0 = 0; r0 < l.rows; r0 += *rowsPerChunk) {
        const int64_t r1 = std::min(l.rows, r0 + *rowsPerChunk);
        auto w = device.createBuffer(uint64_t(r1 - r0) * l.rowWords * 4, BufferKind::DeviceLocal);
        if (!w) return w.error();
        if (auto st = fillChunk(device, l, r0, r1, *w); !st) return st.error();
        prepared.buffers.push_back(std::move(*w));
    }
    return prepared;
}

core::Result<quant::Matrix> linearOnDevice(Device& device, const quant::Matrix& x, const DeviceLinearLayout& layout,
                                           std::span<const Buffer> buffers, DispatchTiming* timing)
{
    const auto chunks = size_t((layout.rows + layout.rowsPerChunk - 1) / std::max<int64_t>(layout.rowsPerChunk, 1));
    if (layout.rows <= 0 || layout.rowsPerChunk <= 0 || buffers.size() != 2 + chunks)
        return Error{ErrorCode::InvalidArgument, "vulkan linear: the prepared weights are incomplete"};
    if (x.rows <= 0 || x.cols != layout.cols || x.data.size() != size_t(x.rows) * size_t(x.cols))
        return Error{ErrorCode::InvalidArgument, "linear: the prepared weights are [" + std::to_string(layout.rows) +
                                                     ", " + std::to_string(layout.cols) + "], the activations [" +
                                                     std::to_string(x.rows) + ", " + std::to_string(x.cols) + "]"};
    auto call = callBuffers(device, x, layout);
    if (!call) return call.error();
    DispatchTiming total;
    total.gpuSeconds = 0.0;
    for (size_t c = 0; c < chunks; ++c) {
        const int64_t r0 = int64_t(c) * layout.rowsPerChunk, r1 = std::min(layout.rows, r0 + layout.rowsPerChunk);
        if (auto st = dispatchChunk(device, *call, layout, x.rows, buffers[2 + c], buffers[0], buffers[1], r0, r1, total);
            !st)
            return st.error();
    }
    if (timing) *timing = total;
    return readY(*call, x.rows, layout.rows);
}

} // namespace qs::backends::vulkan
