// quantizeOnDevice: the codecs' round-to-nearest quantization with the per-element work and
// the per-group min/max reductions on a Vulkan device (shaders/quantize/), bit for bit
// quant::quantizeRtn. The per-group parameters are fitted on the host by the codec itself:
// under min-max (and percentile) clipping a scale-per-group fit depends only on the group's
// [lo, hi], so quantizing a matrix whose row g is {lo_g, hi_g} with the same format (one group
// a row) gives exactly the scale, zero point and clip the codec would give group g. NF4 double
// quantization likewise runs the codec on the block absmax values (blocks of one). No formula
// of the codecs is written a second time here.
#include "vk_quantize.h"

#include "quant/floatquant.h"
#include "quant/quantize.h"
#include "quant/range.h"

#include "shaders/push_constants.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

namespace qs::backends::vulkan {

namespace {

using quant::ClipRange;
using quant::Family;
using quant::Granularity;
using shaders::QuantizeEncodePush;
using shaders::QuantizeRangePush;

constexpr uint64_t kChunkCap = 256ull << 20; ///< default chunk limit: 256 MiB of weights
constexpr uint32_t kWorkgroup = 64;          ///< local_size_x of every quantize shader
constexpr uint32_t kNoKeyLo = 0xffffffffu;   ///< quantize_keys.glsl: no finite value seen

core::Error unsupported(const std::string& what)
{
    return core::makeError(core::ErrorCode::Unsupported, "not supported by vulkan: " + what);
}

/// Why quantizeOnDevice refuses (scheme, range); nullopt when it handles them.
std::optional<std::string> refusal(const quant::Scheme& s, const quant::RangeOptions& range)
{
    const bool scaled = s.family == Family::Int || s.family == Family::Fp8E4M3 || s.family == Family::Fp8E5M2;
    if (!scaled && s.family != Family::Nf4)
        return "quantizing to '" + s.spec() + "' here (MX, NVFP4 and GGUF blocks have their own kernels)";
    // The NF4 codec has no clipping option (its absmax is the block's); the scaled codecs' MSE
    // search quantizes each group once per candidate ratio with the format's error on the CPU.
    if (scaled && range.method == quant::ClipMethod::Mse)
        return "MSE clipping for '" + s.spec() + "' (use min-max or percentile clipping, or the CPU)";
    return std::nullopt;
}

/// What quantizeRtn checks before it quantizes.
core::Status validate(const quant::Matrix& w, const quant::Codec& codec, const quant::RangeOptions& range)
{
    if (w.rows < 0 || w.cols < 0 || uint64_t(w.rows) * uint64_t(w.cols) != w.data.size())
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "quantize '" + codec.scheme().spec() + "' on vulkan: matrix " + std::to_string(w.rows) +
                                   " x " + std::to_string(w.cols) + " does not match its " +
                                   std::to_string(w.data.size()) + " values");
    if (auto st = codec.checkShape(w.rows, w.cols); !st) return st;
    if (auto st = quant::validateRange(range); !st) return st;
    return quant::clipApplies(codec, range); // NF4 has no clip: refused, as on the CPU
}

/// The float of an order-preserving key (quantize_keys.glsl's qsKey, inverted).
float keyToFloat(uint32_t key)
{
    return std::bit_cast<float>((key & 0x80000000u) != 0 ? key & 0x7fffffffu : ~key);
}

/// The finite min and max keys of one group; lo == kNoKeyLo when none was finite.
struct KeyRange {
    uint32_t lo = kNoKeyLo;
    uint32_t hi = 0;

    void merge(const KeyRange& o)
    {
        lo = std::min(lo, o.lo);
        hi = std::max(hi, o.hi);
    }
    /// [min, max] of the finite values; {0, 0} (what the codecs fit then) when none.
    ClipRange range() const { return lo == kNoKeyLo ? ClipRange{} : ClipRange{keyToFloat(lo), keyToFloat(hi)}; }
};

/// The buffers of one chunk of rows, allocated once for the largest chunk.
struct ChunkBuffers {
    Buffer weights, keys, scales, extra, codes, values;
};

/// Everything one quantizeOnDevice call shares.
struct Job {
    Device& device;
    const quant::Matrix& w;
    quant::Quantized& q;
    core::Progress* progress;
    int64_t chunkRows = 1;
    int64_t chunks = 1;
    uint64_t stepsDone = 0;
    ChunkBuffers buf;
    int64_t loadedChunk = -1; ///< the chunk whose weights the weights buffer holds

