// Scale-per-group quantizers (integer and FP8): choose each group's range, derive scale and
// zero point, then quantize and dequantize the elements in vectorised loops.
#include "intquant.h"

#include "floatquant.h"
#include "ggml_quant.h"
#include "range.h"
#include "rounding.h"

#include "core/dtype.h"
#include "core/largebuffer.h"
#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace qs::quant {

unsigned chunkThreads() { return core::defaultThreadCount(); }

core::Status forChunks(int64_t count, int64_t chunk, core::Progress* progress,
                       uint64_t doneBefore, uint64_t total, const char* what,
                       const std::function<void(int64_t, int64_t, unsigned)>& fn)
{
    auto cancelled = [progress] { return progress != nullptr && progress->cancelled(); };
    if (count > 0) {
        chunk = std::max<int64_t>(chunk, 1);
        const auto chunks = uint64_t((count + chunk - 1) / chunk);
        std::atomic<uint64_t> done{0};
        auto body = [&](uint64_t c, unsigned thread) {
            const int64_t begin = int64_t(c) * chunk;
            const int64_t end = std::min(count, begin + chunk);
            fn(begin, end, thread);
            const uint64_t now = done.fetch_add(uint64_t(end - begin)) + uint64_t(end - begin);
            if (progress != nullptr && progress->report) progress->report(doneBefore + now, total);
        };
        if (chunks == 1) {
            body(0, 0); // no hand-over to the pool for small work (GPTQ calls this per group)
        } else {
            core::parallelChunks(chunks, chunkThreads(), body, cancelled);
        }
    }
    if (cancelled()) {
        return core::makeError(core::ErrorCode::Cancelled, std::string(what) + ": cancelled");
    }
    return core::Status::success();
}

namespace {

constexpr float kRoundLimit = 4194304.0f; // 2^22: magic-number rounding stays exact below

/// Scale and zero point of one group, with the range it was derived from.
struct GroupParam {
    float scale = 1.0f;
    float zp = 0.0f;
    ClipRange clip;
};

/// The constants of a scheme's element format.
struct Codec {
    bool isInt = true;
    bool asym = false;
    bool halfScales = false;
    float qmin = 0, qmax = 0; ///< integer code range
    MiniFloat fp = kE4M3;
    Overflow overflow = Overflow::Saturate;
    Rounding rounding = Rounding::NearestEven;

    explicit Codec(const Scheme& s)
        : isInt(s.family == Family::Int), asym(isInt && s.asymmetric),
          halfScales(isInt && s.granularity == Granularity::Group),
          fp(s.family == Family::Fp8E5M2 ? kE5M2 : kE4M3), overflow(s.overflow),
          rounding(isInt ? s.rounding : Rounding::NearestEven)
    {
        const float levels = float((1 << s.bits) - 1);
        qmax = asym ? levels : float((1 << (s.bits - 1)) - 1);
        qmin = asym ? 0.0f : -qmax;
    }

    GroupParam paramsFor(ClipRange c) const
    {
        GroupParam p;
        if (!isInt || !asym) {
            const float amax = std::max(std::fabs(c.lo), std::fabs(c.hi));
            p.clip = {-amax, amax};
            p.scale = amax / (isInt ? qmax : fp.maxFinite);
        } else {
            p.clip = {std::min(c.lo, 0.0f), std::max(c.hi, 0.0f)};
            p.scale = (p.clip.hi - p.clip.lo) / qmax;
            // A range spanning most of float overflows hi - lo: divide first there.
            if (!isFiniteBits(p.scale)) p.scale = p.clip.hi / qmax - p.clip.lo / qmax;
        }
        if (!(p.scale > 0.0f) || !isFiniteBits(p.scale)) p.scale = 1.0f;
        if (halfScales) {
            const float h = core::f16ToF32(f32ToF16RoundNearestEven(p.scale));
            if (h > 0.0f && isFiniteBits(h)) p.scale = h;
        }
        if (asym) p.zp = std::clamp(roundHalfEven(std::clamp(-p.clip.lo / p.scale, 0.0f, qmax)),
                                    0.0f, qmax);
        return p;
    }
};

enum class Mode { Rne, Away, Noise };

/// The integer element loop. PerElem: scale/zp arrays indexed by element (inchannel), else
/// one pair. Noise: stochastic rounding with pre-drawn uniforms.
template <Mode M, bool PerElem, bool Codes>
[[gnu::always_inline]] inline void intLoop(const float* x, float* out, int8_t* codes, int64_t n, const float* scale,
             const float* zp, const float* noise, float qmin, float qmax)
{
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        const float s = scale[PerElem ? i : 0];
        const float z = zp[PerElem ? i : 0];
        float v = x[i] / s;
        v = v < -kRoundLimit ? -kRoundLimit : (v > kRoundLimit ? kRoundLimit : v);
        float r;
        if constexpr (M == Mode::Rne) r = roundHalfEven(v);
        else if constexpr (M == Mode::Away) r = roundHalfAway(v);
        else r = floorSmall(v + noise[i]);
        float q = r + z;
        q = q < qmin ? qmin : (q > qmax ? qmax : q);
        const bool finite = isFiniteBits(x[i]);
        const float d = (q - z) * s; // computed unconditionally, so the select vectorises
        out[i] = finite ? d : x[i];
        if constexpr (Codes) codes[i] = int8_t(finite ? q : 0.0f);
    }
}

