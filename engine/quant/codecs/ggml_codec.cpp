// GGUF block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K): the codes are the blocks
// exactly as ggml's reference quantizers write them (ggml_quant.h), decoded by the engine's
// GGUF dequantizer, so what is shown is what any GGUF reader sees.
#include "codec_support.h"

#include "quant/ggml_quant.h"
#include "quant/rounding.h"

#include "core/ggml_blocks.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace qs::quant {

namespace {

struct BlockScan {
    float absMax;
    int64_t nonFinite;
};

/// The largest finite |x| of a block and its count of non-finite values; when there are any,
/// `clean` receives the block with them zeroed. In the widest clone.
[[gnu::target_clones("avx512f", "avx2", "default")]] BlockScan scanBlock(const float* x, int64_t n, float* clean)
{
    int64_t bad = 0;
#pragma omp simd reduction(+ : bad)
    for (int64_t i = 0; i < n; ++i) bad += isFiniteBits(x[i]) ? 0 : 1;
    if (bad > 0)
        for (int64_t i = 0; i < n; ++i) clean[i] = isFiniteBits(x[i]) ? x[i] : 0.f;
    return {detail::finiteRange(x, n).amax, bad};
}

class GgmlCodec final : public Codec {
public:
    explicit GgmlCodec(const Scheme& s)
        : Codec(s), m_info(core::dtypeInfo(s.ggmlType)), m_quantize(ggmlBlockFunction(s.ggmlType)),
          m_quantizePair(ggmlBlockPairFunction(s.ggmlType))
    {
    }

    GroupGrid grid(int64_t rows, int64_t cols) const override
    {
        const int64_t block = m_info.blockElems;
        return GroupGrid{Granularity::Group, rows, cols, block, cols / block};
    }

    core::Status checkShape(int64_t rows, int64_t cols) const override
    {
        const std::string name(core::dtypeName(m_scheme.ggmlType));
        if (m_quantize == nullptr)
            return core::makeError(core::ErrorCode::InvalidArgument,
                                   "ggml quantization: " + name + " is not one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K");
        if (cols % int64_t(m_info.blockElems) != 0)
            return core::makeError(core::ErrorCode::InvalidArgument,
                                   "ggml quantization: " + name + " needs rows whose length is a multiple of its block size " +
                                       std::to_string(m_info.blockElems) + "; this matrix has " + std::to_string(cols) +
                                       " columns");
        return Codec::checkShape(rows, cols);
    }

    std::vector<StoredPart> layout(int64_t rows, int64_t cols) const override
    {
        return {StoredPart{"", m_scheme.ggmlType, {rows, cols}, {}}};
    }

    void resizeParams(Quantized& q) const override
    {
        q.params = GgmlParams{};
    }

    core::Status quantize(const Matrix& w, const RangeOptions&, Quantized& q, core::Progress* progress,
                          const RowsDone& rowsDone) const override
    {
        std::vector<std::vector<float>> scratch(detail::rowThreads(), std::vector<float>(2 * m_info.blockElems));
        return detail::forRowBlocks(w.rows, w.cols, progress, 0, uint64_t(w.rows), "ggml quantization", rowsDone,
                                    [&](int64_t r0, int64_t r1, unsigned t) {
            for (int64_t r = r0; r < r1; ++r) quantizeRow(w, r, q, scratch[t]);
        });
    }

    void decodeRows(const Quantized& q, int64_t r0, int64_t r1, float* out) const override
    {
        const int64_t blocksPerRow = q.cols() / m_info.blockElems;
        const std::byte* blocks = reinterpret_cast<const std::byte*>(q.codes.data()) + r0 * blocksPerRow * m_info.blockBytes;
        core::dequantizeGgmlBlocks(m_scheme.ggmlType, blocks, uint64_t((r1 - r0) * blocksPerRow), out);
    }

    core::Result<std::vector<StoredPart>> store(const Quantized& q) const override
    {
        auto parts = layout(q.rows(), q.cols());
        parts[0] = detail::partOf("", m_scheme.ggmlType, parts[0].shape, q.codes);
        return parts;
    }

private:
    /// Quantizes and decodes one row, two blocks at a time where the type has a pair function.
    /// A non-finite weight is quantized as 0, so it cannot spoil its block's scale; `scratch`
    /// holds two blocks of cleaned input.
    void quantizeRow(const Matrix& w, int64_t r, Quantized& q, std::vector<float>& scratch) const
    {
        const int64_t blocks = w.cols / m_info.blockElems;
        const int64_t n = m_info.blockElems;
        const float* src = w.row(r);
        auto* packed = reinterpret_cast<std::byte*>(q.codes.data()) + r * blocks * m_info.blockBytes;
        const auto input = [&](int64_t b, float* clean) {
            const float* x = src + b * n;
            const BlockScan scan = scanBlock(x, n, clean);
            q.clip[size_t(r * blocks + b)] = {-scan.absMax, scan.absMax};
            return scan.nonFinite == 0 ? x : clean;
        };
        int64_t b = 0;
        if (m_quantizePair != nullptr) {
            for (; b + 1 < blocks; b += 2) {
                const float* x0 = input(b, scratch.data());
                const float* x1 = input(b + 1, scratch.data() + n);
                m_quantizePair(x0, x1, packed + b * m_info.blockBytes, packed + (b + 1) * m_info.blockBytes);
            }
        }
        for (; b < blocks; ++b) m_quantize(input(b, scratch.data()), packed + b * m_info.blockBytes);
        core::dequantizeGgmlBlocks(m_scheme.ggmlType, packed, uint64_t(blocks), q.dequant.row(r));
    }

    const core::DTypeInfo& m_info;
    GgmlBlockFn m_quantize;
    GgmlBlockPairFn m_quantizePair; ///< null: one block at a time
};

} // namespace

std::unique_ptr<Codec> makeGgmlCodec(const Scheme& s) { return std::make_unique<GgmlCodec>(s); }

} // namespace qs::quant