    int64_t rowBegin(int64_t chunk) const { return chunk * chunkRows; }
    int64_t rowEnd(int64_t chunk) const { return std::min(w.rows, (chunk + 1) * chunkRows); }
};

/// Parameters a chunk of rows needs per row (keys of the range pass, scales of the encode).
int64_t groupsPerRow(const quant::GroupGrid& g)
{
    return g.granularity == Granularity::Group ? g.perRow : 1;
}

/// Rows per chunk so that no buffer exceeds the limit.
core::Result<int64_t> chunkRowsFor(const Device& device, const quant::Matrix& w, const quant::GroupGrid& g,
                                   const QuantizeOptions& options)
{
    const auto& info = device.info();
    uint64_t limit = options.chunkBytes;
    if (limit == 0) limit = std::min({info.maxStorageBufferRange, info.maxMemoryAllocationSize, kChunkCap});
    const uint64_t rowBytes = std::max(uint64_t(w.cols) * 4, uint64_t(groupsPerRow(g)) * 8);
    // A column-wise group's keys and scales span a whole row of columns.
    const uint64_t columnBytes = g.granularity == Granularity::InChannel ? uint64_t(w.cols) * 8 : 0;
    if (rowBytes > limit || columnBytes > limit)
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "quantize on vulkan: a row of " + std::to_string(w.cols) + " weights needs " +
                                   std::to_string(std::max(rowBytes, columnBytes)) +
                                   " bytes, above the device's buffer limit of " + std::to_string(limit) + " bytes");
    return int64_t(std::min<uint64_t>(uint64_t(w.rows), limit / rowBytes));
}

core::Status allocate(Job& job)
{
    const quant::GroupGrid& g = job.q.grid;
    const uint64_t elems = uint64_t(job.chunkRows) * uint64_t(job.w.cols);
    const uint64_t perChunkGroups = g.granularity == Granularity::InChannel ? uint64_t(job.w.cols)
                                                                            : uint64_t(job.chunkRows * groupsPerRow(g));
    const uint64_t sizes[6] = {elems * 4, perChunkGroups * 8, perChunkGroups * 4, std::max<uint64_t>(perChunkGroups, 16) * 4,
                               (elems + 3) / 4 * 4, elems * 4};
    Buffer* targets[6] = {&job.buf.weights, &job.buf.keys, &job.buf.scales, &job.buf.extra, &job.buf.codes, &job.buf.values};
    for (int i = 0; i < 6; ++i) {
        auto b = job.device.createBuffer(sizes[i]);
        if (!b) return b.error();
        *targets[i] = std::move(*b);
    }
    return core::Status::success();
}

/// Copies the weights of `chunk` into the device buffer (once per chunk and pass).
void loadChunk(Job& job, int64_t chunk)
{
    if (job.loadedChunk == chunk) return;
    const int64_t r0 = job.rowBegin(chunk), r1 = job.rowEnd(chunk);
    std::memcpy(job.buf.weights.mapped, job.w.row(r0), size_t((r1 - r0) * job.w.cols) * sizeof(float));
    job.loadedChunk = chunk;
}

uint32_t workgroupsFor(const Device& device, uint64_t invocations, uint64_t perGroup)
{
    const uint64_t wanted = std::max<uint64_t>(1, (invocations + perGroup - 1) / perGroup);
    return uint32_t(std::min<uint64_t>({wanted, device.info().maxComputeWorkGroupCount[0], 65535}));
}

/// One dispatch, after a cancellation check; reports progress after it.
core::Status dispatch(Job& job, const Dispatch& d)
{
    if (job.progress != nullptr && job.progress->cancelled())
        return core::makeError(core::ErrorCode::Cancelled, "quantize on vulkan: cancelled");
    auto t = job.device.run(d);
    if (!t) return t.error();
    ++job.stepsDone;
    if (job.progress != nullptr && job.progress->report) job.progress->report(job.stepsDone, uint64_t(2 * job.chunks));
    return core::Status::success();
}

