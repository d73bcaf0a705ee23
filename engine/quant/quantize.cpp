// quantizeRtn: validates the request and runs the scheme's codec; storageBytes: its layout.
#include "quantize.h"

#include "range.h"

#include "core/checked.h"

#include <limits>
#include <string>

namespace qs::quant {

namespace {

core::Status validate(const Matrix& w, const Scheme& scheme, const Codec& codec, const RangeOptions& range)
{
    const auto elems = core::checkedMul(uint64_t(std::max<int64_t>(w.rows, 0)), uint64_t(std::max<int64_t>(w.cols, 0)));
    if (w.rows < 0 || w.cols < 0 || !elems || *elems != w.data.size()) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "quantize '" + scheme.spec() + "': matrix " + std::to_string(w.rows) + " x " +
                                   std::to_string(w.cols) + " does not match its " + std::to_string(w.data.size()) +
                                   " values");
    }
    if (auto st = codec.checkShape(w.rows, w.cols); !st) return st;
    if (auto st = validateRange(range); !st) return st;
    return clipApplies(codec, range);
}

} // namespace

core::Status clipApplies(const Codec& codec, const RangeOptions& range)
{
    if (range.method == ClipMethod::MinMax || codec.clips()) return {};
    const std::string clip = range.method == ClipMethod::Mse ? "mse" : "percentile";
    return core::makeError(core::ErrorCode::InvalidArgument,
                           "quantize '" + codec.scheme().spec() + "': clipping '" + clip +
                               "' does not apply to this format (its scales come from each block's absmax); "
                               "use minmax");
}

core::Status checkClip(const Scheme& scheme, const RangeOptions& range)
{
    auto codec = makeCodec(scheme);
    if (!codec) return codec.error();
    return clipApplies(**codec, range);
}

core::Result<Quantized> quantizeRtn(const Matrix& w, const Scheme& scheme, const RangeOptions& range,
                                    core::Progress* progress, Quantized* reuse, const FinishedRows& rowsDone)
{
    auto codec = makeCodec(scheme);
    if (!codec) return codec.error();
    if (auto st = validate(w, scheme, **codec, range); !st) return st.error();
    Quantized q = startResult(**codec, w.rows, w.cols, reuse);
    RowsDone blockDone;
    if (rowsDone) blockDone = [&](int64_t r0, int64_t r1) { rowsDone(q, r0, r1); };
    if (auto st = (*codec)->quantize(w, range, q, progress, blockDone); !st) return st.error();
    setStorageCost(**codec, q);
    return q;
}

uint64_t storageBytes(const Scheme& scheme, int64_t rows, int64_t cols)
{
    auto codec = makeCodec(scheme);
    if (!codec) return std::numeric_limits<uint64_t>::max();
    if (rows < 0 || cols < 0) return 0;
    return totalBytes((*codec)->layout(rows, cols));
}

Matrix decodeCodes(const Codec& codec, const Quantized& q)
{
    Matrix m;
    m.rows = q.rows();
    m.cols = q.cols();
    m.data.resize(size_t(m.rows * m.cols));
    if (m.rows > 0 && m.cols > 0) codec.decodeRows(q, 0, m.rows, m.data.data());
    return m;
}

} // namespace qs::quant
