// The scale-per-group codecs: integer INT2..INT8 and FP8 (E4M3 / E5M2), at tensor,
// output-channel, input-channel or group granularity. Formulas (intquant.h has the prose):
//   int sym   qmax = 2^(b-1) - 1, scale = clip / qmax, code = clamp(round(x / scale), -qmax, qmax)
//   int asym  [lo, hi] extended to 0, scale = (hi - lo) / (2^b - 1),
//             zp = clamp(round_even(-lo / scale), 0, 2^b - 1), code = clamp(round(x / scale) + zp)
//   fp8       scale = clip / maxFinite, code = bits(roundToMiniFloat(x / scale))
//   decode    int: scale * (code - zp); fp8: value(code) * scale
// Group-wise int scales are stored as IEEE half and used as stored.
#include "codec_support.h"

#include "quant/floatquant.h"
#include "quant/ggml_quant.h"
#include "quant/range.h"
#include "quant/rounding.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace qs::quant {

namespace {

using detail::forRowBlocks;
using detail::rowChunk;
using detail::rowThreads;

constexpr float kRoundLimit = 4194304.0f; // 2^22: magic-number rounding stays exact below

/// The constants of a scheme's element format.
struct Format {
    bool isInt = true;
    bool asym = false;
    bool halfScales = false;
    float qmin = 0, qmax = 0; ///< integer code range
    MiniFloat fp = kE4M3;
    Overflow overflow = Overflow::Saturate;
    Rounding rounding = Rounding::NearestEven;
    uint64_t seed = 0;

    explicit Format(const Scheme& s)
        : isInt(s.family == Family::Int), asym(isInt && s.asymmetric),
          halfScales(isInt && s.granularity == Granularity::Group),
          fp(s.family == Family::Fp8E5M2 ? kE5M2 : kE4M3), overflow(s.overflow),
          rounding(isInt ? s.rounding : Rounding::NearestEven), seed(s.seed)
    {
        const float levels = float((1 << s.bits) - 1);
        qmax = asym ? levels : float((1 << (s.bits - 1)) - 1);
        qmin = asym ? 0.0f : -qmax;
    }
};

/// A group's scale, zero point and kept range.
struct Param {
    float scale = 1.0f;
    float zp = 0.0f;
    ClipRange clip;
};

/// The largest and smallest positive IEEE half, for group-wise scales stored as half.
constexpr float kHalfMax = 65504.0f;
constexpr float kHalfMin = 5.9604644775390625e-8f; // 2^-24

Param paramsFor(ClipRange c, const Format& f)
{
    Param p;
    if (!f.isInt || !f.asym) {
        const float amax = std::max(std::fabs(c.lo), std::fabs(c.hi));
        p.clip = {-amax, amax};
        p.scale = amax / (f.isInt ? f.qmax : f.fp.maxFinite);
    } else {
        p.clip = {std::min(c.lo, 0.0f), std::max(c.hi, 0.0f)};
        p.scale = (p.clip.hi - p.clip.lo) / f.qmax;
        // A range spanning most of float overflows hi - lo: divide first there.
        if (!isFiniteBits(p.scale)) p.scale = p.clip.hi / f.qmax - p.clip.lo / f.qmax;
    }
    if (!(p.scale > 0.0f) || !isFiniteBits(p.scale)) p.scale = 1.0f;
    if (f.halfScales) {
        // The file stores an IEEE half: use exactly that value, kept inside half's range.
        p.scale = core::f16ToF32(f32ToF16RoundNearestEven(std::clamp(p.scale, kHalfMin, kHalfMax)));
    }
    if (f.asym) p.zp = std::clamp(roundHalfEven(std::clamp(-p.clip.lo / p.scale, 0.0f, f.qmax)), 0.0f, f.qmax);
    return p;
}

// ---- The element formulas: one definition, used by the vector loops and by GPTQ. ----

/// The integer level of x (a float holding an integer in [qmin, qmax]); non-finite x -> zp.
template <Rounding R>
[[gnu::always_inline]] inline float intLevel(float x, float s, float z, float qmin, float qmax, uint64_t seed,
                                             uint64_t position)
{
    float v = x / s;
    v = v < -kRoundLimit ? -kRoundLimit : (v > kRoundLimit ? kRoundLimit : v);
    float r;
    if constexpr (R == Rounding::NearestEven) r = roundHalfEven(v);
    else if constexpr (R == Rounding::HalfAway) r = roundHalfAway(v);
    else r = floorSmall(v + stochasticUniform(seed, position));
    float q = r + z;
    q = q < qmin ? qmin : (q > qmax ? qmax : q);
    return isFiniteBits(x) ? q : z;
}

/// The stored byte of an integer level: two's complement for signed codes.
[[gnu::always_inline]] inline uint8_t intCode(float level) { return uint8_t(int32_t(level)); }

[[gnu::always_inline]] inline float intDecode(uint8_t code, bool asym, float s, float z)
{
    const float c = asym ? float(code) : float(int8_t(code));
    return (c - z) * s;
}

[[gnu::always_inline]] inline uint8_t fp8Encode(float x, float s, const MiniFloat& f, Overflow o)
{
    return miniFloatBits(roundToMiniFloat(x / s, f, o), f);
}

// ---- Range fitting ----

double groupSse(std::span<const float> values, const Param& p, const Format& f)
{
    double sse = 0;
    for (float x : values) {
        float d;
        if (f.isInt) {
            const float v = std::clamp(x / p.scale, -kRoundLimit, kRoundLimit);
            const float q = std::clamp(roundHalfEven(v) + p.zp, f.qmin, f.qmax);
            d = (q - p.zp) * p.scale;
        } else {
            d = roundToMiniFloat(x / p.scale, f.fp, Overflow::Saturate) * p.scale;
        }
        sse += double(x - d) * double(x - d);
    }
    return sse;
}

void gatherFinite(const float* x, int64_t n, int64_t stride, std::vector<float>& out)
{
    out.clear();
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i * stride];
        if (isFiniteBits(v)) out.push_back(v);
    }
}

