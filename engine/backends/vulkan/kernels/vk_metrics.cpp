// errorMetricsOnDevice: compareValues' sums from metric_sums.comp and errorMap's cells from
// error_map.comp, chunked to the device's buffer limit.
#include "vk_metrics.h"

#include "vk_chunking.h"

#include "quant/metrics.h"
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

constexpr uint32_t kWorkgroup = 256;     // local_size_x of both shaders
constexpr uint32_t kPerInvocation = 4;   // pairs per invocation in metric_sums when the grid allows
constexpr uint32_t kSumWords = 8;        // words per workgroup partial of metric_sums

/// The inverse of floatKey in shaders/common/floatkey.glsl.
float fromKey(uint32_t k)
{
    return std::bit_cast<float>((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/// A buffer holding `floats` f32 values, filled from `src`.
core::Result<Buffer> upload(Device& device, const float* src, uint64_t floats, uint64_t capacity)
{
    auto b = device.createBuffer(std::max<uint64_t>(capacity, 1) * 4);
    if (!b) return b.error();
    if (floats) std::memcpy(b->mapped, src, floats * 4);
    return b;
}

/// compareValues' sums, one MetricSums per workgroup (in workgroup order, chunks in order).
core::Result<std::vector<quant::MetricSums>> metricSums(Device& device, const quant::Matrix& w, const quant::Matrix& q,
                                                        uint64_t chunkElems)
{
    std::vector<quant::MetricSums> sums;
    const uint64_t n = w.data.size();
    if (n == 0) return sums;
    auto kernel = device.kernel({"metric_sums", 3, sizeof(shaders::MetricSumsPush)});
    if (!kernel) return kernel.error();
    const uint64_t cap = std::min(n, chunkElems);
    const uint32_t maxGroups = groupsFor(device, cap, uint64_t{kWorkgroup} * kPerInvocation);
    auto wb = upload(device, nullptr, 0, cap), qb = upload(device, nullptr, 0, cap);
    auto partials = device.createBuffer(uint64_t{maxGroups} * kSumWords * 4);
    for (auto* b : {&wb, &qb, &partials})
        if (!*b) return b->error();
    for (uint64_t first = 0; first < n; first += chunkElems) {
        const uint64_t count = std::min(chunkElems, n - first);
        std::memcpy(wb->mapped, w.data.data() + first, count * 4);
        std::memcpy(qb->mapped, q.data.data() + first, count * 4);
        Dispatch d;
        d.kernel = *kernel;
        d.buffers = {&*wb, &*qb, &*partials};
        d.setPush(shaders::MetricSumsPush{uint32_t(count)});
        d.groups[0] = groupsFor(device, count, uint64_t{kWorkgroup} * kPerInvocation);
        if (auto t = device.run(d); !t) return t.error();
        const auto words = partials->as<uint32_t>();
        for (uint32_t g = 0; g < d.groups[0]; ++g) {
            const uint32_t* p = words.data() + size_t(g) * kSumWords;
            quant::MetricSums s;
            s.sumW2 = std::bit_cast<float>(p[0]), s.sumQ2 = std::bit_cast<float>(p[1]);
            s.sumWQ = std::bit_cast<float>(p[2]), s.sumE2 = std::bit_cast<float>(p[3]);
            s.count = p[4];
            // |w - q| = |s| + tMag exactly; in double this is the CPU's rounding of the same value.
            s.maxAbs = s.count ? double(std::bit_cast<float>(p[5])) + double(fromKey(p[6])) : 0.0;
            sums.push_back(s);
        }
    }
    return sums;
}

/// One band of map rows [i0, i1): its weights, the cell edges, the dispatch, the cells.
class MapRun {
public:
    MapRun(Device& device, const quant::Matrix& w, const quant::Matrix& q, const ErrorMapOptions& o, quant::Matrix& map)
        : m_device(device), m_w(w), m_q(q), m_options(o), m_map(map) {}

    core::Status init(uint64_t bandElems, int64_t maxBandCells)
    {
        auto kernel = m_device.kernel({"error_map", 4, sizeof(shaders::ErrorMapPush)});
        if (!kernel) return kernel.error();
        m_kernel = *kernel;
        auto wb = upload(m_device, nullptr, 0, bandElems), qb = upload(m_device, nullptr, 0, bandElems);
        auto edges = m_device.createBuffer(uint64_t(maxBandCells + 1 + m_map.cols + 1) * 4);
        auto cells = m_device.createBuffer(uint64_t(maxBandCells * m_map.cols) * 2 * 4);
        for (auto* b : {&wb, &qb, &edges, &cells})
            if (!*b) return b->error();
        m_wb = std::move(*wb), m_qb = std::move(*qb), m_edges = std::move(*edges), m_cells = std::move(*cells);
        return {};
    }

    core::Status band(int64_t i0, int64_t i1)
    {
        const int64_t rows = m_w.rows, cols = m_w.cols;
        const int64_t r0 = quant::errorMapEdge(i0, rows, m_map.rows), r1 = quant::errorMapEdge(i1, rows, m_map.rows);
        const size_t at = size_t(r0 * cols), count = size_t((r1 - r0) * cols);
        std::memcpy(m_wb.mapped, m_w.data.data() + at, count * 4);
        std::memcpy(m_qb.mapped, m_q.data.data() + at, count * 4);
        auto e = m_edges.as<uint32_t>();
        for (int64_t i = i0; i <= i1; ++i) e[size_t(i - i0)] = uint32_t(quant::errorMapEdge(i, rows, m_map.rows) - r0);
        for (int64_t j = 0; j <= m_map.cols; ++j)
            e[size_t(i1 - i0 + 1 + j)] = uint32_t(quant::errorMapEdge(j, cols, m_map.cols));
        Dispatch d;
        d.kernel = m_kernel;
        d.buffers = {&m_wb, &m_qb, &m_edges, &m_cells};
        d.setPush(shaders::ErrorMapPush{uint32_t(cols), uint32_t(m_map.cols), uint32_t(m_options.kind),
                                        uint32_t(m_options.pooling)});
        d.groups[0] = uint32_t(m_map.cols), d.groups[1] = uint32_t(i1 - i0);
        if (auto t = m_device.run(d); !t) return t.error();
        const auto words = m_cells.as<uint32_t>();
        for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = 0; j < m_map.cols; ++j) {
                const uint32_t* c = words.data() + size_t(((i - i0) * m_map.cols + j) * 2);
                m_map.row(i)[j] = cellValue(c[0], c[1]);
            }
        return {};
    }

private:
    float cellValue(uint32_t value, uint32_t count) const
    {
        if (count == 0) return std::numeric_limits<float>::quiet_NaN();
        if (m_options.pooling == quant::Pooling::Max) return std::bit_cast<float>(value);
        return static_cast<float>(double(std::bit_cast<float>(value)) / double(count));
    }

    Device& m_device;
    const quant::Matrix &m_w, &m_q;
    const ErrorMapOptions& m_options;
    quant::Matrix& m_map;
    const Kernel* m_kernel = nullptr;
    Buffer m_wb, m_qb, m_edges, m_cells;
};

/// errorMap on the device: bands of whole map rows, each within chunkElems weights.
core::Result<quant::Matrix> errorMapOnDevice(Device& device, const quant::Matrix& w, const quant::Matrix& q,
                                             const ErrorMapOptions& o, uint64_t chunkElems)
{
    quant::Matrix map;
    std::tie(map.rows, map.cols) = quant::errorMapGrid(w.rows, w.cols, o.gridRows, o.gridCols);
    map.data.assign(size_t(map.rows * map.cols), 0.0f);
    if (map.rows == 0) return map;
    const uint32_t maxGroups = groupsFor(device, ~uint64_t{0} >> 1, 1);
    if (uint64_t(map.cols) > maxGroups)
        return Error{ErrorCode::Unsupported, "error map: " + std::to_string(map.cols) + " cells per row exceed the device's " +
                                                 std::to_string(maxGroups) + " workgroups"};
    // Bands: as many map rows as fit in a chunk (and in the grid's y limit).
    std::vector<std::pair<int64_t, int64_t>> bands;
    int64_t maxCells = 1;
    uint64_t maxElems = 0;
    for (int64_t i0 = 0; i0 < map.rows;) {
        int64_t i1 = i0;
        auto elems = [&](int64_t end) { return uint64_t(quant::errorMapEdge(end, w.rows, map.rows) - quant::errorMapEdge(i0, w.rows, map.rows)) * uint64_t(w.cols); };
        while (i1 < map.rows && i1 - i0 < int64_t(maxGroups) && elems(i1 + 1) <= chunkElems) ++i1;
        if (i1 == i0)
            return Error{ErrorCode::Unsupported, "error map: one row of cells covers " + std::to_string(elems(i0 + 1)) +
                                                     " weights, more than a device chunk of " + std::to_string(chunkElems) +
                                                     "; ask for more grid rows"};
        bands.emplace_back(i0, i1);
        maxCells = std::max(maxCells, i1 - i0), maxElems = std::max(maxElems, elems(i1));
        i0 = i1;
    }
    MapRun run(device, w, q, o, map);
    if (auto st = run.init(maxElems, maxCells); !st) return st.error();
    for (const auto& [i0, i1] : bands)
        if (auto st = run.band(i0, i1); !st) return st.error();
    return map;
}

} // namespace

core::Result<ErrorReport> errorMetricsOnDevice(Device& device, const quant::Matrix& reference, const quant::Matrix& quantized,
                                               const ErrorMapOptions& options, uint64_t maxChunkBytes)
{
    if (reference.rows != quantized.rows || reference.cols != quantized.cols ||
        reference.data.size() != quantized.data.size() || reference.data.size() != size_t(reference.rows * reference.cols))
        return Error{ErrorCode::InvalidArgument, "error metrics: the matrices differ in shape"};
    if (options.gridRows <= 0 || options.gridCols <= 0)
        return Error{ErrorCode::InvalidArgument, "error metrics: the map grid must be at least 1 x 1"};
    const uint64_t chunkElems = kernelChunkBytes(device, maxChunkBytes) / 4;
    auto sums = metricSums(device, reference, quantized, chunkElems);
    if (!sums) return sums.error();
    uint64_t used = 0;
    for (const auto& s : *sums) used += s.count;
    ErrorReport report;
    report.metrics = quant::metricsFromChunks(*sums, reference.data.size() - used);
    auto map = errorMapOnDevice(device, reference, quantized, options, chunkElems);
    if (!map) return map.error();
    report.map = std::move(*map);
    return report;
}

} // namespace qs::backends::vulkan
