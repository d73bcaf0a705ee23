// quantizeRtn: validates the request and dispatches to the format's quantizer; storageBytes:
// the storage convention documented in quantize.h.
#include "quantize.h"

#include "floatquant.h"
#include "ggml_quant.h"
#include "intquant.h"
#include "range.h"

#include "core/checked.h"
#include "core/dtype.h"
#include "core/largebuffer.h"

#include <limits>
#include <string>

namespace qs::quant {

namespace {

core::Status validate(const Matrix& w, const Scheme& scheme, const RangeOptions& range)
{
    auto bad = [&](const std::string& why) {
        return core::makeError(core::ErrorCode::InvalidArgument,
                               "quantize '" + scheme.spec() + "': " + why);
    };
    const auto elems = core::checkedMul(uint64_t(std::max<int64_t>(w.rows, 0)),
                                        uint64_t(std::max<int64_t>(w.cols, 0)));
    if (w.rows < 0 || w.cols < 0 || !elems || *elems != w.data.size()) {
        return bad("matrix " + std::to_string(w.rows) + " x " + std::to_string(w.cols) +
                   " does not match its " + std::to_string(w.data.size()) + " values");
    }
    if (scheme.family == Family::Int && (scheme.bits < 2 || scheme.bits > 8))
        return bad("int bits " + std::to_string(scheme.bits) + " outside 2..8");
    const bool grouped = scheme.granularity == Granularity::Group ||
                         scheme.family == Family::Nf4;
    if (grouped && scheme.family != Family::MxFp4 && scheme.family != Family::MxFp8 &&
        scheme.family != Family::NvFp4 && scheme.family != Family::Ggml &&
        (scheme.groupSize < 1 || scheme.groupSize > (1 << 20))) {
        return bad("group size " + std::to_string(scheme.groupSize) + " outside 1..1048576");
    }
    return validateRange(range);
}

/// Bits of one scale group's metadata for the scale-per-group formats.
uint64_t groupMetaBits(const Scheme& s)
{
    if (s.family != Family::Int) return 32; // FP8: an F32 scale
    const uint64_t scale = s.granularity == Granularity::Group ? 16 : 32;
    return scale + (s.asymmetric ? uint64_t(s.bits) : 0);
}

uint64_t ceilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

} // namespace

uint64_t storageBytes(const Scheme& scheme, int64_t rows, int64_t cols)
{
    if (rows <= 0 || cols <= 0) return 0;
    const auto r = uint64_t(rows);
    const auto c = uint64_t(cols);
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    const auto n = core::checkedMul(r, c);
    if (!n) return kMax;
    if (scheme.family == Family::Ggml) return core::byteSizeFor(scheme.ggmlType, *n).value_or(0);

    // bits = payload + groups * per-group bits + per-tensor bits, all overflow-checked.
    uint64_t elemBits = uint64_t(scheme.bits);
    uint64_t groups = 0;
    uint64_t groupBits = 0;
    uint64_t tensorBits = 0;
    switch (scheme.family) {
    case Family::Int:
    case Family::Fp8E4M3:
    case Family::Fp8E5M2:
        groupBits = groupMetaBits(scheme);
        switch (scheme.granularity) {
        case Granularity::Tensor: groups = 1; break;
        case Granularity::Channel: groups = r; break;
        case Granularity::InChannel: groups = c; break;
        case Granularity::Group:
            groups = r * ceilDiv(c, uint64_t(std::max(scheme.groupSize, 1)));
            break;
        }
        break;
    case Family::MxFp4:
    case Family::MxFp8:
        elemBits = scheme.family == Family::MxFp4 ? 4 : 8;
        groups = r * ceilDiv(c, 32);
        groupBits = 8; // E8M0
        break;
    case Family::NvFp4:
        elemBits = 4;
        groups = r * ceilDiv(c, 16);
        groupBits = 8;   // E4M3 block scale
        tensorBits = 32; // F32 tensor scale
        break;
    case Family::Nf4: {
        elemBits = 4;
        groups = r * ceilDiv(c, uint64_t(scheme.groupSize > 0 ? scheme.groupSize : 64));
        groupBits = scheme.doubleQuant ? 8 : 32;
        if (scheme.doubleQuant) tensorBits = 32 * ceilDiv(groups, 256) + 32;
        break;
    }
    case Family::Ggml: break;
    }
    const auto payload = core::checkedMul(*n, elemBits);
    const auto meta = core::checkedMul(groups, groupBits);
    if (!payload || !meta) return kMax;
    const auto bits = core::checkedAdd(*payload, *meta);
    const auto all = bits ? core::checkedAdd(*bits, tensorBits) : std::nullopt;
    return all ? ceilDiv(*all, 8) : kMax;
}

Quantized startResult(const Matrix& w, Quantized* reuse)
{
    Quantized q;
    if (reuse) {
        q.dequant.data = std::move(reuse->dequant.data);
        q.packed = std::move(reuse->packed);
        *reuse = Quantized{};
        q.packed.clear();
    }
    q.dequant.rows = w.rows;
    q.dequant.cols = w.cols;
    core::resizeLarge(q.dequant.data, w.data.size());
    return q;
}

core::Result<Quantized> quantizeRtn(const Matrix& w, const Scheme& scheme,
                                    const RangeOptions& range, core::Progress* progress,
                                    Quantized* reuse)
{
    if (auto st = validate(w, scheme, range); !st) return st.error();
    switch (scheme.family) {
    case Family::Int:
    case Family::Fp8E4M3:
    case Family::Fp8E5M2: return quantizeScaled(w, scheme, range, progress, reuse);
    case Family::MxFp4:
    case Family::MxFp8: return quantizeMx(w, scheme, progress, reuse);
    case Family::NvFp4: return quantizeNvFp4(w, scheme, progress, reuse);
    case Family::Nf4: return quantizeNf4(w, scheme, progress, reuse);
    case Family::Ggml: return quantizeGgml(w, scheme.ggmlType, progress, reuse);
    }
    return core::makeError(core::ErrorCode::InvalidArgument, "quantize: unknown scheme family");
}

} // namespace qs::quant