Param fitValues(std::vector<float>& values, const Format& f, const RangeOptions& range)
{
    const ClipRange r = chooseRange(values, !f.asym, range, [&](ClipRange cand) {
        return groupSse(values, paramsFor(cand, f), f);
    });
    return paramsFor(r, f);
}

/// The min-max range of the finite values of x[0, n); nullopt when none is finite.
[[gnu::always_inline]] inline std::optional<ClipRange> finiteMinMax(const float* x, int64_t n, bool symmetric)
{
    const detail::FiniteRange r = detail::finiteRange(x, n);
    if (r.lo > r.hi) return std::nullopt;
    if (symmetric) return ClipRange{-r.amax, r.amax};
    return ClipRange{r.lo, r.hi};
}

/// finiteMinMax over a large span (a tensor-wide fit), in the widest clone.
[[gnu::target_clones("avx512f", "avx2", "default")]] std::optional<ClipRange>
finiteMinMaxWide(const float* x, int64_t n, bool symmetric)
{
    return finiteMinMax(x, n, symmetric);
}

/// Everything a quantization run shares.
struct Job {
    const Matrix& w;
    const RangeOptions& range;
    Format format;
    GroupGrid grid;
    std::vector<Param> params;
};

core::Status fitTensor(Job& job, core::Progress* progress, uint64_t total)
{
    const Matrix& w = job.w;
    if (job.range.method != ClipMethod::MinMax) {
        std::vector<float> values;
        gatherFinite(w.data.data(), w.rows * w.cols, 1, values);
        job.params[0] = fitValues(values, job.format, job.range);
        return core::Status::success();
    }
    std::vector<ClipRange> part(rowThreads(), ClipRange{});
    std::vector<char> seen(rowThreads(), 0);
    auto st = forChunks(w.rows, rowChunk(w.cols), progress, 0, total, "quantize",
                        [&](int64_t r0, int64_t r1, unsigned t) {
        const auto found = finiteMinMaxWide(w.row(r0), (r1 - r0) * w.cols, !job.format.asym);
        if (!found) return;
        const ClipRange c = *found;
        part[t] = seen[t] ? ClipRange{std::min(part[t].lo, c.lo), std::max(part[t].hi, c.hi)} : c;
        seen[t] = 1;
    });
    if (!st) return st;
    ClipRange all;
    bool any = false;
    for (size_t t = 0; t < part.size(); ++t) {
        if (!seen[t]) continue;
        all = any ? ClipRange{std::min(all.lo, part[t].lo), std::max(all.hi, part[t].hi)} : part[t];
        any = true;
    }
    job.params[0] = paramsFor(all, job.format);
    return core::Status::success();
}

