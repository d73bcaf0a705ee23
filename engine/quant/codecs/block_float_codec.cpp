// Block floating-point codecs: MXFP4 / MXFP8 (OCP MX v1.0: 32 elements + an E8M0 power-of-two
// scale) and NVFP4 (16 E2M1 elements + an E4M3 block scale, times one F32 tensor scale).
// floatquant.h states the formulas; code = bits(roundToMiniFloat(x / X)), value = e(code) * X.
#include "codec_support.h"

#include "quant/floatquant.h"
#include "quant/rounding.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace qs::quant {

namespace {

/// The largest finite |x| of x[0, n) (inlined into the callers' clones).
[[gnu::always_inline]] inline float finiteAbsMax(const float* x, int64_t n) { return detail::finiteRange(x, n).amax; }

/// finiteAbsMax of a whole tensor, in the widest clone.
[[gnu::target_clones("avx512f", "avx2", "default")]] float finiteAbsMaxWide(const float* x, int64_t n)
{
    return finiteAbsMax(x, n);
}

/// Codes and values of a row whose element i has block scale X = scale[i]: a non-finite weight
/// gets code 0, and so does every weight of a block whose scale is not positive (an NVFP4
/// scale that rounds to 0); their value is 0. The value is the rounded element times X:
/// exactly decode(code) (code = its bit pattern), without a table lookup, so the loop
/// vectorises over the whole row; F is a template argument for the same reason.
template <MiniFloat F>
[[gnu::always_inline]] inline void rowElements(const float* x, const float* scale, uint8_t* codes, float* out, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        const float s = scale[i];
        const float v = roundToMiniFloat(x[i] / s, F, Overflow::Saturate);
        const bool keep = isFiniteBits(x[i]) && s > 0.0f;
        codes[i] = keep ? miniFloatBits(v, F) : uint8_t(0);
        out[i] = keep ? v * s : 0.0f;
    }
}

/// The largest finite |w| of the tensor (NVFP4's tensor scale), on the pool's threads.
float tensorAbsMax(const Matrix& w)
{
    std::vector<float> part(detail::rowThreads(), 0.0f);
    (void)forChunks(w.rows, detail::rowChunk(w.cols), nullptr, 0, 0, "nvfp4 tensor scale",
                    [&](int64_t r0, int64_t r1, unsigned t) {
        part[t] = std::max(part[t], finiteAbsMaxWide(w.row(r0), (r1 - r0) * w.cols));
    });
    return *std::max_element(part.begin(), part.end());
}

/// The E8M0 exponent of an MX block of largest magnitude amax > 0: floor(log2(amax)) (ilogb)
/// from the bits for normal floats.
inline int floorLog2(float amax)
{
    const int e = int(std::bit_cast<uint32_t>(amax) >> 23) - 127;
    return e > -127 ? e : std::ilogb(amax);
}

class BlockFloatCodec final : public Codec {
public:
    explicit BlockFloatCodec(const Scheme& s)
        : Codec(s), m_nv(s.family == Family::NvFp4), m_elem(s.family == Family::MxFp8 ? kE4M3 : kE2M1),
          m_block(m_nv ? 16 : 32)
    {
        for (unsigned c = 0; c < 256; ++c) {
            m_table[c] = decodeMiniFloat(uint8_t(c), m_elem);
            m_scaleTable[c] = m_nv ? decodeMiniFloat(uint8_t(c), kE4M3) : std::ldexp(1.0f, int(c) - 127);
        }
    }

    GroupGrid grid(int64_t rows, int64_t cols) const override
    {
        return GroupGrid{Granularity::Group, rows, cols, m_block, (cols + m_block - 1) / m_block};
    }

    std::vector<StoredPart> layout(int64_t rows, int64_t cols) const override
    {
        using core::DType;
        const GroupGrid g = grid(rows, cols);
        std::vector<StoredPart> parts;
        if (m_scheme.family == Family::MxFp8)
            parts.push_back({"", DType::F8_E4M3, {rows, cols}, {}});
        else
            parts.push_back({"", DType::U8, {rows, detail::packedRowBytes(cols, 4)}, {}});
        parts.push_back({".scale", m_nv ? DType::F8_E4M3 : DType::U8, {rows, g.perRow}, {}});
        if (m_nv) parts.push_back({".scale_2", DType::F32, {1}, {}});
        return parts;
    }

    void resizeParams(Quantized& q) const override
    {
        BlockScaleParams p;
        p.scaleCode.resize(size_t(q.grid.count()));
        q.params = std::move(p);
    }

    core::Status quantize(const Matrix& w, const RangeOptions&, Quantized& q, core::Progress* progress,
                          const RowsDone& rowsDone) const override
    {
        auto& p = std::get<BlockScaleParams>(q.params);
        p.tensorScale = 1.0f;
        if (m_nv) {
            const float ts = tensorAbsMax(w) / (6.0f * 448.0f);
            p.tensorScale = ts > 0.0f ? ts : 1.0f;
        }
        return detail::forRowBlocks(w.rows, w.cols, progress, 0, uint64_t(w.rows),
                                    m_nv ? "nvfp4 quantize" : "mx quantize", rowsDone,
                                    [&](int64_t r0, int64_t r1, unsigned) { quantizeRows(w, r0, r1, q, p); });
    }

