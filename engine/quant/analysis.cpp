// quantizeAndMeasure: the codec's row blocks feed the metric chunks and the error-map cell rows.
// A chunk (65,536 values, compareValues' unit) or a cell row (errorMap's) spans a range of
// matrix rows; each keeps a count of its rows still to be written, and the worker that writes
// its last row measures it with the same function the separate pass uses. With power-of-two
// widths a codec block is exactly one chunk, so a chunk is measured by the thread that just
// wrote it; otherwise a chunk waits at most for its neighbouring block.
#include "analysis.h"

#include "core/checked.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace qs::quant {

namespace {

/// Row ranges [start[k], end(k)) that together cover the rows (neighbours may share a row),
/// each measured once when all its rows are written.
class RowSpans {
public:
    RowSpans(std::vector<int64_t> begin, std::vector<int64_t> end)
        : m_begin(std::move(begin)), m_end(std::move(end)),
          m_left(std::make_unique<std::atomic<int64_t>[]>(m_begin.size()))
    {
        for (size_t k = 0; k < m_begin.size(); ++k) m_left[k].store(m_end[k] - m_begin[k]);
    }

    size_t size() const { return m_begin.size(); }

    /// Rows [r0, r1) are written: measure(k) for every span whose last rows these were.
    template <class F>
    void finished(int64_t r0, int64_t r1, const F& measure)
    {
        // Spans are ordered by begin and by end; the first that ends after r0 may overlap.
        auto k = size_t(std::upper_bound(m_end.begin(), m_end.end(), r0) - m_end.begin());
        for (; k < size() && m_begin[k] < r1; ++k) {
            const int64_t rows = std::min(r1, m_end[k]) - std::max(r0, m_begin[k]);
            if (rows > 0 && m_left[k].fetch_sub(rows, std::memory_order_acq_rel) == rows) measure(k);
        }
    }

    /// Spans not measured (a codec that did not report some rows): measured now.
    template <class F>
    void finishRest(const F& measure)
    {
        for (size_t k = 0; k < size(); ++k)
            if (m_left[k].load(std::memory_order_acquire) > 0) measure(k);
    }

private:
    std::vector<int64_t> m_begin, m_end;
    std::unique_ptr<std::atomic<int64_t>[]> m_left;
};

/// The rows of compareValues' chunks over a rows x cols matrix.
RowSpans chunkSpans(int64_t rows, int64_t cols)
{
    const auto n = uint64_t(rows * cols);
    const uint64_t chunks = (n + kMetricChunk - 1) / kMetricChunk;
    std::vector<int64_t> begin(chunks), end(chunks);
    for (uint64_t c = 0; c < chunks; ++c) {
        const uint64_t v0 = c * kMetricChunk;
        const uint64_t v1 = std::min(n, v0 + kMetricChunk);
        begin[c] = int64_t(v0 / uint64_t(cols));
        end[c] = int64_t((v1 - 1) / uint64_t(cols)) + 1;
    }
    return RowSpans(std::move(begin), std::move(end));
}

/// The rows of errorMap's cell rows.
RowSpans cellRowSpans(int64_t rows, int64_t mapRows)
{
    std::vector<int64_t> begin(static_cast<size_t>(mapRows)), end(static_cast<size_t>(mapRows));
    for (int64_t i = 0; i < mapRows; ++i) {
        begin[size_t(i)] = errorMapEdge(i, rows, mapRows);
        end[size_t(i)] = errorMapEdge(i + 1, rows, mapRows);
    }
    return RowSpans(std::move(begin), std::move(end));
}

} // namespace

core::Result<Measured> quantizeAndMeasure(const Matrix& w, const Scheme& scheme, const RangeOptions& range,
                                          const MeasureOptions& measure, core::Progress* progress, Measured* reuse)
{
    if (measure.gridRows < 1 || measure.gridCols < 1)
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "error map: the grid must be at least 1 x 1, not " + std::to_string(measure.gridRows) +
                                   " x " + std::to_string(measure.gridCols));
    Measured out;
    if (reuse) out.errorMap.data = std::move(reuse->errorMap.data);

    // Spans only for a non-empty matrix that holds its rows x cols values; quantizeRtn
    // reports any other shape as an error.
    const auto values = core::checkedMul(uint64_t(std::max<int64_t>(w.rows, 0)), uint64_t(std::max<int64_t>(w.cols, 0)));
    const bool measurable = w.rows > 0 && w.cols > 0 && values && *values == w.data.size();
    if (measurable)
        std::tie(out.errorMap.rows, out.errorMap.cols) = errorMapGrid(w.rows, w.cols, measure.gridRows, measure.gridCols);
    out.errorMap.data.resize(size_t(out.errorMap.rows * out.errorMap.cols));
    RowSpans chunks = measurable ? chunkSpans(w.rows, w.cols) : RowSpans({}, {});
    RowSpans cells = measurable ? cellRowSpans(w.rows, out.errorMap.rows) : RowSpans({}, {});
    std::vector<MetricSums> sums(chunks.size());
    const auto sumChunk = [&](const Quantized& q, size_t c) {
        const uint64_t v0 = c * kMetricChunk;
        const uint64_t n = std::min<uint64_t>(w.data.size() - v0, kMetricChunk);
        sums[c] = metricChunkSums(w.data.data() + v0, q.dequant.data.data() + v0, n);
    };
    const auto poolCellRow = [&](const Quantized& q, size_t i) {
        errorMapRow(w, q.dequant, int64_t(i), measure.kind, measure.pooling, out.errorMap);
    };
    auto q = quantizeRtn(w, scheme, range, progress, reuse ? &reuse->q : nullptr,
                         [&](const Quantized& part, int64_t r0, int64_t r1) {
        chunks.finished(r0, r1, [&](size_t c) { sumChunk(part, c); });
        cells.finished(r0, r1, [&](size_t i) { poolCellRow(part, i); });
    });
    if (reuse) *reuse = Measured{};
    if (!q) return q.error();
    out.q = std::move(*q);
    chunks.finishRest([&](size_t c) { sumChunk(out.q, c); });
    cells.finishRest([&](size_t i) { poolCellRow(out.q, i); });
    out.metrics = metricsFromChunks(sums);
    return out;
}

} // namespace qs::quant