/// Per-column min-max as a sweep over rows, so that memory is read contiguously.
core::Status fitColumnsMinMax(Job& job, core::Progress* progress, uint64_t total)
{
    const Matrix& w = job.w;
    constexpr float kBig = std::numeric_limits<float>::infinity();
    return forChunks(w.cols, 256, progress, 0, total, "quantize", [&](int64_t c0, int64_t c1, unsigned) {
        const int64_t n = c1 - c0;
        std::vector<float> lo(size_t(n), kBig), hi(size_t(n), -kBig);
        for (int64_t r = 0; r < w.rows; ++r) {
            const float* x = w.row(r) + c0;
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const bool finite = isFiniteBits(x[i]);
                lo[size_t(i)] = finite && x[i] < lo[size_t(i)] ? x[i] : lo[size_t(i)];
                hi[size_t(i)] = finite && x[i] > hi[size_t(i)] ? x[i] : hi[size_t(i)];
            }
        }
        for (int64_t i = 0; i < n; ++i) {
            ClipRange c{lo[size_t(i)], hi[size_t(i)]};
            if (c.lo > c.hi) c = {}; // no finite value in the column
            if (!job.format.asym) {
                const float amax = std::max(std::fabs(c.lo), std::fabs(c.hi));
                c = {-amax, amax};
            }
            job.params[size_t(c0 + i)] = paramsFor(c, job.format);
        }
    });
}

core::Status fitColumns(Job& job, core::Progress* progress, uint64_t total)
{
    if (job.range.method == ClipMethod::MinMax) return fitColumnsMinMax(job, progress, total);
    std::vector<std::vector<float>> scratch(rowThreads());
    const Matrix& w = job.w;
    return forChunks(w.cols, 16, progress, 0, total, "quantize", [&](int64_t c0, int64_t c1, unsigned t) {
        for (int64_t c = c0; c < c1; ++c) {
            gatherFinite(w.data.data() + c, w.rows, w.cols, scratch[size_t(t)]);
            job.params[size_t(c)] = fitValues(scratch[size_t(t)], job.format, job.range);
        }
    });
}

/// Fits the groups of rows [r0, r1) (channel and group granularity).
[[gnu::target_clones("avx512f", "avx2", "default")]] void fitRowGroups(Job& job, int64_t r0, int64_t r1,
                                                                       std::vector<float>& scratch)
{
    const Matrix& w = job.w;
    for (int64_t r = r0; r < r1; ++r) {
        for (int64_t g = 0; g < job.grid.perRow; ++g) {
            const int64_t c0 = g * job.grid.width;
            const int64_t n = std::min(job.grid.width, w.cols - c0);
            Param& p = job.params[size_t(r * job.grid.perRow + g)];
            if (job.range.method == ClipMethod::MinMax) {
                p = paramsFor(finiteMinMax(w.row(r) + c0, n, !job.format.asym).value_or(ClipRange{}), job.format);
                continue;
            }
            gatherFinite(w.row(r) + c0, n, 1, scratch);
            p = fitValues(scratch, job.format, job.range);
        }
    }
}

// ---- The element pass ----

/// One run of elements with one (or, PerElem, per-element) scale and zero point.
struct Run {
    const float* x;
    float* out;
    uint8_t* codes;
    int64_t n;
    const float* scale;
    const float* zp;
    uint64_t position; ///< of x[0]: row * cols + col
};