/// The finite [lo, hi] keys of every group (the range pass), chunk by chunk on the device.
core::Result<std::vector<KeyRange>> deviceRanges(Job& job)
{
    const quant::GroupGrid& g = job.q.grid;
    const bool columns = g.granularity == Granularity::InChannel;
    auto kernel = job.device.kernel({columns ? "quantize_range_cols" : "quantize_range_rows", 2, sizeof(QuantizeRangePush)});
    if (!kernel) return kernel.error();
    std::vector<KeyRange> out(size_t(g.count()));
    const int64_t perRow = groupsPerRow(g);
    for (int64_t chunk = 0; chunk < job.chunks; ++chunk) {
        const int64_t r0 = job.rowBegin(chunk), rows = job.rowEnd(chunk) - r0;
        loadChunk(job, chunk);
        const uint32_t width = uint32_t(g.granularity == Granularity::Group ? g.width : g.cols);
        const auto segments = uint64_t(columns ? g.cols : rows * perRow);
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&job.buf.weights, &job.buf.keys};
        d.setPush(QuantizeRangePush{uint32_t(rows), uint32_t(g.cols), width, uint32_t(perRow)});
        d.groups[0] = workgroupsFor(job.device, columns ? segments : segments * kWorkgroup, kWorkgroup);
        if (auto st = dispatch(job, d); !st) return st.error();
        const auto keys = job.buf.keys.as<uint32_t>();
        for (uint64_t s = 0; s < segments; ++s) {
            // Tensor: every row's range goes to group 0; otherwise segment s of the chunk is
            // group s (columns) or r0 * perRow + s (rows and row groups).
            const uint64_t group = g.granularity == Granularity::Tensor ? 0 : columns ? s : uint64_t(r0 * perRow) + s;
            out[group].merge(KeyRange{keys[2 * s], keys[2 * s + 1]});
        }
    }
    return out;
}

/// Percentile clip ranges of every group, on the CPU with quant::percentileRange over the
/// group's finite values (as the codec's fit gathers them).
std::vector<ClipRange> percentileRanges(const quant::Matrix& w, const quant::GroupGrid& g, bool symmetric,
                                        double percentile)
{
    std::vector<ClipRange> out(size_t(g.count()));
    std::vector<float> values;
    auto gather = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
        values.clear();
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = c0; c < c1; ++c)
                if (std::isfinite(w.row(r)[c])) values.push_back(w.row(r)[c]);
        return quant::percentileRange(values, percentile, symmetric);
    };
    for (int64_t k = 0; k < g.count(); ++k) {
        switch (g.granularity) {
        case Granularity::Tensor: out[0] = gather(0, w.rows, 0, w.cols); break;
        case Granularity::Channel: out[size_t(k)] = gather(k, k + 1, 0, w.cols); break;
        case Granularity::InChannel: out[size_t(k)] = gather(0, w.rows, k, k + 1); break;
        case Granularity::Group: {
            const int64_t r = k / g.perRow, c0 = (k % g.perRow) * g.width;
            out[size_t(k)] = gather(r, r + 1, c0, std::min(w.cols, c0 + g.width));
            break;
        }
        }
    }
    return out;
}

/// Scale, zero point and clip of every group from its range, by the codec itself (see the
/// file comment): row g of the fitting matrix is {lo_g, hi_g}, one group a row, so that a
/// group-wise scheme keeps its half-precision scales and the others their F32 scales.
core::Status fitScaled(const std::vector<ClipRange>& ranges, quant::Quantized& q)
{
    quant::Scheme s = q.scheme;
    s.rounding = quant::Rounding::NearestEven; // the fit does not round weights
    const bool grouped = s.granularity == Granularity::Group;
    s.granularity = grouped ? Granularity::Group : Granularity::Channel;
    s.groupSize = grouped ? 2 : 0;
    quant::Matrix m{int64_t(ranges.size()), 2, std::vector<float>(ranges.size() * 2)};
    for (size_t g = 0; g < ranges.size(); ++g) {
        m.data[2 * g] = ranges[g].lo;
        m.data[2 * g + 1] = ranges[g].hi;
    }
    auto fit = quant::quantizeRtn(m, s);
    if (!fit) return fit.error();
    q.params = std::move(fit->params);
    q.clip = std::move(fit->clip);
    return core::Status::success();
}

