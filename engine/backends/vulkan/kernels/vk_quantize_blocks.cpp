// Block-format RTN on the device: the host validates and lays out through the codec, the
// shaders of shaders/quantize_blocks/ do the per-block work, chunk by chunk of rows.
#include "vk_quantize_blocks.h"

#include "core/ggml_blocks.h"
#include "quant/ggml_quant.h"
#include "quant/quantize.h"
#include "quant/range.h"
#include "shaders/push_constants.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace qs::backends::vulkan {

namespace {

using quant::Family;

/// One scheme's kernel: its shader variant and the shape of what it writes.
struct BlockKernel {
    const char* shader;
    int64_t block;          ///< values per block (a row holds ceil(cols / block) of them)
    bool ggml;              ///< GGUF blocks (whole blocks per row) rather than MX/NV
    uint32_t recordWords;   ///< GGUF: words of one block's record (its bytes, padded)
    uint32_t infoWords;     ///< words of per-block information
};

std::optional<BlockKernel> kernelFor(const quant::Scheme& s)
{
    switch (s.family) {
    case Family::MxFp4: return BlockKernel{"quantize_mxfp4", 32, false, 0, 3};
    case Family::MxFp8: return BlockKernel{"quantize_mxfp8", 32, false, 0, 3};
    case Family::NvFp4: return BlockKernel{"quantize_nvfp4", 16, false, 0, 3};
    case Family::Ggml:
        if (s.ggmlType == core::DType::Q8_0) return BlockKernel{"quantize_q8_0", 32, true, 9, 2};
        if (s.ggmlType == core::DType::Q4_0) return BlockKernel{"quantize_q4_0", 32, true, 5, 2};
        if (s.ggmlType == core::DType::Q4_K) return BlockKernel{"quantize_q4_k", 256, true, 36, 2};
        return std::nullopt;
    default: return std::nullopt;
    }
}

constexpr int kWorkgroup = 64;                    ///< local_size_x of the shaders
constexpr int64_t kMaxBlocksPerDispatch = 65535 * kWorkgroup; ///< the guaranteed group count
constexpr uint64_t kDefaultChunkBytes = 256ull << 20;

/// Per-row sizes of the buffers a chunk needs.
struct RowBytes {
    uint64_t input, output, dequant, info;
};

RowBytes rowBytes(const BlockKernel& k, int64_t cols)
{
    const auto blocks = uint64_t((cols + k.block - 1) / k.block);
    const uint64_t padded = blocks * uint64_t(k.block);
    return {uint64_t(cols) * 4, k.ggml ? blocks * k.recordWords * 4 : padded, padded * 4, blocks * k.infoWords * 4};
}

/// The device buffers of one chunk, made once for the largest chunk and reused.
struct ChunkBuffers {
    Buffer input, output, dequant, info;
};

core::Result<ChunkBuffers> makeBuffers(Device& device, const RowBytes& rb, int64_t rows)
{
    ChunkBuffers b;
    const auto n = uint64_t(rows);
    auto in = device.createBuffer(rb.input * n);
    if (!in) return in.error();
    auto out = device.createBuffer(rb.output * n);
    if (!out) return out.error();
    auto dq = device.createBuffer(rb.dequant * n);
    if (!dq) return dq.error();
    auto info = device.createBuffer(rb.info * n);
    if (!info) return info.error();
    b.input = std::move(*in);
    b.output = std::move(*out);
    b.dequant = std::move(*dq);
    b.info = std::move(*info);
    return b;
}

/// Rows per chunk: every buffer within the device's limits and the dispatch within the
/// guaranteed workgroup count.
core::Result<int64_t> chunkRows(const Device& device, const BlockKernel& k, int64_t cols, uint64_t maxChunkBytes)
{
    uint64_t limit = std::min(device.info().maxStorageBufferRange, device.info().maxMemoryAllocationSize);
    limit = std::min(limit, maxChunkBytes ? maxChunkBytes : kDefaultChunkBytes);
    const RowBytes rb = rowBytes(k, cols);
    const uint64_t widest = std::max({rb.input, rb.output, rb.dequant, rb.info});
    if (widest > limit)
        return core::makeError(core::ErrorCode::Unsupported,
                               "not supported by vulkan: a row of " + std::to_string(cols) + " columns needs " +
                                   std::to_string(widest) + " bytes in one buffer; the chunk limit is " +
                                   std::to_string(limit));
    const int64_t blocksPerRow = (cols + k.block - 1) / k.block;
    return std::max<int64_t>(1, std::min<int64_t>(int64_t(limit / widest), kMaxBlocksPerDispatch / blocksPerRow));
}

/// NVFP4's tensor scale exactly as block_float_codec computes it: the largest finite |w|
/// over 6 x 448, or 1 for a tensor without a nonzero finite value.
float nvTensorScale(const quant::Matrix& w)
{
    float amax = 0.0f;
    for (float v : w.data)
        if (std::isfinite(v)) amax = std::max(amax, std::fabs(v));
    const float ts = amax / (6.0f * 448.0f);
    return ts > 0.0f ? ts : 1.0f;
}

/// MX/NV: codes and values of rows [r0, r1) from the padded layout, scale codes and clips.
core::Status readBlockFloat(const BlockKernel& k, const ChunkBuffers& b, int64_t r0, int64_t r1, quant::Quantized& q)
{
    const int64_t cols = q.cols(), perRow = q.grid.perRow, padded = perRow * k.block;
    auto& p = std::get<quant::BlockScaleParams>(q.params);
    const auto* codes = reinterpret_cast<const uint8_t*>(b.output.mapped);
    const auto* values = reinterpret_cast<const float*>(b.dequant.mapped);
    const auto info = b.info.as<uint32_t>();
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t local = r - r0;
        std::memcpy(q.codes.data() + r * cols, codes + local * padded, size_t(cols));
        std::memcpy(q.dequant.row(r), values + local * padded, size_t(cols) * sizeof(float));
        for (int64_t g = 0; g < perRow; ++g) {
            const size_t i = size_t((local * perRow + g) * 3);
            if (info[i + 2] != 0)
                return core::makeError(core::ErrorCode::Unsupported,
                                       "not supported by vulkan: " + q.scheme.spec() + " block " + std::to_string(g) +
                                           " of row " + std::to_string(r) + " left the normal float range");
            const auto gi = size_t(r * perRow + g);
            p.scaleCode[gi] = uint8_t(info[i]);
            const float keep = std::bit_cast<float>(info[i + 1]);
            q.clip[gi] = {-keep, keep};
        }
    }
    return core::Status::success();
}