template <bool PerElem>
[[gnu::always_inline]] inline void fp8Loop(const float* x, float* out, int64_t n, const float* scale, const MiniFloat& f,
             Overflow overflow)
{
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        const float s = scale[PerElem ? i : 0];
        const float d = roundToMiniFloat(x[i] / s, f, overflow) * s;
        out[i] = isFiniteBits(x[i]) ? d : x[i];
    }
}

/// Per-row work of the element pass: a run of elements with one (or per-element) parameters.
struct Run {
    const float* x;
    float* out;
    int8_t* codes; ///< null unless int8 symmetric codes are kept
    int64_t n;
    const float* scale;
    const float* zp;
    uint64_t segment; ///< stochastic rounding stream
};

template <bool PerElem>
[[gnu::always_inline]] inline void quantizeRun(const Run& run, const Codec& c, uint64_t seed, std::vector<float>& noise)
{
    if (!c.isInt) {
        fp8Loop<PerElem>(run.x, run.out, run.n, run.scale, c.fp, c.overflow);
        return;
    }
    const bool codes = run.codes != nullptr;
    switch (c.rounding) {
    case Rounding::NearestEven:
        if (codes) intLoop<Mode::Rne, PerElem, true>(run.x, run.out, run.codes, run.n,
                                                     run.scale, run.zp, nullptr, c.qmin, c.qmax);
        else intLoop<Mode::Rne, PerElem, false>(run.x, run.out, nullptr, run.n, run.scale,
                                                run.zp, nullptr, c.qmin, c.qmax);
        return;
    case Rounding::HalfAway:
        if (codes) intLoop<Mode::Away, PerElem, true>(run.x, run.out, run.codes, run.n,
                                                      run.scale, run.zp, nullptr, c.qmin, c.qmax);
        else intLoop<Mode::Away, PerElem, false>(run.x, run.out, nullptr, run.n, run.scale,
                                                 run.zp, nullptr, c.qmin, c.qmax);
        return;
    case Rounding::Stochastic: {
        noise.resize(size_t(run.n));
        auto gen = segmentGenerator(seed, run.segment);
        for (float& u : noise) u = uniformFloat(gen);
        if (codes) intLoop<Mode::Noise, PerElem, true>(run.x, run.out, run.codes, run.n,
                                                       run.scale, run.zp, noise.data(), c.qmin,
                                                       c.qmax);
        else intLoop<Mode::Noise, PerElem, false>(run.x, run.out, nullptr, run.n, run.scale,
                                                  run.zp, noise.data(), c.qmin, c.qmax);
        return;
    }
    }
}

