// statisticsOnDevice: core::computeStats' figures from shaders/stats/tensor_stats.comp, one
// dispatch per chunk, the partials merged on the host.
#include "vk_stats.h"

#include "vk_chunking.h"

#include "core/checked.h"
#include "core/moments.h"
#include "core/dtype.h"
#include "shaders/push_constants.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace qs::backends::vulkan {

namespace {

using core::Error;
using core::ErrorCode;

constexpr uint32_t kWorkgroup = 256;       // local_size_x of tensor_stats.comp
constexpr uint32_t kPerInvocation = 16;    // values per invocation when the grid allows
constexpr uint32_t kPartialWords = 12;     // words per workgroup partial (see the shader)
constexpr uint64_t kMaxChannels = uint64_t{1} << 24; // as core: longer axes get no vector
constexpr uint64_t kMaxStride = uint64_t{1} << 31;   // the shader's channel arithmetic is 32-bit
constexpr uint32_t kFineBins = 65536;

using core::Moments;

/// The inverse of floatKey in shaders/common/floatkey.glsl.
float fromKey(uint32_t k)
{
    return std::bit_cast<float>((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/// What the chunk loop accumulates.
struct Totals {
    Moments moments;
    uint64_t nan = 0, inf = 0, zeros = 0;
    uint32_t minKey = 0xffffffffu, maxKey = 0;
    std::vector<uint64_t> fine = std::vector<uint64_t>(kFineBins, 0);
};

/// One role axis as the shader sees it (dim 0: no vector).
struct Axis {
    uint64_t dim = 0, stride = 0;
};

core::Status checkTensor(const core::TensorInfo& t, uint64_t elems)
{
    if (t.dtype == core::DType::Unsupported)
        return Error{ErrorCode::Unsupported, t.name + ": dtype " + t.typeName + " is not supported for statistics"};
    if (!t.storage) return Error{ErrorCode::InvalidArgument, t.name + ": the tensor has no data"};
    const auto need = core::byteSizeFor(t.dtype, elems);
    if (!core::checkedProduct(t.shape) || !need || *need != t.bytes)
        return Error{ErrorCode::Format, t.storage->origin() + ": tensor '" + t.name + "' has " + std::to_string(t.bytes) +
                                            " bytes, which does not match its dtype " +
                                            std::string(core::dtypeName(t.dtype)) + " and shape"};
    return {};
}

/// The role axis `axis` of t (core's rule: none when absent or longer than 2^24).
core::Result<Axis> roleAxis(const core::TensorInfo& t, int axis)
{
    const auto rank = int(t.shape.size());
    if (axis < 0 || axis >= rank || uint64_t(t.shape[size_t(axis)]) > kMaxChannels) return Axis{};
    Axis a{uint64_t(t.shape[size_t(axis)]), 1};
    for (int i = axis + 1; i < rank; ++i) a.stride *= uint64_t(t.shape[size_t(i)]);
    if (a.stride >= kMaxStride)
        return Error{ErrorCode::Unsupported, t.name + ": per-channel statistics on the device need the stride of axis " +
                                                 std::to_string(axis) + " below 2^31 elements"};
    return a;
}

/// The shader variant and the bytes per value on the device: 16-bit floats go as stored,
/// everything else as f32 (F32 as stored, others converted on the host).
struct Source {
    const char* shader = "tensor_stats_f32";
    uint32_t deviceBytes = 4;
    bool raw = true; ///< the stored bytes go to the device unchanged
};

Source sourceFor(core::DType t)
{
    if (t == core::DType::F16) return {"tensor_stats_f16", 2, true};
    if (t == core::DType::BF16) return {"tensor_stats_bf16", 2, true};
    return {"tensor_stats_f32", 4, t == core::DType::F32};
}

/// Value i of a chunk as uploaded.
float uploadedValue(core::DType t, const std::byte* p, uint64_t i)
{
    if (t == core::DType::F16 || t == core::DType::BF16) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        return t == core::DType::F16 ? core::f16ToF32(h) : core::bf16ToF32(h);
    }
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
}

/// K for a chunk: the mean so far, else the chunk's first finite value, else 0.
float shiftFor(const Totals& totals, core::DType t, const std::byte* p, uint64_t count)
{
    if (totals.moments.n > 0) return static_cast<float>(totals.moments.mean);
    for (uint64_t i = 0; i < count; ++i)
        if (const float v = uploadedValue(t, p, i); std::isfinite(v)) return v;
    return 0.0f;
}

/// The buffers and push constants of one statistics pass.
class StatsRun {
public:
    StatsRun(Device& device, const core::TensorInfo& t, Axis out, Axis in) : m_device(device), m_t(t), m_out(out), m_in(in) {}

    core::Status init(uint64_t chunkElems)
    {
        m_source = sourceFor(m_t.dtype);
        auto kernel = m_device.kernel({m_source.shader, 4, sizeof(shaders::TensorStatsPush)});
        if (!kernel) return kernel.error();
        m_kernel = *kernel;
        const uint32_t groups = groupsFor(m_device, chunkElems, uint64_t{kWorkgroup} * kPerInvocation);
        auto src = m_device.createBuffer((chunkElems * m_source.deviceBytes + 3) / 4 * 4);
        auto partials = m_device.createBuffer(uint64_t{groups} * kPartialWords * 4);
        auto fine = m_device.createBuffer(kFineBins * 4);
        auto channels = m_device.createBuffer(std::max<uint64_t>(1, m_out.dim + m_in.dim) * 4);
        for (auto* b : {&src, &partials, &fine, &channels})
            if (!*b) return b->error();
        m_src = std::move(*src), m_partials = std::move(*partials), m_fine = std::move(*fine);
        m_channels = std::move(*channels);
        std::ranges::fill(m_channels.as<uint32_t>(), 0u);
        if (!m_source.raw) m_staging.resize(chunkElems / core::dtypeInfo(m_t.dtype).blockElems * core::dtypeInfo(m_t.dtype).blockBytes);
        return {};
    }

    /// Reads the next `count` values (the tensor's values [first, first + count)) from the
    /// stream into the device buffer, runs the shader and merges its partials into `totals`.
    core::Status chunk(core::ByteStream& stream, uint64_t first, uint64_t count, Totals& totals)
    {
        const auto& info = core::dtypeInfo(m_t.dtype);
        const uint64_t bytes = count / info.blockElems * info.blockBytes;
        std::span<std::byte> target = m_source.raw ? std::span<std::byte>(m_src.mapped, bytes) : std::span<std::byte>(m_staging).first(bytes);
        auto got = stream.read(target);
        if (!got) return got.error();
        if (*got != bytes)
            return Error{ErrorCode::Truncated, m_t.storage->origin() + ": tensor '" + m_t.name + "' data ends early"};
        if (!m_source.raw && !core::convertToF32(m_t.dtype, target.data(), count, m_src.as<float>().data()))
            return Error{ErrorCode::Unsupported, m_t.name + ": cannot convert " + std::string(info.name) + " to f32"};
        const float shift = shiftFor(totals, m_source.deviceBytes == 2 ? m_t.dtype : core::DType::F32, m_src.mapped, count);
        const uint32_t groups = groupsFor(m_device, count, uint64_t{kWorkgroup} * kPerInvocation);
        float scale = 1.0f;
        if (auto st = dispatch(first, count, shift, scale, groups); !st) return st;
        if (overflowed(groups)) { // |x - K| too large for f32 fourth powers: again, scaled
            scale = scaleFor(groups, shift);
            if (auto st = dispatch(first, count, shift, scale, groups); !st) return st;
        }
        mergePartials(groups, shift, scale, totals);
        const auto fine = m_fine.as<uint32_t>();
        for (uint32_t k = 0; k < kFineBins; ++k) totals.fine[k] += fine[k];
        return {};
    }

    /// The per-channel maxima (|x| bits, exact) of the out and in axes.
    void channels(std::vector<float>& out, std::vector<float>& in) const
    {
        const auto words = m_channels.as<uint32_t>();
        out.resize(m_out.dim), in.resize(m_in.dim);
        for (uint64_t i = 0; i < m_out.dim; ++i) out[i] = std::bit_cast<float>(words[i]);
        for (uint64_t i = 0; i < m_in.dim; ++i) in[i] = std::bit_cast<float>(words[m_out.dim + i]);
    }

private:
    /// One run of the shader over the chunk in the source buffer (the fine counters zeroed
    /// first; the channel maxima only grow, so a second run leaves them right).
    core::Status dispatch(uint64_t first, uint64_t count, float shift, float scale, uint32_t groups)
    {
        std::ranges::fill(m_fine.as<uint32_t>(), 0u);
        Dispatch d;
        d.kernel = m_kernel;
        d.buffers = {&m_src, &m_partials, &m_fine, &m_channels};
        d.setPush(push(first, count, shift, scale));
        d.groups[0] = groups;
        if (auto t = m_device.run(d); !t) return t.error();
        return {};
    }

    /// True when a workgroup's f32 moments overflowed.
    bool overflowed(uint32_t groups) const
    {
        const auto w = m_partials.as<uint32_t>();
        for (uint32_t g = 0; g < groups; ++g)
            for (uint32_t k = 1; k <= 4; ++k)
                if (!std::isfinite(std::bit_cast<float>(w[size_t(g) * kPartialWords + k]))) return true;
        return false;
    }

    /// A power of two S with |x - K| S < 2^16 over the chunk (its exact min and max are known).
    float scaleFor(uint32_t groups, float shift) const
    {
        const auto w = m_partials.as<uint32_t>();
        double span = 1;
        for (uint32_t g = 0; g < groups; ++g) {
            const uint32_t* p = w.data() + size_t(g) * kPartialWords;
            if (p[0] == 0) continue;
            span = std::max({span, std::abs(double(fromKey(p[8])) - shift), std::abs(double(fromKey(p[9])) - shift)});
        }
        return float(std::ldexp(1.0, 15 - std::ilogb(span)));
    }

    shaders::TensorStatsPush push(uint64_t first, uint64_t count, float shift, float scale) const
    {
        shaders::TensorStatsPush p{};
        p.count = uint32_t(count);
        p.shift = shift * scale;
        p.scale = scale;
        auto place = [&](const Axis& a, uint32_t& dim, uint32_t& f, uint32_t& off, uint32_t& stride) {
            dim = uint32_t(a.dim), stride = uint32_t(std::max<uint64_t>(a.stride, 1));
            f = a.dim ? uint32_t((first / a.stride) % a.dim) : 0, off = a.dim ? uint32_t(first % a.stride) : 0;
        };
        place(m_out, p.outDim, p.outFirst, p.outOffset, p.outStride);
        place(m_in, p.inDim, p.inFirst, p.inOffset, p.inStride);
        return p;
    }

    /// Merges the workgroups' moments of y = x S - K S, taken back to x: mean = K' + mean_y / S,
    /// M_p = M_p(y) / S^p, with K' = (K S) / S, the shift the device really subtracted.
    void mergePartials(uint32_t groups, float shift, float scale, Totals& totals) const
    {
        const auto w = m_partials.as<uint32_t>();
        const double s = scale, k = double(shift * scale) / s;
        for (uint32_t g = 0; g < groups; ++g) {
            const uint32_t* p = w.data() + size_t(g) * kPartialWords;
            Moments m;
            m.n = double(p[0]);
            m.mean = k + double(std::bit_cast<float>(p[1])) / s;
            m.m2 = double(std::bit_cast<float>(p[2])) / (s * s);
            m.m3 = double(std::bit_cast<float>(p[3])) / (s * s * s);
            m.m4 = double(std::bit_cast<float>(p[4])) / (s * s * s * s);
            totals.moments.merge(m);
            totals.nan += p[5], totals.inf += p[6], totals.zeros += p[7];
            totals.minKey = std::min(totals.minKey, p[8]), totals.maxKey = std::max(totals.maxKey, p[9]);
        }
    }

    Device& m_device;
    const core::TensorInfo& m_t;
    Axis m_out, m_in;
    Source m_source;
    const Kernel* m_kernel = nullptr;
    Buffer m_src, m_partials, m_fine, m_channels;
    std::vector<std::byte> m_staging;
};

/// TensorStats from the totals, with core's definitions (core/stats.h).
core::TensorStats assemble(const Totals& totals, uint64_t count, const core::StatsOptions& options)
{
    core::TensorStats r;
    r.count = count, r.nan = totals.nan, r.inf = totals.inf, r.zeros = totals.zeros;
    r.fine.counts = totals.fine;
    for (uint32_t k = 0; k < kFineBins; ++k) // the fine histogram holds finite values only
        if ((k & 0x7f80u) == 0x7f80u) r.fine.counts[k] = 0;
    const Moments& m = totals.moments;
    if (m.n > 0) {
        r.min = fromKey(totals.minKey), r.max = fromKey(totals.maxKey);
        r.absmax = std::max(std::abs(r.min), std::abs(r.max));
        r.mean = m.mean;
        const double var = std::max(0.0, m.m2) / m.n;
        r.std = std::sqrt(var);
        r.kurtosis = var > 0 ? (m.m4 / m.n) / (var * var) - 3.0 : std::numeric_limits<double>::quiet_NaN();
    } else {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        r.min = r.max = r.mean = r.std = r.kurtosis = nan;
        r.absmax = 0;
    }
    const bool any = m.n > 0;
    r.histogram = r.fine.rebin(options.bins, options.scale, any ? r.min : 0, any ? r.max : 0);
    return r;
}

} // namespace

core::Result<core::TensorStats> statisticsOnDevice(Device& device, const core::TensorInfo& t,
                                                   const core::StatsOptions& options, core::Progress* progress,
                                                   uint64_t maxChunkBytes)
{
    const uint64_t n = t.elementCount();
    if (auto st = checkTensor(t, n); !st) return st.error();
    Totals totals;
    if (n == 0) {
        if (progress && progress->report) progress->report(1, 1);
        return assemble(totals, 0, options);
    }
    auto out = roleAxis(t, t.outAxis);
    if (!out) return out.error();
    auto in = roleAxis(t, t.inAxis);
    if (!in) return in.error();
    // Whole 256-value units: every GGUF block size divides 256, and 16-bit pairs stay whole.
    const uint64_t chunkElems = std::max<uint64_t>(256, kernelChunkBytes(device, maxChunkBytes) / 4 / 256 * 256);
    StatsRun run(device, t, *out, *in);
    if (auto st = run.init(std::min(n, chunkElems)); !st) return st.error();
    auto stream = t.storage->openStream(t.offset);
    if (!stream) return stream.error();
    const uint64_t chunks = (n + chunkElems - 1) / chunkElems;
    for (uint64_t c = 0; c < chunks; ++c) {
        if (progress && progress->cancelled()) return Error{ErrorCode::Cancelled, t.name + ": statistics cancelled"};
        const uint64_t first = c * chunkElems;
        if (auto st = run.chunk(**stream, first, std::min(chunkElems, n - first), totals); !st) return st.error();
        if (progress && progress->report) progress->report(c + 1, chunks);
    }
    if (auto st = (*stream)->finish(); !st) return st.error();
    core::TensorStats r = assemble(totals, n, options);
    run.channels(r.outChannelAbsmax, r.inChannelAbsmax);
    return r;
}

} // namespace qs::backends::vulkan