/// The host's path for a GGUF block the device marked: the codec's own block function on the
/// block with non-finite weights as 0, decoded by the GGUF dequantizer (ggml_codec.cpp).
void redoGgmlBlock(const quant::Matrix& w, int64_t block, int64_t elems, quant::Quantized& q, int64_t blockBytes)
{
    const float* x = w.data.data() + block * elems;
    std::vector<float> clean(x, x + elems);
    for (float& v : clean) v = std::isfinite(v) ? v : 0.0f;
    auto* dst = reinterpret_cast<std::byte*>(q.codes.data()) + block * blockBytes;
    quant::ggmlBlockFunction(q.scheme.ggmlType)(clean.data(), dst);
    core::dequantizeGgmlBlocks(q.scheme.ggmlType, dst, 1, q.dequant.data.data() + block * elems);
}

/// GGUF: the blocks of rows [r0, r1) from their records; marked blocks redone on the host.
int64_t readGgml(const BlockKernel& k, const ChunkBuffers& b, const quant::Matrix& w, int64_t r0, int64_t r1,
                 quant::Quantized& q)
{
    const int64_t perRow = q.grid.perRow, first = r0 * perRow, count = (r1 - r0) * perRow;
    const auto blockBytes = int64_t(core::dtypeInfo(q.scheme.ggmlType).blockBytes);
    const auto info = b.info.as<uint32_t>();
    int64_t redone = 0;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t block = first + i;
        const float amax = std::bit_cast<float>(info[size_t(2 * i)]);
        q.clip[size_t(block)] = {-amax, amax};
        if (info[size_t(2 * i + 1)] != 0) {
            redoGgmlBlock(w, block, k.block, q, blockBytes);
            ++redone;
            continue;
        }
        std::memcpy(q.codes.data() + block * blockBytes, b.output.mapped + i * k.recordWords * 4, size_t(blockBytes));
        std::memcpy(q.dequant.data.data() + block * k.block, b.dequant.mapped + i * k.block * 4,
                    size_t(k.block) * sizeof(float));
    }
    return redone;
}

/// Checks the request as quantizeRtn does (quantize.cpp): the matrix, the shape, the range.
core::Status validate(const quant::Matrix& w, const quant::Scheme& scheme, const quant::Codec& codec,
                      const quant::RangeOptions& range)
{
    if (w.rows < 0 || w.cols < 0 || uint64_t(w.rows) * uint64_t(w.cols) != w.data.size())
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "quantize '" + scheme.spec() + "': matrix " + std::to_string(w.rows) + " x " +
                                   std::to_string(w.cols) + " does not match its " + std::to_string(w.data.size()) +
                                   " values");
    if (auto st = codec.checkShape(w.rows, w.cols); !st) return st;
    return quant::validateRange(range);
}

struct RunState {
    Device& device;
    const BlockKernel& kernel;
    const quant::Matrix& w;
    quant::Quantized& q;
    BlockQuantReport& report;
};