// The element loops read everything through locals: the code stores are bytes, which may
// alias anything, so values left behind a pointer or a reference are reloaded every
// iteration and the loop stays scalar.
template <Rounding R, bool PerElem>
[[gnu::always_inline]] inline void intRun(const Run& run, const Format& f)
{
    const float qmin = f.qmin, qmax = f.qmax;
    const uint64_t seed = f.seed, position = run.position;
    const float* x = run.x;
    const float* scale = run.scale;
    const float* zp = run.zp;
    const float s0 = scale[0], z0 = zp[0];
    float* out = run.out;
    uint8_t* codes = run.codes;
    const int64_t n = run.n;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        const float s = PerElem ? scale[i] : s0;
        const float z = PerElem ? zp[i] : z0;
        // The level is an integer in the code range: decoding its byte gives it back exactly,
        // so the value is computed from the level (intDecode's formula, no byte-to-float step).
        const float level = intLevel<R>(x[i], s, z, qmin, qmax, seed, position + uint64_t(i));
        codes[i] = intCode(level);
        out[i] = (level - z) * s;
    }
}

/// FP8 elements: the value is the rounded element times the scale, exactly decode(code) (a NaN
/// as the canonical NaN the code decodes to), without a table lookup so that the loop
/// vectorises; F is a template argument for constant shifts and limits.
template <MiniFloat F, bool PerElem>
[[gnu::always_inline]] inline void fp8Run(const Run& run, Overflow overflow)
{
    constexpr float kQNaN = std::numeric_limits<float>::quiet_NaN();
    const float* x = run.x;
    const float* scale = run.scale;
    const float s0 = scale[0];
    float* out = run.out;
    uint8_t* codes = run.codes;
    const int64_t n = run.n;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        const float s = PerElem ? scale[i] : s0;
        const float v = roundToMiniFloat(x[i] / s, F, overflow);
        codes[i] = miniFloatBits(v, F);
        out[i] = (v != v ? std::copysign(kQNaN, v) : v) * s;
    }
}

template <bool PerElem>
[[gnu::always_inline]] inline void elementRun(const Run& run, const Format& f)
{
    if (!f.isInt) {
        if (f.fp.expBits == kE5M2.expBits) return fp8Run<kE5M2, PerElem>(run, f.overflow);
        return fp8Run<kE4M3, PerElem>(run, f.overflow);
    }
    switch (f.rounding) {
    case Rounding::NearestEven: return intRun<Rounding::NearestEven, PerElem>(run, f);
    case Rounding::HalfAway: return intRun<Rounding::HalfAway, PerElem>(run, f);
    case Rounding::Stochastic: return intRun<Rounding::Stochastic, PerElem>(run, f);
    }
}

/// Codes and decoded values of row r. Compiled for AVX-512 and AVX2 too: the element loops
/// are elementwise IEEE operations, so every width gives the same bits.
[[gnu::target_clones("avx512f", "avx2", "default")]] void
quantizeRow(const Job& job, int64_t r, Quantized& q, const std::vector<float>& colScale,
            const std::vector<float>& colZp)
{
    const Matrix& w = job.w;
    uint8_t* codes = q.codes.data() + r * w.cols;
    const uint64_t base = uint64_t(r * w.cols);
    if (job.grid.granularity == Granularity::InChannel) {
        elementRun<true>(Run{w.row(r), q.dequant.row(r), codes, w.cols, colScale.data(), colZp.data(), base},
                         job.format);
        return;
    }
    const bool tensor = job.grid.granularity == Granularity::Tensor;
    for (int64_t g = 0; g < job.grid.perRow; ++g) {
        const int64_t c0 = g * job.grid.width;
        const Param& p = job.params[tensor ? 0 : size_t(r * job.grid.perRow + g)];
        elementRun<false>(Run{w.row(r) + c0, q.dequant.row(r) + c0, codes + c0, std::min(job.grid.width, w.cols - c0),
                              &p.scale, &p.zp, base + uint64_t(c0)},
                          job.format);
    }
}

class ScaledCodec final : public Codec, public ElementCoder {
public:
    explicit ScaledCodec(const Scheme& s) : Codec(s), m_format(s), m_table(valueTable(m_format)) {}
    bool clips() const override { return true; }