/// NF4: every block's absmax (the largest finite |x|, 0 when none), double-quantized by the
/// codec when the scheme asks (blocks of one weight: each block's absmax is that weight).
core::Status fitNf4(const std::vector<KeyRange>& ranges, quant::Quantized& q)
{
    std::vector<float> absmax(ranges.size());
    for (size_t g = 0; g < ranges.size(); ++g) {
        const ClipRange r = ranges[g].range();
        absmax[g] = std::max(std::fabs(r.lo), std::fabs(r.hi));
    }
    if (q.scheme.doubleQuant && !absmax.empty()) {
        quant::Scheme s = q.scheme;
        s.groupSize = 1;
        auto fit = quant::quantizeRtn(quant::Matrix{1, int64_t(absmax.size()), absmax}, s);
        if (!fit) return fit.error();
        q.params = std::move(fit->params);
    } else {
        std::get<quant::Nf4Params>(q.params).absmax = std::move(absmax);
    }
    const auto& a = std::get<quant::Nf4Params>(q.params).absmax;
    for (size_t g = 0; g < a.size(); ++g) q.clip[g] = {-a[g], a[g]};
    return core::Status::success();
}

/// The push constants of the encode pass that do not change between chunks.
QuantizeEncodePush encodePush(const quant::Quantized& q)
{
    const quant::Scheme& s = q.scheme;
    const quant::GroupGrid& g = q.grid;
    QuantizeEncodePush p{};
    p.cols = uint32_t(g.cols);
    p.groupMode = g.granularity == Granularity::Tensor      ? QS_QUANT_GROUP_TENSOR
                  : g.granularity == Granularity::Channel   ? QS_QUANT_GROUP_CHANNEL
                  : g.granularity == Granularity::InChannel ? QS_QUANT_GROUP_INCHANNEL
                                                            : QS_QUANT_GROUP_BLOCK;
    p.width = uint32_t(g.width);
    p.perRow = uint32_t(g.perRow);
    p.rounding = s.rounding == quant::Rounding::NearestEven ? QS_QUANT_ROUND_EVEN
                 : s.rounding == quant::Rounding::HalfAway  ? QS_QUANT_ROUND_AWAY
                                                            : QS_QUANT_ROUND_STOCHASTIC;
    // The integer code range of intquant.h: symmetric +-(2^(b-1) - 1), asymmetric [0, 2^b - 1].
    p.qmax = s.asymmetric ? float((1 << s.bits) - 1) : float((1 << (s.bits - 1)) - 1);
    p.qmin = s.asymmetric ? 0.0f : -p.qmax;
    p.seedLo = uint32_t(s.seed);
    p.seedHi = uint32_t(s.seed >> 32);
    const quant::MiniFloat& f = s.family == Family::Fp8E5M2 ? quant::kE5M2 : quant::kE4M3;
    p.expBits = uint32_t(f.expBits);
    p.mantBits = uint32_t(f.mantBits);
    p.bias = f.bias;
    p.maxFinite = f.maxFinite;
    p.hasInf = f.hasInf ? 1 : 0;
    p.saturate = s.overflow == quant::Overflow::Saturate || !f.hasNaN ? 1 : 0;
    return p;
}

/// Copies the parameters chunk `chunk` reads into the scale and extra buffers.
void loadParams(Job& job, int64_t chunk)
{
    const quant::Quantized& q = job.q;
    const quant::GroupGrid& g = q.grid;
    const int64_t r0 = job.rowBegin(chunk), rows = job.rowEnd(chunk) - r0;
    int64_t first = 0, count = 1;
    if (g.granularity == Granularity::Channel || g.granularity == Granularity::Group) {
        first = r0 * groupsPerRow(g);
        count = rows * groupsPerRow(g);
    } else if (g.granularity == Granularity::InChannel) {
        count = g.cols;
    }
    auto scales = job.buf.scales.as<float>();
    auto extra = job.buf.extra.as<float>();
    if (const auto* p = std::get_if<quant::ScaledParams>(&q.params)) {
        std::copy_n(p->scale.begin() + first, count, scales.begin());
        for (int64_t i = 0; i < count; ++i)
            extra[size_t(i)] = p->zeroPoint.empty() ? 0.0f : float(p->zeroPoint[size_t(first + i)]);
    } else {
        const auto& nf4 = std::get<quant::Nf4Params>(q.params);
        std::copy_n(nf4.absmax.begin() + first, count, scales.begin());
        std::copy(quant::nf4Levels().begin(), quant::nf4Levels().end(), extra.begin());
    }
}