/// Sum of squared errors of `values` under one group's parameters (nearest-even rounding).
double groupSse(std::span<const float> values, const GroupParam& p, const Codec& c)
{
    double sse = 0;
    for (float x : values) {
        float d;
        if (c.isInt) {
            const float v = std::clamp(x / p.scale, -kRoundLimit, kRoundLimit);
            const float q = std::clamp(roundHalfEven(v) + p.zp, c.qmin, c.qmax);
            d = (q - p.zp) * p.scale;
        } else {
            d = roundToMiniFloat(x / p.scale, c.fp, Overflow::Saturate) * p.scale;
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

GroupParam fitGroup(std::vector<float>& values, const Codec& c, const RangeOptions& range)
{
    const ClipRange r = chooseRange(values, !c.asym, range, [&](ClipRange cand) {
        return groupSse(values, c.paramsFor(cand), c);
    });
    return c.paramsFor(r);
}

/// Everything the two passes share.
struct Job {
    const Matrix& w;
    const Scheme& scheme;
    const RangeOptions& range;
    Codec codec;
    int64_t groupsPerRow = 1;
    int64_t width = 0; ///< columns per group along a row
    std::vector<GroupParam> params;
};

/// The min-max range of the finite values of x[0, n) (minMaxRange without gathering them);
/// nullopt when none is finite.
[[gnu::target_clones("avx512f", "avx2", "default")]] std::optional<ClipRange> finiteMinMax(const float* x,
                                                                                          int64_t n,
                                                                                          bool symmetric)
{
    constexpr float kBig = std::numeric_limits<float>::infinity();
    float lo = kBig, hi = -kBig, amax = 0.0f;
#pragma omp simd reduction(min : lo) reduction(max : hi, amax)
    for (int64_t i = 0; i < n; ++i) {
        const bool finite = isFiniteBits(x[i]);
        lo = std::min(lo, finite ? x[i] : kBig);
        hi = std::max(hi, finite ? x[i] : -kBig);
        amax = std::max(amax, finite ? std::fabs(x[i]) : 0.0f);
    }
    if (lo > hi) return std::nullopt;
    if (symmetric) return ClipRange{-amax, amax};
    return ClipRange{lo, hi};
}

/// Per-tensor parameters: min-max as a parallel reduction, other methods on all values.
core::Status fitTensor(Job& job, core::Progress* progress, uint64_t total)
{
    const Matrix& w = job.w;
    if (job.range.method != ClipMethod::MinMax) {
        std::vector<float> values;
        gatherFinite(w.data.data(), w.rows * w.cols, 1, values);
        job.params[0] = fitGroup(values, job.codec, job.range);
        return core::Status::success();
    }
    std::vector<ClipRange> part(chunkThreads(), ClipRange{});
    std::vector<char> seen(chunkThreads(), 0);
    auto st = forChunks(w.rows, std::max<int64_t>(1, 65536 / w.cols), progress, 0, total,
                        "quantize", [&](int64_t r0, int64_t r1, unsigned t) {
        const auto found = finiteMinMax(w.row(r0), (r1 - r0) * w.cols, !job.codec.asym);
        if (!found) return;
        const ClipRange c = *found;
        part[t] = seen[t] ? ClipRange{std::min(part[t].lo, c.lo), std::max(part[t].hi, c.hi)}
                          : c;
        seen[t] = 1;
    });
    if (!st) return st;
    ClipRange all;
    bool any = false;
    for (size_t t = 0; t < part.size(); ++t) {
        if (!seen[t]) continue;
        all = any ? ClipRange{std::min(all.lo, part[t].lo), std::max(all.hi, part[t].hi)}
                  : part[t];
        any = true;
    }
    job.params[0] = job.codec.paramsFor(all);
    return core::Status::success();
}

/// Per-column min-max as a sweep over rows, so that memory is read contiguously (a strided
/// gather per column is several times slower on large matrices).
core::Status fitColumnsMinMax(Job& job, core::Progress* progress, uint64_t total)
{
    const Matrix& w = job.w;
    constexpr float kBig = std::numeric_limits<float>::infinity();
    return forChunks(w.cols, 256, progress, 0, total, "quantize",
                     [&](int64_t c0, int64_t c1, unsigned) {
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
            if (!job.codec.asym) {
                const float amax = std::max(std::fabs(c.lo), std::fabs(c.hi));
                c = {-amax, amax};
            }
            job.params[size_t(c0 + i)] = job.codec.paramsFor(c);
        }
    });
}

/// Fits every group: rows (channel, group) or columns (inchannel) in parallel.
core::Status fitGroups(Job& job, core::Progress* progress, uint64_t total)
{
    const Matrix& w = job.w;
    if (job.scheme.granularity == Granularity::Tensor) return fitTensor(job, progress, total);
    std::vector<std::vector<float>> scratch(chunkThreads());
    if (job.scheme.granularity == Granularity::InChannel && job.range.method == ClipMethod::MinMax)
        return fitColumnsMinMax(job, progress, total);
    if (job.scheme.granularity == Granularity::InChannel) {
        return forChunks(w.cols, 16, progress, 0, total, "quantize",
                         [&](int64_t c0, int64_t c1, unsigned t) {
            for (int64_t c = c0; c < c1; ++c) {
                gatherFinite(w.data.data() + c, w.rows, w.cols, scratch[t]);
                job.params[size_t(c)] = fitGroup(scratch[t], job.codec, job.range);
            }
        });
    }
    return forChunks(w.rows, std::max<int64_t>(1, 65536 / w.cols), progress, 0, total,
                     "quantize", [&](int64_t r0, int64_t r1, unsigned t) {
        for (int64_t r = r0; r < r1; ++r) {
            for (int64_t g = 0; g < job.groupsPerRow; ++g) {
                const int64_t c0 = g * job.width;
                const int64_t n = std::min(job.width, w.cols - c0);
                GroupParam& p = job.params[size_t(r * job.groupsPerRow + g)];
                if (job.range.method == ClipMethod::MinMax) {
                    p = job.codec.paramsFor(finiteMinMax(w.row(r) + c0, n, !job.codec.asym).value_or(ClipRange{}));
                    continue;
                }
                gatherFinite(w.row(r) + c0, n, 1, scratch[t]);
                p = fitGroup(scratch[t], job.codec, job.range);
            }
        }
    });
}

/// Quantizes and dequantizes row r into `q`. Compiled for AVX-512 and AVX2 too: the element
/// loops are elementwise IEEE operations, so every width gives the same bits.
[[gnu::target_clones("avx512f", "avx2", "default")]] void quantizeRow(const Job& job, int64_t r, Quantized& q, const std::vector<float>& colScale,
                 const std::vector<float>& colZp, std::vector<float>& noise)
{
    const Matrix& w = job.w;
    int8_t* codes = q.packed.empty() ? nullptr
                                     : reinterpret_cast<int8_t*>(q.packed.data()) + r * w.cols;
    const uint64_t seed = job.scheme.seed;
    if (job.scheme.granularity == Granularity::InChannel) {
        const Run run{w.row(r), q.dequant.row(r), codes, w.cols, colScale.data(), colZp.data(),
                      uint64_t(r)};
        quantizeRun<true>(run, job.codec, seed, noise);
        return;
    }
    const bool tensor = job.scheme.granularity == Granularity::Tensor;
    for (int64_t g = 0; g < job.groupsPerRow; ++g) {
        const int64_t c0 = g * job.width;
        const GroupParam& p = job.params[tensor ? 0 : size_t(r * job.groupsPerRow + g)];
        const Run run{w.row(r) + c0, q.dequant.row(r) + c0, codes ? codes + c0 : nullptr,
                      std::min(job.width, w.cols - c0), &p.scale, &p.zp,
                      uint64_t(r * job.groupsPerRow + g)};
        quantizeRun<false>(run, job.codec, seed, noise);
    }
}

void reportParams(const Job& job, Quantized& q)
{
    q.groupsPerRow = job.scheme.granularity == Granularity::InChannel ? job.w.cols
                                                                      : job.groupsPerRow;
    q.scales.reserve(job.params.size());
    q.clip.reserve(job.params.size() * (job.codec.asym ? 2 : 1));
    for (const GroupParam& p : job.params) {
        q.scales.push_back(p.scale);
        if (job.codec.asym) {
            q.zeroPoints.push_back(int32_t(p.zp));
            q.clip.push_back(p.clip.lo);
        }
        q.clip.push_back(p.clip.hi);
    }
}

} // namespace

core::Result<Quantized> quantizeScaled(const Matrix& w, const Scheme& scheme,
                                       const RangeOptions& range, core::Progress* progress,
                                       Quantized* reuse)
{
    Job job{w, scheme, range, Codec(scheme)};
    switch (scheme.granularity) {
    case Granularity::Tensor: job.width = w.cols; break;
    case Granularity::Channel: job.width = w.cols; break;
    case Granularity::InChannel: job.width = 1; break;
    case Granularity::Group: job.width = scheme.groupSize; break;
    }
    job.groupsPerRow = scheme.granularity == Granularity::Group
                           ? (w.cols + scheme.groupSize - 1) / scheme.groupSize
                           : 1;
    const int64_t groups = scheme.granularity == Granularity::Tensor      ? 1
                           : scheme.granularity == Granularity::InChannel ? w.cols
                                                                          : w.rows *
                                                                                job.groupsPerRow;
    job.params.assign(size_t(groups), GroupParam{});

    Quantized q = startResult(w, reuse);
    if (scheme.family == Family::Int && scheme.bits == 8 && !scheme.asymmetric)
        core::resizeLarge(q.packed, w.data.size());
    const bool perColumn = scheme.granularity == Granularity::InChannel;
    const uint64_t fitUnits = uint64_t(perColumn ? w.cols : w.rows);
    const uint64_t total = fitUnits + uint64_t(w.rows);
    if (w.rows > 0 && w.cols > 0) {
        auto st = fitGroups(job, progress, total);
        if (!st) return st.error();
        std::vector<float> colScale, colZp;
        if (perColumn) {
            for (const GroupParam& p : job.params) {
                colScale.push_back(p.scale);
                colZp.push_back(p.zp);
            }
        }
        std::vector<std::vector<float>> noise(chunkThreads());
        st = forChunks(w.rows, std::max<int64_t>(1, 65536 / w.cols), progress, fitUnits, total,
                       "quantize", [&](int64_t r0, int64_t r1, unsigned t) {
            for (int64_t r = r0; r < r1; ++r) quantizeRow(job, r, q, colScale, colZp, noise[t]);
        });
        if (!st) return st.error();
        reportParams(job, q);
    } else {
        q.groupsPerRow = perColumn ? w.cols : job.groupsPerRow;
    }
    q.bytes = storageBytes(scheme, w.rows, w.cols);
    const double weights = double(w.rows) * double(w.cols);
    q.bitsPerWeight = weights > 0 ? double(q.bytes) * 8.0 / weights : 0.0;
    return q;
}

} // namespace qs::quant