    GroupGrid grid(int64_t rows, int64_t cols) const override
    {
        GroupGrid g{m_scheme.granularity, rows, cols, cols, 1};
        if (g.granularity == Granularity::InChannel) {
            g.width = 1;
            g.perRow = cols;
        } else if (g.granularity == Granularity::Group) {
            g.width = m_scheme.groupSize;
            g.perRow = (cols + g.width - 1) / g.width;
        }
        return g;
    }

    std::vector<StoredPart> layout(int64_t rows, int64_t cols) const override
    {
        using core::DType;
        const GroupGrid g = grid(rows, cols);
        const auto shape = detail::groupShape(g);
        std::vector<StoredPart> parts;
        if (!m_format.isInt)
            parts.push_back({"", m_scheme.family == Family::Fp8E5M2 ? DType::F8_E5M2 : DType::F8_E4M3, {rows, cols}, {}});
        else if (m_scheme.bits == 8)
            parts.push_back({"", m_format.asym ? DType::U8 : DType::I8, {rows, cols}, {}});
        else
            parts.push_back({"", DType::U8, {rows, detail::packedRowBytes(cols, m_scheme.bits)}, {}});
        parts.push_back({".scale", m_format.halfScales ? DType::F16 : DType::F32, shape, {}});
        if (m_format.asym) parts.push_back({".zero_point", DType::U8, shape, {}});
        return parts;
    }

    void resizeParams(Quantized& q) const override
    {
        ScaledParams p;
        p.scale.resize(size_t(q.grid.count()));
        if (m_format.asym) p.zeroPoint.resize(size_t(q.grid.count()));
        q.params = std::move(p);
    }

    core::Status quantize(const Matrix& w, const RangeOptions& range, Quantized& q, core::Progress* progress,
                          const RowsDone& rowsDone) const override
    {
        Job job{w, range, m_format, q.grid, std::vector<Param>(size_t(q.grid.count()))};
        if (w.rows == 0 || w.cols == 0) return core::Status::success();
        const Granularity gran = q.grid.granularity;
        const bool rowFitted = gran == Granularity::Channel || gran == Granularity::Group;
        const uint64_t fitUnits = rowFitted ? 0 : uint64_t(gran == Granularity::InChannel ? w.cols : w.rows);
        const uint64_t total = fitUnits + uint64_t(w.rows);
        if (gran == Granularity::Tensor) {
            if (auto st = fitTensor(job, progress, total); !st) return st;
        } else if (gran == Granularity::InChannel) {
            if (auto st = fitColumns(job, progress, total); !st) return st;
        }
        std::vector<float> colScale, colZp;
        if (gran == Granularity::InChannel) {
            for (const Param& p : job.params) {
                colScale.push_back(p.scale);
                colZp.push_back(p.zp);
            }
        }
        std::vector<std::vector<float>> scratch(rowThreads());
        auto st = forRowBlocks(w.rows, w.cols, progress, fitUnits, total, "quantize", rowsDone,
                               [&](int64_t r0, int64_t r1, unsigned t) {
            if (rowFitted) fitRowGroups(job, r0, r1, scratch[t]);
            for (int64_t r = r0; r < r1; ++r) quantizeRow(job, r, q, colScale, colZp);
        });
        if (!st) return st;
        auto& out = std::get<ScaledParams>(q.params);
        for (size_t g = 0; g < job.params.size(); ++g) {
            out.scale[g] = job.params[g].scale;
            if (m_format.asym) out.zeroPoint[g] = uint8_t(job.params[g].zp);
            q.clip[g] = job.params[g].clip;
        }
        return core::Status::success();
    }