/// The encode pass: codes and decoded values of every chunk.
core::Status deviceEncode(Job& job)
{
    const Family family = job.q.scheme.family;
    const char* shader = family == Family::Int ? "quantize_encode_int"
                         : family == Family::Nf4 ? "quantize_encode_nf4" : "quantize_encode_fp8";
    auto kernel = job.device.kernel({shader, 5, sizeof(QuantizeEncodePush)});
    if (!kernel) return kernel.error();
    QuantizeEncodePush push = encodePush(job.q);
    for (int64_t chunk = 0; chunk < job.chunks; ++chunk) {
        const int64_t r0 = job.rowBegin(chunk), rows = job.rowEnd(chunk) - r0;
        const auto elems = size_t(rows * job.w.cols);
        loadChunk(job, chunk);
        loadParams(job, chunk);
        push.rows = uint32_t(rows);
        const uint64_t base = uint64_t(r0) * uint64_t(job.w.cols);
        push.baseLo = uint32_t(base);
        push.baseHi = uint32_t(base >> 32);
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&job.buf.weights, &job.buf.scales, &job.buf.extra, &job.buf.codes, &job.buf.values};
        d.setPush(push);
        d.groups[0] = workgroupsFor(job.device, (elems + 3) / 4, kWorkgroup);
        if (auto st = dispatch(job, d); !st) return st;
        std::memcpy(job.q.codes.data() + base, job.buf.codes.mapped, elems);
        std::memcpy(job.q.dequant.data.data() + base, job.buf.values.mapped, elems * sizeof(float));
    }
    return core::Status::success();
}

/// The parameters of every group: ranges on the device (or percentile ranges on the CPU),
/// then the codec's fit.
core::Status fitParams(Job& job, const quant::RangeOptions& range)
{
    const quant::Scheme& s = job.q.scheme;
    if (s.family != Family::Nf4 && range.method == quant::ClipMethod::Percentile) {
        job.stepsDone += uint64_t(job.chunks); // no range pass on the device
        return fitScaled(percentileRanges(job.w, job.q.grid, !s.asymmetric || s.family != Family::Int, range.percentile),
                         job.q);
    }
    auto keys = deviceRanges(job);
    if (!keys) return keys.error();
    if (s.family == Family::Nf4) return fitNf4(*keys, job.q);
    std::vector<ClipRange> ranges(keys->size());
    std::transform(keys->begin(), keys->end(), ranges.begin(), [](const KeyRange& k) { return k.range(); });
    return fitScaled(ranges, job.q);
}

} // namespace

bool quantizeOnDeviceSupports(const quant::Scheme& scheme, const quant::RangeOptions& range)
{
    return !refusal(scheme, range).has_value();
}

core::Result<quant::Quantized> quantizeOnDevice(Device& device, const quant::Matrix& w, const quant::Scheme& scheme,
                                                const quant::RangeOptions& range, core::Progress* progress,
                                                const QuantizeOptions& options)
{
    auto codec = quant::makeCodec(scheme);
    if (!codec) return codec.error();
    if (auto why = refusal(scheme, range)) return unsupported(*why);
    if (auto st = validate(w, **codec, range); !st) return st.error();
    quant::Quantized q = quant::startResult(**codec, w.rows, w.cols, nullptr);
    if (w.rows > 0 && w.cols > 0) {
        auto rows = chunkRowsFor(device, w, q.grid, options);
        if (!rows) return rows.error();
        Job job{device, w, q, progress};
        job.chunkRows = *rows;
        job.chunks = (w.rows + *rows - 1) / *rows;
        if (auto st = allocate(job); !st) return st.error();
        if (auto st = fitParams(job, range); !st) return st.error();
        if (auto st = deviceEncode(job); !st) return st.error();
    }
    quant::setStorageCost(**codec, q);
    return q;
}

} // namespace qs::backends::vulkan