/// Rows [r0, r1): upload, one dispatch, read back.
core::Status runChunk(RunState& s, const Kernel& kernel, ChunkBuffers& b, int64_t r0, int64_t r1, float tensorScale)
{
    const int64_t cols = s.w.cols, perRow = s.q.grid.perRow;
    std::memcpy(b.input.mapped, s.w.row(r0), size_t((r1 - r0) * cols) * sizeof(float));
    const int64_t blocks = (r1 - r0) * perRow;
    Dispatch d;
    d.kernel = &kernel;
    d.buffers = {&b.input, &b.output, &b.dequant, &b.info};
    d.setPush(shaders::QuantizeBlocksPush{uint32_t(blocks), uint32_t(cols), uint32_t(perRow), tensorScale});
    d.groups[0] = uint32_t((blocks + kWorkgroup - 1) / kWorkgroup);
    auto t = s.device.run(d);
    if (!t) return t.error();
    ++s.report.dispatches;
    if (!s.kernel.ggml) {
        s.report.gpuBlocks += blocks;
        return readBlockFloat(s.kernel, b, r0, r1, s.q);
    }
    const int64_t redone = readGgml(s.kernel, b, s.w, r0, r1, s.q);
    s.report.hostBlocks += redone;
    s.report.gpuBlocks += blocks - redone;
    return core::Status::success();
}

/// NVFP4's tensor scale, or Unsupported where its quotients could leave the normal range.
core::Result<float> tensorScaleFor(const quant::Scheme& scheme, const quant::Matrix& w)
{
    if (scheme.family != Family::NvFp4) return 1.0f;
    const float ts = nvTensorScale(w);
    if (!(ts >= 0x1p-60f && ts <= 0x1p60f))
        return core::makeError(core::ErrorCode::Unsupported,
                               "not supported by vulkan: nvfp4 with tensor scale " + std::to_string(ts) +
                                   " outside [2^-60, 2^60] (its block quotients could be subnormal)");
    return ts;
}

core::Status runChunks(RunState& s, float tensorScale, uint64_t maxChunkBytes, core::Progress* progress)
{
    const int64_t rows = s.w.rows, cols = s.w.cols;
    auto chunk = chunkRows(s.device, s.kernel, cols, maxChunkBytes);
    if (!chunk) return chunk.error();
    const int64_t perChunk = std::min(*chunk, rows);
    auto kernel = s.device.kernel({s.kernel.shader, 4, sizeof(shaders::QuantizeBlocksPush)});
    if (!kernel) return kernel.error();
    auto buffers = makeBuffers(s.device, rowBytes(s.kernel, cols), perChunk);
    if (!buffers) return buffers.error();
    for (int64_t r0 = 0; r0 < rows; r0 += perChunk) {
        if (progress && progress->cancelled())
            return core::makeError(core::ErrorCode::Cancelled, "quantize '" + s.q.scheme.spec() + "' on vulkan: cancelled");
        const int64_t r1 = std::min(rows, r0 + perChunk);
        if (auto st = runChunk(s, **kernel, *buffers, r0, r1, tensorScale); !st) return st;
        if (progress && progress->report) progress->report(uint64_t(r1), uint64_t(rows));
    }
    return core::Status::success();
}

} // namespace

bool blockSchemeOnDevice(const quant::Scheme& scheme) { return kernelFor(scheme).has_value(); }

core::Result<quant::Quantized> quantizeBlocksOnDevice(Device& device, const quant::Matrix& w,
                                                      const quant::Scheme& scheme, const quant::RangeOptions& range,
                                                      core::Progress* progress, BlockQuantReport* report,
                                                      uint64_t maxChunkBytes)
{
    auto codec = quant::makeCodec(scheme);
    if (!codec) return codec.error();
    const auto kernel = kernelFor(scheme);
    if (!kernel) return core::makeError(core::ErrorCode::Unsupported, "not supported by vulkan: " + scheme.spec());
    if (auto st = validate(w, scheme, **codec, range); !st) return st.error();
    quant::Quantized q = quant::startResult(**codec, w.rows, w.cols, nullptr);
    auto ts = tensorScaleFor(scheme, w);
    if (!ts) return ts.error();
    if (!kernel->ggml) std::get<quant::BlockScaleParams>(q.params).tensorScale = *ts;
    BlockQuantReport local;
    BlockQuantReport& rep = report ? *report : local;
    rep = {};
    if (w.rows > 0 && w.cols > 0) {
        RunState state{device, *kernel, w, q, rep};
        if (auto st = runChunks(state, *ts, maxChunkBytes, progress); !st) return st.error();
    }
    quant::setStorageCost(**codec, q);
    return q;
}

} // namespace qs::backends::vulkan
