// NF4 (QLoRA NormalFloat4): blocks of groupSize weights scaled by their absmax, each weight the
// index of the nearest of 16 levels; optional double quantization of the absmax values
// (floatquant.h states the formulas). value = level[code] * absmax (0 where absmax <= 0).
#include "codec_support.h"

#include "quant/floatquant.h"
#include "quant/rounding.h"

#include <algorithm>
#include <cmath>

namespace qs::quant {

namespace {

constexpr size_t kDqChunk = 256; ///< absmax values per second-level scale

/// The largest finite |x| of x[0, n) (inlined into the callers' clones).
[[gnu::always_inline]] inline float finiteAbsMax(const float* x, int64_t n) { return detail::finiteRange(x, n).amax; }

/// The absmax of every block of rows [r0, r1), in the widest clone.
[[gnu::target_clones("avx512f", "avx2", "default")]] void absmaxRows(const Matrix& w, int64_t r0, int64_t r1,
                                                                     int64_t block, int64_t perRow, float* absmax)
{
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t g = 0; g < perRow; ++g)
            absmax[r * perRow + g] = finiteAbsMax(w.row(r) + g * block, std::min(block, w.cols - g * block));
}

/// The level index of v = x / absmax: the number of midpoints below v, as a branch-free chain
/// so the loop vectorises (an exact midpoint goes to the lower level); NaN x -> 7 (0.0).
[[gnu::always_inline]] inline uint8_t nf4Code(float x, float absmax, const float* mids)
{
    const float v = x / absmax;
    int idx = 0;
#pragma GCC unroll 15
    for (int k = 0; k < 15; ++k) idx += v > mids[k] ? 1 : 0;
    return x != x ? uint8_t(7) : uint8_t(idx);
}

[[gnu::always_inline]] inline float nf4Value(uint8_t code, float absmax, const float* levels)
{
    return absmax > 0.0f ? levels[code] * absmax : 0.0f;
}

/// Rows [r0, r1) of codes and values. Compiled for AVX-512 and AVX2 too (same arithmetic).
[[gnu::target_clones("avx512f", "avx2", "default")]] void nf4Rows(const Matrix& w, Quantized& q, int64_t r0,
                                                                  int64_t r1, const std::vector<float>& absmax)
{
    float levels[16];
    float mids[15];
    std::copy(nf4Levels().begin(), nf4Levels().end(), levels);
    for (int k = 0; k < 15; ++k) mids[k] = (levels[k] + levels[k + 1]) * 0.5f;
    const int64_t gpr = q.grid.perRow, block = q.grid.width;
    for (int64_t r = r0; r < r1; ++r) {
        for (int64_t g = 0; g < gpr; ++g) {
            const int64_t c0 = g * block;
            const int64_t n = std::min(block, w.cols - c0);
            const float* x = w.row(r) + c0;
            uint8_t* codes = q.codes.data() + r * w.cols + c0;
            float* out = q.dequant.row(r) + c0;
            const float a = absmax[size_t(r * gpr + g)];
            if (!(a > 0.0f)) {
                std::fill_n(codes, n, uint8_t(7));
                std::fill_n(out, n, 0.0f);
                continue;
            }
            // The level is selected alongside its index (no table lookup, so the loop
            // vectorises): the same comparisons as nf4Code, levels[code] * a as nf4Value.
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const float v = x[i] / a;
                int idx = 0;
                float level = levels[0];
#pragma GCC unroll 15
                for (int k = 0; k < 15; ++k) {
                    const bool above = v > mids[k];
                    idx += above ? 1 : 0;
                    level = above ? levels[k + 1] : level;
                }
                const bool nan = x[i] != x[i];
                codes[i] = nan ? uint8_t(7) : uint8_t(idx);
                out[i] = (nan ? levels[7] : level) * a;
            }
        }
    }
}

/// QLoRA-style double quantization of the block absmax values (int8 symmetric per chunk of 256
/// around the F32 mean); p.absmax becomes what the codes decode to.
void doubleQuantize(Nf4Params& p)
{
    auto& a = p.absmax;
    if (a.empty()) return;
    double sum = 0;
    for (float v : a) sum += v;
    p.absmaxMean = float(sum / double(a.size()));
    const float mean = p.absmaxMean;
    p.absmaxCode.resize(a.size());
    p.absmaxScale.clear();
    for (size_t c0 = 0; c0 < a.size(); c0 += kDqChunk) {
        const size_t c1 = std::min(a.size(), c0 + kDqChunk);
        float m = 0.0f;
        for (size_t i = c0; i < c1; ++i) m = std::max(m, std::fabs(a[i] - mean));
        float s = m / 127.0f;
        if (!(s > 0.0f)) s = 1.0f;
        p.absmaxScale.push_back(s);
        for (size_t i = c0; i < c1; ++i) {
            const float code = std::clamp(roundHalfEven((a[i] - mean) / s), -127.0f, 127.0f);
            p.absmaxCode[i] = int8_t(code);
            a[i] = code * s + mean;
        }
    }
}

