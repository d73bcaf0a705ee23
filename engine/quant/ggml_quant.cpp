// Row driver of the ggml quantizers: validates the shape, runs the per-block quantizers over
// rows in parallel, decodes the blocks back with the engine's dequantizer (so `dequant` is
// what any GGUF reader will see) and records the block absmax values.
#include "ggml_quant.h"
#include "ggml_quant_blocks.h"
#include "rounding.h"

#include "core/checked.h"
#include "core/ggml_blocks.h"
#include "core/largebuffer.h"
#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>


namespace qs::quant {

uint16_t f32ToF16RoundNearestEven(float f)
{
    const auto bits = std::bit_cast<uint32_t>(f);
    const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t mag = bits & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return sign | 0x7E00u;  // NaN
    if (mag >= 0x477FF000u) return sign | 0x7C00u; // >= 65520 rounds (ties to even) to Inf
    if (mag >= 0x38800000u) {
        // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits;
        // a carry out of the mantissa correctly bumps the exponent.
        uint32_t h = ((mag >> 23) - 112u) << 10 | ((mag >> 13) & 0x3FFu);
        const uint32_t rest = mag & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    // Subnormal half: the value in units of 2^-24 is exact in f32 (a power-of-two scaling);
    // adding 2^23 rounds it to an integer, ties to even, in the default rounding mode.
    const float units = std::bit_cast<float>(mag) * 0x1p24f;
    const float rounded = (units + 0x1p23f) - 0x1p23f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(rounded));
}

bool isGgmlQuantizable(core::DType type)
{
    using core::DType;
    switch (type) {
    case DType::Q8_0: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1:
    case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
        return true;
    default:
        return false;
    }
}

namespace {

using BlockFn = void (*)(const float*, std::byte*);

BlockFn blockFunction(core::DType type)
{
    using core::DType;
    switch (type) {
    case DType::Q8_0: return ggml::quantizeQ8_0;
    case DType::Q4_0: return ggml::quantizeQ4_0;
    case DType::Q4_1: return ggml::quantizeQ4_1;
    case DType::Q5_0: return ggml::quantizeQ5_0;
    case DType::Q5_1: return ggml::quantizeQ5_1;
    case DType::Q4_K: return ggml::quantizeQ4K;
    case DType::Q5_K: return ggml::quantizeQ5K;
    case DType::Q6_K: return ggml::quantizeQ6K;
    default: return nullptr;
    }
}

struct RowJob {
    const Matrix& w;
    core::DType type;
    BlockFn quantize;
    uint32_t blockElems;
    uint32_t blockBytes;
    Quantized& out;
};

/// Quantizes, decodes and measures one row. Non-finite values are quantized as 0 and put back
/// into the decoded row afterwards; `scratch` holds one block of cleaned input.
void quantizeRow(const RowJob& job, int64_t r, std::vector<float>& scratch)
{
    const int64_t blocks = job.w.cols / job.blockElems;
    const float* src = job.w.row(r);
    std::byte* packed = job.out.packed.data() + r * blocks * job.blockBytes;
    float* clip = job.out.clip.data() + r * blocks;
    for (int64_t b = 0; b < blocks; ++b) {
        const float* x = src + b * job.blockElems;
        float absMax = 0.f;
        int nonFinite = 0;
        float* clean = scratch.data();
#pragma omp simd reduction(max : absMax) reduction(+ : nonFinite)
        for (uint32_t i = 0; i < job.blockElems; ++i) {
            const bool finite = isFiniteBits(x[i]);
            nonFinite += finite ? 0 : 1;
            clean[i] = finite ? x[i] : 0.f;
            absMax = std::max(absMax, finite ? std::fabs(x[i]) : 0.f);
        }
        job.quantize(nonFinite == 0 ? x : clean, packed + b * job.blockBytes);
        clip[b] = absMax;
    }
    float* dst = job.out.dequant.row(r);
    core::dequantizeGgmlBlocks(job.type, packed, static_cast<uint64_t>(blocks), dst);
#pragma omp simd
    for (int64_t c = 0; c < job.w.cols; ++c) dst[c] = isFiniteBits(src[c]) ? dst[c] : src[c];
}

core::Status checkShape(const Matrix& w, core::DType type)
{
    const std::string name(core::dtypeName(type));
    if (!isGgmlQuantizable(type)) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "ggml quantization: " + name +
                                   " is not one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K");
    }
    const uint32_t block = core::dtypeInfo(type).blockElems;
    const auto count = core::checkedMul(static_cast<uint64_t>(std::max<int64_t>(w.rows, 0)),
                                        static_cast<uint64_t>(std::max<int64_t>(w.cols, 0)));
    if (w.rows < 0 || w.cols < 0 || !count || *count != w.data.size()) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "ggml quantization: the matrix data does not hold rows x cols (" +
                                   std::to_string(w.rows) + " x " + std::to_string(w.cols) +
                                   ") values");
    }
    if (w.cols % block != 0) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "ggml quantization: " + name + " needs rows whose length is a " +
                                   "multiple of its block size " + std::to_string(block) +
                                   "; this matrix has " + std::to_string(w.cols) + " columns");
    }
    return core::Status::success();
}

} // namespace

core::Result<Quantized> quantizeGgml(const Matrix& w, core::DType type, core::Progress* progress,
                                     Quantized* reuse)
{
    if (auto st = checkShape(w, type); !st) return st.error();
    const core::DTypeInfo& info = core::dtypeInfo(type);
    const int64_t blocksPerRow = w.cols / info.blockElems;
    const uint64_t blocks = static_cast<uint64_t>(w.rows) * blocksPerRow;

    Quantized out = startResult(w, reuse);
    core::resizeLarge(out.packed, blocks * info.blockBytes);
    out.clip.resize(blocks);
    out.groupsPerRow = blocksPerRow;
    out.bytes = blocks * info.blockBytes;
    // Per weight the cost is the block's, exactly; an empty matrix reports that rate too.
    out.bitsPerWeight = 8.0 * info.blockBytes / info.blockElems;

    // Chunks of about 64 Ki weights: enough work to amortise scheduling, fine enough for
    // prompt cancellation and smooth progress.
    const int64_t rowsPerChunk =
        std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, w.cols));
    const uint64_t chunks = static_cast<uint64_t>((w.rows + rowsPerChunk - 1) / rowsPerChunk);
    const RowJob job{w, type, blockFunction(type), info.blockElems, info.blockBytes, out};
    const unsigned threads = core::defaultThreadCount();
    std::vector<std::vector<float>> scratch(threads, std::vector<float>(info.blockElems));
    std::atomic<uint64_t> rowsDone{0};
    core::parallelChunks(
        chunks, threads,
        [&](uint64_t chunk, unsigned thread) {
            const int64_t begin = static_cast<int64_t>(chunk) * rowsPerChunk;
            const int64_t end = std::min(w.rows, begin + rowsPerChunk);
            for (int64_t r = begin; r < end; ++r) quantizeRow(job, r, scratch[thread]);
            const uint64_t done = rowsDone.fetch_add(end - begin) + (end - begin);
            if (progress && progress->report) progress->report(done, static_cast<uint64_t>(w.rows));
        },
        [progress] { return progress && progress->cancelled(); });
    if (progress && progress->cancelled()) {
        return core::makeError(core::ErrorCode::Cancelled,
                               std::string("ggml quantization to ") +
                                   std::string(core::dtypeName(type)) + " was cancelled");
    }
    return out;
}

} // namespace qs::quant
