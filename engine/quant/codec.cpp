// What every codec shares: the group grid, stored sizes, result buffers and the storage cost.
#include "codec.h"

#include "codecs/codec_support.h"

#include "core/checked.h"
#include "core/largebuffer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::quant {

int64_t GroupGrid::count() const
{
    switch (granularity) {
    case Granularity::Tensor: return 1;
    case Granularity::Channel: return rows;
    case Granularity::InChannel: return cols;
    case Granularity::Group: return rows * perRow;
    }
    return 1;
}

int64_t GroupGrid::groupOf(int64_t r, int64_t c) const
{
    switch (granularity) {
    case Granularity::Tensor: return 0;
    case Granularity::Channel: return r;
    case Granularity::InChannel: return c;
    case Granularity::Group: return r * perRow + c / width;
    }
    return 0;
}

uint64_t StoredPart::byteSize() const
{
    uint64_t elems = 1;
    for (int64_t d : shape) {
        const auto n = core::checkedMul(elems, uint64_t(d < 0 ? 0 : d));
        if (!n) return std::numeric_limits<uint64_t>::max();
        elems = *n;
    }
    return core::byteSizeFor(dtype, elems).value_or(std::numeric_limits<uint64_t>::max());
}

uint64_t totalBytes(const std::vector<StoredPart>& parts)
{
    uint64_t sum = 0;
    for (const auto& p : parts) {
        const auto s = core::checkedAdd(sum, p.byteSize());
        if (!s) return std::numeric_limits<uint64_t>::max();
        sum = *s;
    }
    return sum;
}

core::Status Codec::checkShape(int64_t rows, int64_t cols) const
{
    if (rows < 0 || cols < 0)
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "quantize '" + m_scheme.spec() + "': negative shape");
    return core::Status::success();
}

std::vector<float> Codec::groupLevels(const Quantized& q, int64_t group) const
{
    // The distinct decoded values of the group's weights.
    std::vector<float> values;
    const GroupGrid& g = q.grid;
    if (group < 0 || group >= g.count() || q.rows() == 0 || q.cols() == 0) return values;
    // A per-row group lies in one row (found without scanning the whole tensor: the workbench
    // asks on every recompute); tensor and per-column groups reach every row.
    int64_t first = 0, last = q.rows();
    if (g.granularity == Granularity::Channel || g.granularity == Granularity::Group) {
        first = g.granularity == Granularity::Channel ? group : group / g.perRow;
        last = std::min(first + 1, q.rows());
    }
    std::vector<float> row(size_t(q.cols()));
    for (int64_t r = first; r < last; ++r) {
        decodeRows(q, r, r + 1, row.data());
        for (int64_t c = 0; c < q.cols(); ++c)
            if (g.groupOf(r, c) == group && std::isfinite(row[size_t(c)])) values.push_back(row[size_t(c)]);
    }
    return detail::sortedUnique(std::move(values));
}

Quantized startResult(const Codec& c, int64_t rows, int64_t cols, Quantized* reuse)
{
    Quantized q;
    if (reuse) {
        q.dequant.data = std::move(reuse->dequant.data);
        q.codes = std::move(reuse->codes);
        *reuse = Quantized{};
    }
    q.scheme = c.scheme();
    q.grid = c.grid(rows, cols);
    q.dequant.rows = rows;
    q.dequant.cols = cols;
    const auto elems = size_t(rows * cols);
    core::resizeLarge(q.dequant.data, elems);
    if (c.scheme().family == Family::Ggml) {
        const auto bytes = core::byteSizeFor(c.scheme().ggmlType, uint64_t(elems)).value_or(0);
        core::resizeLarge(q.codes, size_t(bytes));
    } else {
        core::resizeLarge(q.codes, elems);
    }
    c.resizeParams(q);
    q.clip.resize(size_t(q.grid.count()));
    return q;
}

void setStorageCost(const Codec& c, Quantized& q)
{
    q.bytes = totalBytes(c.layout(q.rows(), q.cols()));
    const double weights = double(q.rows()) * double(q.cols());
    q.bitsPerWeight = weights > 0 ? double(q.bytes) * 8.0 / weights : 0.0;
}

} // namespace qs::quant