    void decodeRows(const Quantized& q, int64_t r0, int64_t r1, float* out) const override
    {
        const int64_t cols = q.cols();
        for (int64_t r = r0; r < r1; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                const GroupCoding g = coding(q, q.grid.groupOf(r, c));
                out[(r - r0) * cols + c] = decode(q.codes[size_t(r * cols + c)], g);
            }
        }
    }

    core::Result<std::vector<StoredPart>> store(const Quantized& q) const override
    {
        const auto& p = std::get<ScaledParams>(q.params);
        auto parts = layout(q.rows(), q.cols());
        if (m_format.isInt && m_scheme.bits < 8)
            parts[0] = detail::partOf("", core::DType::U8, parts[0].shape,
                                      detail::packBits(q.codes, q.rows(), q.cols(), m_scheme.bits));
        else
            parts[0] = detail::partOf("", parts[0].dtype, parts[0].shape, q.codes);
        if (m_format.halfScales) {
            std::vector<uint16_t> half(p.scale.size());
            for (size_t i = 0; i < half.size(); ++i) half[i] = f32ToF16RoundNearestEven(p.scale[i]);
            parts[1] = detail::partOf(".scale", core::DType::F16, parts[1].shape, half);
        } else {
            parts[1] = detail::partOf(".scale", core::DType::F32, parts[1].shape, p.scale);
        }
        if (m_format.asym) parts[2] = detail::partOf(".zero_point", core::DType::U8, parts[2].shape, p.zeroPoint);
        return parts;
    }

    std::vector<float> groupLevels(const Quantized& q, int64_t group) const override
    {
        std::vector<float> out;
        if (group < 0 || group >= q.grid.count()) return out;
        const GroupCoding g = coding(q, group);
        if (m_format.isInt) {
            for (int c = int(m_format.qmin); c <= int(m_format.qmax); ++c) out.push_back((float(c) - g.zero) * g.scale);
        } else {
            for (float v : m_table)
                if (std::isfinite(v)) out.push_back(v * g.scale);
        }
        return detail::sortedUnique(std::move(out));
    }

    const ElementCoder* elements() const override
    {
        // Input-channel scales span every row: GPTQ's column-by-column updates would change
        // a scale after some of its weights are coded.
        return m_scheme.granularity == Granularity::InChannel ? nullptr : this;
    }

    GroupCoding coding(const Quantized& q, int64_t group) const override
    {
        const auto& p = std::get<ScaledParams>(q.params);
        return {p.scale[size_t(group)], m_format.asym ? float(p.zeroPoint[size_t(group)]) : 0.0f};
    }

    uint8_t encode(float x, const GroupCoding& g, uint64_t position) const override
    {
        const Format& f = m_format;
        if (!f.isInt) return fp8Encode(x, g.scale, f.fp, f.overflow);
        switch (f.rounding) {
        case Rounding::HalfAway:
            return intCode(intLevel<Rounding::HalfAway>(x, g.scale, g.zero, f.qmin, f.qmax, f.seed, position));
        case Rounding::Stochastic:
            return intCode(intLevel<Rounding::Stochastic>(x, g.scale, g.zero, f.qmin, f.qmax, f.seed, position));
        case Rounding::NearestEven: break;
        }
        return intCode(intLevel<Rounding::NearestEven>(x, g.scale, g.zero, f.qmin, f.qmax, f.seed, position));
    }

    float decode(uint8_t code, const GroupCoding& g) const override
    {
        return m_format.isInt ? intDecode(code, m_format.asym, g.scale, g.zero) : m_table[code] * g.scale;
    }

    void copyGroup(const Quantized& src, int64_t from, Quantized& dst, int64_t to) const override
    {
        const auto& s = std::get<ScaledParams>(src.params);
        auto& d = std::get<ScaledParams>(dst.params);
        d.scale[size_t(to)] = s.scale[size_t(from)];
        if (m_format.asym) d.zeroPoint[size_t(to)] = s.zeroPoint[size_t(from)];
        dst.clip[size_t(to)] = src.clip[size_t(from)];
    }

private:
    static std::vector<float> valueTable(const Format& f)
    {
        std::vector<float> t(256, 0.0f);
        if (!f.isInt)
            for (unsigned c = 0; c < 256; ++c) t[c] = decodeMiniFloat(uint8_t(c), f.fp);
        return t;
    }

    Format m_format;
    std::vector<float> m_table; ///< FP8: the value of every bit pattern
};

} // namespace

std::unique_ptr<Codec> makeScaledCodec(const Scheme& s) { return std::make_unique<ScaledCodec>(s); }

} // namespace qs::quant