    void decodeRows(const Quantized& q, int64_t r0, int64_t r1, float* out) const override
    {
        const auto& p = std::get<BlockScaleParams>(q.params);
        const int64_t cols = q.cols();
        for (int64_t r = r0; r < r1; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                const float scale = blockScale(p, size_t(q.grid.groupOf(r, c)));
                const uint8_t code = q.codes[size_t(r * cols + c)];
                out[(r - r0) * cols + c] = scale > 0.0f ? m_table[code] * scale : 0.0f;
            }
        }
    }

    std::vector<float> groupLevels(const Quantized& q, int64_t group) const override
    {
        std::vector<float> out;
        if (group < 0 || group >= q.grid.count()) return out;
        const float scale = blockScale(std::get<BlockScaleParams>(q.params), size_t(group));
        for (unsigned c = 0; c < (1u << (1 + m_elem.expBits + m_elem.mantBits)); ++c)
            if (std::isfinite(m_table[c])) out.push_back(scale > 0.0f ? m_table[c] * scale : 0.0f);
        return detail::sortedUnique(std::move(out));
    }

    core::Result<std::vector<StoredPart>> store(const Quantized& q) const override
    {
        const auto& p = std::get<BlockScaleParams>(q.params);
        auto parts = layout(q.rows(), q.cols());
        if (m_scheme.family == Family::MxFp8)
            parts[0] = detail::partOf("", parts[0].dtype, parts[0].shape, q.codes);
        else
            parts[0] = detail::partOf("", parts[0].dtype, parts[0].shape, detail::packBits(q.codes, q.rows(), q.cols(), 4));
        parts[1] = detail::partOf(".scale", parts[1].dtype, parts[1].shape, p.scaleCode);
        if (m_nv) parts[2] = detail::partOf(".scale_2", core::DType::F32, {1}, std::vector<float>{p.tensorScale});
        return parts;
    }

private:
    /// The scale block g decodes with: 2^(byte - 127) (MX) or e4m3(code) * tensor scale.
    float blockScale(const BlockScaleParams& p, size_t g) const
    {
        const float s = m_scaleTable[p.scaleCode[g]];
        return m_nv ? s * p.tensorScale : s;
    }

    /// The block scale code for a block of largest magnitude amax.
    uint8_t scaleCodeFor(float amax, float tensorScale) const
    {
        if (m_nv) return miniFloatBits(roundToMiniFloat(amax / 6.0f / tensorScale, kE4M3, Overflow::Saturate), kE4M3);
        const int emaxElem = m_scheme.family == Family::MxFp4 ? 2 : 8; // OCP MX v1.0 table 1
        int e = -127; // E8M0's smallest scale, for a block without a nonzero value
        if (amax > 0.0f) e = std::clamp(floorLog2(amax) - emaxElem, -127, 127);
        return uint8_t(e + 127);
    }

    /// Rows [r0, r1): every block's scale code and kept range, then the codes and values of
    /// the row in one loop (each element with its block's scale from `rowScale`).
    template <MiniFloat F>
    [[gnu::always_inline]] void quantizeRowsT(const Matrix& w, int64_t r0, int64_t r1, Quantized& q,
                                              BlockScaleParams& p) const
    {
        const int64_t gpr = q.grid.perRow;
        std::vector<float> rowScale(size_t(w.cols));
        for (int64_t r = r0; r < r1; ++r) {
            for (int64_t g = 0; g < gpr; ++g) {
                const int64_t c0 = g * m_block;
                const int64_t n = std::min(m_block, w.cols - c0);
                const auto gi = size_t(r * gpr + g);
                p.scaleCode[gi] = scaleCodeFor(finiteAbsMax(w.row(r) + c0, n), p.tensorScale);
                const float scale = blockScale(p, gi);
                const float keep = F.maxFinite * std::max(scale, 0.0f);
                q.clip[gi] = {-keep, keep};
                std::fill_n(rowScale.data() + c0, n, scale);
            }
            rowElements<F>(w.row(r), rowScale.data(), q.codes.data() + r * w.cols, q.dequant.row(r), w.cols);
        }
    }

    /// Compiled for AVX-512 and AVX2 too: elementwise IEEE operations, the same bits.
    [[gnu::target_clones("avx512f", "avx2", "default")]] void quantizeRows(const Matrix& w, int64_t r0, int64_t r1,
                                                                           Quantized& q, BlockScaleParams& p) const
    {
        if (m_elem.expBits == kE4M3.expBits) quantizeRowsT<kE4M3>(w, r0, r1, q, p);
        else quantizeRowsT<kE2M1>(w, r0, r1, q, p);
    }

    bool m_nv;
    MiniFloat m_elem;
    int64_t m_block;
    float m_table[256];      ///< element value of every code
    float m_scaleTable[256]; ///< block scale of every scale code (NVFP4: before the tensor scale)
};

} // namespace

std::unique_ptr<Codec> makeBlockFloatCodec(const Scheme& s) { return std::make_unique<BlockFloatCodec>(s); }

} // namespace qs::quant