class Nf4Codec final : public Codec, public ElementCoder {
public:
    explicit Nf4Codec(const Scheme& s) : Codec(s), m_block(s.groupSize > 0 ? s.groupSize : 64)
    {
        std::copy(nf4Levels().begin(), nf4Levels().end(), m_levels);
        for (int k = 0; k < 15; ++k) m_mids[k] = (m_levels[k] + m_levels[k + 1]) * 0.5f;
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
        parts.push_back({"", DType::U8, {rows, detail::packedRowBytes(cols, 4)}, {}});
        if (!m_scheme.doubleQuant) {
            parts.push_back({".absmax", DType::F32, {rows, g.perRow}, {}});
            return parts;
        }
        const auto chunks = int64_t((uint64_t(g.count()) + kDqChunk - 1) / kDqChunk);
        parts.push_back({".absmax", DType::I8, {rows, g.perRow}, {}});
        parts.push_back({".absmax_scale", DType::F32, {chunks}, {}});
        parts.push_back({".absmax_mean", DType::F32, {1}, {}});
        return parts;
    }

    void resizeParams(Quantized& q) const override
    {
        Nf4Params p;
        p.absmax.resize(size_t(q.grid.count()));
        q.params = std::move(p);
    }

    core::Status quantize(const Matrix& w, const RangeOptions&, Quantized& q, core::Progress* progress,
                          const RowsDone& rowsDone) const override
    {
        auto& p = std::get<Nf4Params>(q.params);
        const int64_t gpr = q.grid.perRow;
        auto blockAbsmax = [&](int64_t r0, int64_t r1, unsigned) { absmaxRows(w, r0, r1, m_block, gpr, p.absmax.data()); };
        auto codeRows = [&](int64_t r0, int64_t r1, unsigned) { nf4Rows(w, q, r0, r1, p.absmax); };
        const auto rows = uint64_t(w.rows);
        if (!m_scheme.doubleQuant) {
            // One pass: each block's absmax is its own.
            auto st = detail::forRowBlocks(w.rows, w.cols, progress, 0, rows, "nf4 quantize", rowsDone,
                                           [&](int64_t r0, int64_t r1, unsigned t) {
                blockAbsmax(r0, r1, t);
                codeRows(r0, r1, t);
            });
            if (!st) return st;
        } else {
            // Double quantization needs every absmax first (the mean and the chunk scales).
            auto st = forChunks(w.rows, detail::rowChunk(w.cols), progress, 0, 2 * rows, "nf4 quantize", blockAbsmax);
            if (!st) return st;
            doubleQuantize(p);
            st = detail::forRowBlocks(w.rows, w.cols, progress, rows, 2 * rows, "nf4 quantize", rowsDone, codeRows);
            if (!st) return st;
        }
        for (size_t g = 0; g < p.absmax.size(); ++g) q.clip[g] = {-p.absmax[g], p.absmax[g]};
        return core::Status::success();
    }

    void decodeRows(const Quantized& q, int64_t r0, int64_t r1, float* out) const override
    {
        const int64_t cols = q.cols();
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = 0; c < cols; ++c)
                out[(r - r0) * cols + c] = decode(q.codes[size_t(r * cols + c)], coding(q, q.grid.groupOf(r, c)));
    }

    core::Result<std::vector<StoredPart>> store(const Quantized& q) const override
    {
        const auto& p = std::get<Nf4Params>(q.params);
        auto parts = layout(q.rows(), q.cols());
        parts[0] = detail::partOf("", core::DType::U8, parts[0].shape, detail::packBits(q.codes, q.rows(), q.cols(), 4));
        if (!m_scheme.doubleQuant) {
            parts[1] = detail::partOf(".absmax", core::DType::F32, parts[1].shape, p.absmax);
            return parts;
        }
        parts[1] = detail::partOf(".absmax", core::DType::I8, parts[1].shape, p.absmaxCode);
        parts[2] = detail::partOf(".absmax_scale", core::DType::F32, parts[2].shape, p.absmaxScale);
        parts[3] = detail::partOf(".absmax_mean", core::DType::F32, {1}, std::vector<float>{p.absmaxMean});
        return parts;
    }

    std::vector<float> groupLevels(const Quantized& q, int64_t group) const override
    {
        std::vector<float> out;
        if (group < 0 || group >= q.grid.count()) return out;
        const float a = std::get<Nf4Params>(q.params).absmax[size_t(group)];
        for (uint8_t c = 0; c < 16; ++c) out.push_back(nf4Value(c, a, m_levels));
        return detail::sortedUnique(std::move(out));
    }

    /// Double quantization ties every absmax to the whole tensor: not element-wise.
    const ElementCoder* elements() const override { return m_scheme.doubleQuant ? nullptr : this; }

    GroupCoding coding(const Quantized& q, int64_t group) const override
    {
        return {std::get<Nf4Params>(q.params).absmax[size_t(group)], 0.0f};
    }

    uint8_t encode(float x, const GroupCoding& g, uint64_t) const override
    {
        return g.scale > 0.0f ? nf4Code(x, g.scale, m_mids) : uint8_t(7);
    }

    float decode(uint8_t code, const GroupCoding& g) const override { return nf4Value(code, g.scale, m_levels); }

    void copyGroup(const Quantized& src, int64_t from, Quantized& dst, int64_t to) const override
    {
        std::get<Nf4Params>(dst.params).absmax[size_t(to)] = std::get<Nf4Params>(src.params).absmax[size_t(from)];
        dst.clip[size_t(to)] = src.clip[size_t(from)];
    }

private:
    int64_t m_block;
    float m_levels[16];
    float m_mids[15];
};

} // namespace

std::unique_ptr<Codec> makeNf4Codec(const Scheme& s) { return std::make_unique<Nf4Codec>(s); }

} // namespace qs::quant
