#include "gptq.h"

#include "core/largebuffer.h"
#include "core/parallel.h"
#include "floatquant.h"
#include "rounding.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>

namespace qs::quant {

namespace {

using core::ErrorCode;
using core::makeError;

constexpr int64_t kLinAlgBlock = 128;

core::Error notPositiveDefinite(int64_t index, double pivot)
{
    return makeError(ErrorCode::InvalidArgument,
                     "GPTQ: the damped Hessian is not positive definite (pivot " +
                         std::to_string(index) + " is " + std::to_string(pivot) +
                         "); raise the damping");
}

/// Unblocked Cholesky of the kb x kb diagonal block at a (row stride n), in double.
core::Status choleskyDiagonalBlock(float* a, int64_t n, int64_t kb, int64_t offset)
{
    std::vector<double> l(size_t(kb * kb), 0.0);
    for (int64_t j = 0; j < kb; ++j) {
        double d = a[j * n + j];
        for (int64_t p = 0; p < j; ++p)
            d -= l[j * kb + p] * l[j * kb + p];
        if (!(d > 0.0) || !std::isfinite(d)) return notPositiveDefinite(offset + j, d);
        const double root = std::sqrt(d);
        l[j * kb + j] = root;
        for (int64_t i = j + 1; i < kb; ++i) {
            double s = a[i * n + j];
            for (int64_t p = 0; p < j; ++p)
                s -= l[i * kb + p] * l[j * kb + p];
            l[i * kb + j] = s / root;
        }
    }
    for (int64_t i = 0; i < kb; ++i) {
        for (int64_t j = 0; j < kb; ++j)
            a[i * n + j] = j <= i ? float(l[i * kb + j]) : 0.0f;
    }
    return core::Status::success();
}

/// Inverse of the kb x kb lower triangular block at l (row stride n), in double, written to
/// out (row stride kb).
void invertLowerBlock(const float* l, int64_t n, int64_t kb, std::vector<float>& out)
{
    std::vector<double> x(size_t(kb * kb), 0.0);
    for (int64_t j = 0; j < kb; ++j) {
        x[j * kb + j] = 1.0 / l[j * n + j];
        for (int64_t i = j + 1; i < kb; ++i) {
            double s = 0.0;
            for (int64_t p = j; p < i; ++p)
                s += double(l[i * n + p]) * x[p * kb + j];
            x[i * kb + j] = -s / l[i * n + i];
        }
    }
    out.assign(x.begin(), x.end());
}

/// Right-looking blocked Cholesky a = L L^T in place (lower triangle; the upper is zeroed).
/// Each panel is solved with the diagonal block's inverse; the trailing update, which holds
/// almost all of the n^3/3 flops, is one sgemm per block column of the lower triangle.
core::Status choleskyLower(float* a, int64_t n, const core::Gemm& gemm)
{
    std::vector<float> inv, panel;
    for (int64_t k = 0; k < n; k += kLinAlgBlock) {
        const int64_t kb = std::min(kLinAlgBlock, n - k);
        float* diag = a + k * n + k;
        auto st = choleskyDiagonalBlock(diag, n, kb, k);
        if (!st) return st;
        const int64_t below = n - k - kb;
        if (below == 0) break;
        // L21 L11^T = A21, so L21 = A21 L11^-T: one sgemm against the small inverse.
        invertLowerBlock(diag, n, kb, inv);
        float* a21 = a + (k + kb) * n + k;
        panel.assign(size_t(below * kb), 0.0f);
        st = gemm.sgemm(false, true, below, kb, kb, 1.0f, a21, n, inv.data(), kb, 0.0f,
                        panel.data(), kb);
        if (!st) return st;
        for (int64_t r = 0; r < below; ++r)
            std::copy_n(panel.data() + r * kb, kb, a21 + r * n);
        for (int64_t j = 0; j < below; j += kLinAlgBlock) {
            const int64_t jb = std::min(kLinAlgBlock, below - j);
            float* c = a + (k + kb + j) * n + (k + kb + j);
            const float* l = panel.data() + j * kb;
            st = gemm.sgemm(false, true, below - j, jb, kb, -1.0f, l, kb, l, kb, 1.0f, c, n);
            if (!st) return st;
        }
    }
    for (int64_t i = 0; i < n; ++i)
        std::fill(a + i * n + i + 1, a + (i + 1) * n, 0.0f);
    return core::Status::success();
}

/// L^-1 in place for a lower triangular L with a zero upper triangle. Block row i of the
/// inverse is -X_ii (L[i, :i] X[:i, :i]); the rows above already hold X, so sgemms over the
/// lower triangle do the work.
core::Status invertLower(float* a, int64_t n, const core::Gemm& gemm)
{
    std::vector<float> xii, t;
    for (int64_t i = 0; i < n; i += kLinAlgBlock) {
        const int64_t ib = std::min(kLinAlgBlock, n - i);
        invertLowerBlock(a + i * n + i, n, ib, xii);
        if (i > 0) {
            t.assign(size_t(ib * i), 0.0f);
            // Block column j of L[i, :i] X[:i, :i] only meets rows k >= j of X (X is lower).
            for (int64_t j = 0; j < i; j += kLinAlgBlock) {
                const int64_t jb = std::min(kLinAlgBlock, i - j);
                auto st = gemm.sgemm(false, false, ib, jb, i - j, 1.0f, a + i * n + j, n, a + j * n + j,
                                n, 0.0f, t.data() + j, i);
                if (!st) return st;
            }
            auto st = gemm.sgemm(false, false, ib, i, ib, -1.0f, xii.data(), ib, t.data(), i, 0.0f,
                            a + i * n, n);
            if (!st) return st;
        }
        for (int64_t r = 0; r < ib; ++r) {
            std::copy_n(xii.data() + r * ib, ib, a + (i + r) * n + i);
        }
    }
    return core::Status::success();
}

} // namespace

namespace {

/// Quantize-dequantize of single weights with fixed per-(row, group) parameters, the operation
/// GPTQ needs column by column, with the element formulas of intquant.h and floatquant.h:
/// Int q = clamp(round(w / s) + z, qmin, qmax), w' = (q - z) s (symmetric: qmin = -qmax);
/// FP8 w' = roundToMiniFloat(w / s) s (saturating); NF4 w' = level[nf4Index(w / a)] a.
class ColumnQuantizer {
public:
    static core::Result<ColumnQuantizer> create(const Scheme& scheme)
    {
        ColumnQuantizer q;
        q.m_scheme = scheme;
        const bool perRowScale =
            scheme.granularity == Granularity::Tensor || scheme.granularity == Granularity::Channel;
        switch (scheme.family) {
        case Family::Int:
            if (scheme.granularity == Granularity::InChannel) break;
            q.m_qmax = scheme.asymmetric ? float((1 << scheme.bits) - 1)
                                         : float((1 << (scheme.bits - 1)) - 1);
            q.m_qmin = scheme.asymmetric ? 0.0f : -q.m_qmax;
            return q;
        case Family::Nf4:
            if (scheme.doubleQuant) break;
            return q;
        case Family::Fp8E4M3:
        case Family::Fp8E5M2:
            if (!perRowScale) break;
            return q;
        default:
            break;
        }
        return makeError(ErrorCode::Unsupported,
                         "GPTQ does not support scheme '" + scheme.spec() +
                             "'; use int (tensor, channel or group), nf4 without dq, or fp8 "
                             "per tensor or channel");
    }

    bool isInt() const { return m_scheme.family == Family::Int; }
    bool grouped() const
    {
        return m_scheme.granularity == Granularity::Group || m_scheme.family == Family::Nf4;
    }
    int64_t groupSize(int64_t cols) const
    {
        return grouped() && m_scheme.groupSize > 0 ? m_scheme.groupSize : cols;
    }

    /// Scale and zero point of every row from a quantizeRtn result over one group's columns
    /// (or the whole matrix), as `rows` entries; a per-tensor result is broadcast. NF4's scale
    /// is the block absmax, which quantizeRtn reports as the clip.
    core::Status paramsFrom(const Quantized& rtn, int64_t rows, std::vector<float>& scale,
                            std::vector<float>& zero) const
    {
        const std::vector<float>& src = m_scheme.family == Family::Nf4 ? rtn.clip : rtn.scales;
        const bool broadcast = src.size() == 1;
        if (!broadcast && int64_t(src.size()) != rows) {
            return makeError(ErrorCode::Unsupported,
                             "GPTQ: scheme '" + m_scheme.spec() + "' reported " +
                                 std::to_string(src.size()) + " scales for " +
                                 std::to_string(rows) + " rows of a group");
        }
        scale.resize(size_t(rows));
        zero.assign(size_t(rows), 0.0f);
        for (int64_t r = 0; r < rows; ++r) {
            scale[r] = src[broadcast ? 0 : r];
            if (isInt() && m_scheme.asymmetric && !rtn.zeroPoints.empty()) {
                zero[r] = float(rtn.zeroPoints[broadcast ? 0 : r]);
            }
        }
        return core::Status::success();
    }

    float quantize(float w, float scale, float zero, uint64_t position) const
    {
        switch (m_scheme.family) {
        case Family::Nf4:
            if (!(scale > 0.0f)) return 0.0f;
            return nf4Levels()[size_t(nf4Index(w / scale))] * scale;
        case Family::Fp8E4M3:
            return roundToMiniFloat(w / scale, kE4M3, Overflow::Saturate) * scale;
        case Family::Fp8E5M2:
            return roundToMiniFloat(w / scale, kE5M2, Overflow::Saturate) * scale;
        default:
            break;
        }
        const float v = std::clamp(w / scale, -kRoundLimit, kRoundLimit);
        const float q = std::clamp(roundValue(v, position) + zero, m_qmin, m_qmax);
        return (q - zero) * scale;
    }

private:
    /// Beyond 2^22 every float is an integer; the clamp keeps the magic-number rounding exact.
    static constexpr float kRoundLimit = 4194304.0f;

    float roundValue(float v, uint64_t position) const
    {
        switch (m_scheme.rounding) {
        case Rounding::HalfAway:
            return roundHalfAway(v);
        case Rounding::Stochastic: {
            // A hash of (seed, position) so the result does not depend on thread scheduling.
            uint64_t z = m_scheme.seed + 0x9E3779B97F4A7C15ull * (position + 1);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            return floorSmall(v + float(double(z >> 40) * (1.0 / 16777216.0)));
        }
        case Rounding::NearestEven:
        default:
            return roundHalfEven(v);
        }
    }

    Scheme m_scheme;
    float m_qmin = 0.0f;
    float m_qmax = 0.0f;
};

/// Per-group quantizer parameters (one group for tensor/channel schemes), fitted through
/// quantizeRtn on the group's columns so that ranges and clipping are exactly the scheme's.
struct GroupParams {
    std::vector<std::vector<float>> scale, zero, clip; ///< [group][row] (clip: [row * perRow])
    Quantized whole; ///< the whole-matrix fit of a non-grouped scheme, for its reported fields
};

struct GptqRun {
    const Scheme& scheme;
    const MethodOptions& options;
    const ColumnQuantizer& quantizer;
    core::Progress* progress;
    Matrix w;                  ///< working weights, columns in processing order
    Matrix q;                  ///< dequantized result, processing order
    std::vector<float> hinv;   ///< upper Cholesky factor of H^-1, processing order
    std::vector<int64_t> perm; ///< processing position -> original column
    GroupParams params;
    int64_t groupSize = 0;
    bool staticGroups = false;

    int64_t groupOf(int64_t j) const { return perm[size_t(j)] / groupSize; }
};

/// Fits the group that starts at original column `start` on the current weights in `m`
/// (original column order).
core::Status fitGroup(GptqRun& run, const Matrix& m, int64_t start, int64_t width)
{
    Matrix slice;
    slice.rows = m.rows;
    slice.cols = width;
    slice.data.resize(size_t(m.rows * width));
    for (int64_t r = 0; r < m.rows; ++r)
        std::copy_n(m.row(r) + start, width, slice.row(r));
    auto rtn = quantizeRtn(slice, run.scheme, run.options.range);
    if (!rtn) return rtn.error();
    const int64_t g = start / run.groupSize;
    auto st = run.quantizer.paramsFrom(*rtn, m.rows, run.params.scale[g], run.params.zero[g]);
    if (!st) return st;
    run.params.clip[g] = rtn->clip;
    return core::Status::success();
}

/// Quantizes working columns [s, e) of the block [i1, i2) row by row: rows are independent
/// within a block because every quantizer parameter is per row (or fixed for the tensor).
void quantizeSegment(GptqRun& run, int64_t i1, int64_t i2, int64_t s, int64_t e,
                     std::vector<float>& err)
{
    const int64_t cols = run.w.cols;
    const int64_t count = i2 - i1;
    constexpr int64_t rowsPerChunk = 16;
    const uint64_t chunks = uint64_t((run.w.rows + rowsPerChunk - 1) / rowsPerChunk);
    core::parallelChunks(chunks, core::defaultThreadCount(), [&](uint64_t chunk, unsigned) {
        const int64_t r0 = int64_t(chunk) * rowsPerChunk;
        const int64_t r1 = std::min(run.w.rows, r0 + rowsPerChunk);
        for (int64_t r = r0; r < r1; ++r) {
            float* wr = run.w.row(r);
            float* qr = run.q.row(r);
            for (int64_t i = s; i < e; ++i) {
                const int64_t g = run.groupOf(i);
                const uint64_t pos = uint64_t(r * cols + run.perm[size_t(i)]);
                const float qv = run.quantizer.quantize(wr[i], run.params.scale[g][r],
                                                        run.params.zero[g][r], pos);
                qr[i] = qv;
                const float* h = run.hinv.data() + i * cols;
                const float eq = (wr[i] - qv) / h[i];
                err[size_t(r * count + (i - i1))] = eq;
                for (int64_t t = i + 1; t < i2; ++t)
                    wr[t] -= eq * h[t];
            }
        }
    });
}

core::Status runBlocks(GptqRun& run)
{
    const int64_t cols = run.w.cols;
    const int64_t rows = run.w.rows;
    const int64_t block = std::max(1, run.options.gptqBlock);
    std::vector<float> err;
    for (int64_t i1 = 0; i1 < cols; i1 += block) {
        if (run.progress && run.progress->cancelled()) {
            return makeError(ErrorCode::Cancelled, "GPTQ: cancelled");
        }
        const int64_t i2 = std::min(cols, i1 + block);
        const int64_t count = i2 - i1;
        err.assign(size_t(rows * count), 0.0f);
        for (int64_t s = i1; s < i2;) {
            int64_t e = i2;
            if (!run.staticGroups) {
                if (s % run.groupSize == 0) {
                    // Without act-order the working order is the file order.
                    const int64_t width = std::min(run.groupSize, cols - s);
                    auto st = fitGroup(run, run.w, s, width);
                    if (!st) return st;
                }
                e = std::min(i2, (s / run.groupSize + 1) * run.groupSize);
            }
            quantizeSegment(run, i1, i2, s, e, err);
            s = e;
        }
        if (i2 < cols) {
            auto st = gemmOf(run.options).sgemm(false, false, rows, cols - i2, count, -1.0f,
                                                err.data(), count, run.hinv.data() + i1 * cols + i2,
                                                cols, 1.0f, run.w.data.data() + i2, cols);
            if (!st) return st;
        }
        if (run.progress && run.progress->report)
            run.progress->report(uint64_t(i2), uint64_t(cols));
    }
    return core::Status::success();
}

core::Status checkInputs(const Matrix& w, const Matrix& x)
{
    if (x.cols != w.cols || x.rows <= 0) {
        return makeError(ErrorCode::InvalidArgument,
                         "GPTQ: calibration activations are " + std::to_string(x.rows) + "x" +
                             std::to_string(x.cols) + ", the weights have " +
                             std::to_string(w.cols) + " input channels");
    }
    const auto finite = [](const Matrix& m) {
        return std::all_of(m.data.begin(), m.data.end(), [](float v) { return std::isfinite(v); });
    };
    if (!finite(w) || !finite(x)) {
        return makeError(ErrorCode::InvalidArgument,
                         "GPTQ: weights and activations must be finite (NaN or Inf found)");
    }
    return core::Status::success();
}

/// H = 2 X^T X / n, the Hessian of the layer's squared output error.
core::Result<std::vector<float>> hessian(const Matrix& x, const core::Gemm& gemm)
{
    const int64_t n = x.cols;
    std::vector<float> h(size_t(n * n), 0.0f);
    auto st = gemm.sgemm(true, false, n, n, x.rows, 2.0f / float(x.rows), x.data.data(), n,
                    x.data.data(), n, 0.0f, h.data(), n);
    if (!st) return st.error();
    return h;
}

/// Permutes the columns of w and both axes of h into processing order `perm`.
void applyPermutation(Matrix& w, std::vector<float>& h, const std::vector<int64_t>& perm)
{
    const int64_t n = w.cols;
    std::vector<float> tmp(static_cast<size_t>(n));
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t j = 0; j < n; ++j)
            tmp[j] = w.row(r)[perm[j]];
        std::copy(tmp.begin(), tmp.end(), w.row(r));
    }
    std::vector<float> hp(h.size());
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j)
            hp[i * n + j] = h[perm[i] * n + perm[j]];
    }
    h.swap(hp);
}

/// Fills the reported fields: result in file order, exact storage, per-group clips, scales.
Quantized assemble(const GptqRun& run)
{
    const int64_t rows = run.q.rows, cols = run.q.cols;
    Quantized out;
    out.dequant.rows = rows;
    out.dequant.cols = cols;
    core::resizeLarge(out.dequant.data, run.q.data.size());
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j)
            out.dequant.row(r)[run.perm[j]] = run.q.row(r)[j];
    }
    out.bytes = storageBytes(run.scheme, rows, cols);
    out.bitsPerWeight = rows * cols > 0 ? double(out.bytes) * 8.0 / double(rows * cols) : 0.0;
    if (!run.quantizer.grouped()) {
        out.clip = run.params.whole.clip;
        out.groupsPerRow = run.params.whole.groupsPerRow;
        out.scales = run.params.whole.scales;
        out.zeroPoints = run.params.whole.zeroPoints;
    } else {
        const int64_t groups = int64_t(run.params.scale.size());
        out.groupsPerRow = groups;
        const size_t perRow = rows > 0 ? run.params.clip[0].size() / size_t(rows) : 0;
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t g = 0; g < groups; ++g) {
                for (size_t e = 0; e < perRow; ++e)
                    out.clip.push_back(run.params.clip[g][r * perRow + e]);
                if (run.quantizer.isInt()) {
                    out.scales.push_back(run.params.scale[g][r]);
                    if (run.scheme.asymmetric)
                        out.zeroPoints.push_back(int32_t(run.params.zero[g][r]));
                }
            }
        }
    }
    const bool int8Codes =
        run.scheme.family == Family::Int && run.scheme.bits == 8 && !run.scheme.asymmetric;
    if (int8Codes) {
        out.packed.resize(size_t(rows * cols));
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                const float sc = run.params.scale[size_t(c / run.groupSize)][r];
                const float code = sc != 0.0f ? std::nearbyint(out.dequant.row(r)[c] / sc) : 0.0f;
                out.packed[size_t(r * cols + c)] = std::byte(uint8_t(int8_t(code)));
            }
        }
    }
    return out;
}

} // namespace

core::Status upperCholeskyOfInverse(std::vector<float>& a, int64_t n, const core::Gemm& gemm)
{
    if (n < 0 || a.size() != size_t(n) * size_t(n)) {
        return makeError(ErrorCode::InvalidArgument, "GPTQ: Hessian size does not match n");
    }
    // Reversing the flat array maps (i, j) to (n-1-i, n-1-j): it is J a J.
    std::reverse(a.begin(), a.end());
    auto st = choleskyLower(a.data(), n, gemm);
    if (!st) return st;
    st = invertLower(a.data(), n, gemm);
    if (!st) return st;
    // J L^-1 J is upper triangular and (J L^-1 J)^T (J L^-1 J) = J L^-T L^-1 J = a^-1.
    std::reverse(a.begin(), a.end());
    return core::Status::success();
}

core::Result<MethodResult> quantizeGptq(const Matrix& w, const Scheme& scheme, const Matrix& x,
                                        const MethodOptions& options, core::Progress* progress)
{
    auto quantizer = ColumnQuantizer::create(scheme);
    if (!quantizer) return quantizer.error();
    auto st = checkInputs(w, x);
    if (!st) return st.error();
    if (w.data.empty()) { // nothing to correct: an empty tensor quantizes as RTN does
        auto rtn = quantizeRtn(w, scheme, options.range, progress);
        if (!rtn) return rtn.error();
        MethodResult empty;
        empty.quantized = std::move(rtn.value());
        empty.note = "GPTQ: empty tensor";
        return empty;
    }
    auto h = hessian(x, gemmOf(options));
    if (!h) return h.error();
    const int64_t cols = w.cols;
    GptqRun run{scheme, options, *quantizer, progress, w, {}, std::move(h.value()),
                {},     {},      0,          false};
    // Inputs that are always zero carry no information: the reference zeroes their weights.
    int64_t dead = 0;
    for (int64_t i = 0; i < cols; ++i) {
        if (run.hinv[i * cols + i] != 0.0f) continue;
        run.hinv[i * cols + i] = 1.0f;
        for (int64_t r = 0; r < w.rows; ++r)
            run.w.row(r)[i] = 0.0f;
        ++dead;
    }
    run.groupSize = std::max<int64_t>(1, quantizer->groupSize(cols));
    const int64_t groups = cols > 0 ? (cols + run.groupSize - 1) / run.groupSize : 0;
    run.params.scale.resize(size_t(groups));
    run.params.zero.resize(size_t(groups));
    run.params.clip.resize(size_t(groups));
    run.staticGroups = !quantizer->grouped() || options.gptqActOrder;
    if (!quantizer->grouped()) {
        auto whole = quantizeRtn(run.w, scheme, options.range);
        if (!whole) return whole.error();
        st = quantizer->paramsFrom(*whole, w.rows, run.params.scale[0], run.params.zero[0]);
        if (!st) return st.error();
        run.params.whole = std::move(whole.value());
    } else if (options.gptqActOrder) {
        for (int64_t g = 0; g < groups; ++g) {
            st = fitGroup(run, run.w, g * run.groupSize,
                          std::min(run.groupSize, cols - g * run.groupSize));
            if (!st) return st.error();
        }
    }
    run.perm.resize(size_t(cols));
    std::iota(run.perm.begin(), run.perm.end(), int64_t(0));
    if (options.gptqActOrder) {
        std::stable_sort(run.perm.begin(), run.perm.end(), [&](int64_t a, int64_t b) {
            return run.hinv[a * cols + a] > run.hinv[b * cols + b];
        });
        applyPermutation(run.w, run.hinv, run.perm);
    }
    double meanDiag = 0.0;
    for (int64_t i = 0; i < cols; ++i)
        meanDiag += run.hinv[i * cols + i];
    meanDiag /= double(std::max<int64_t>(cols, 1));
    const double lambda = options.gptqDamp * meanDiag;
    for (int64_t i = 0; i < cols; ++i)
        run.hinv[i * cols + i] += float(lambda);
    st = upperCholeskyOfInverse(run.hinv, cols, gemmOf(options));
    if (!st) return st.error();
    run.q.rows = w.rows;
    run.q.cols = cols;
    run.q.data.assign(w.data.size(), 0.0f);
    st = runBlocks(run);
    if (!st) return st.error();

    MethodResult result;
    result.quantized = assemble(run);
    result.note = "GPTQ: damp " + std::to_string(options.gptqDamp) + " (lambda " +
                  std::to_string(lambda) + "), block " + std::to_string(options.gptqBlock) +
                  (options.gptqActOrder ? ", act-order (static groups)" : "") + ", " +
                  std::to_string(dead) + " dead input channels zeroed";
    return result;
}

} // namespace qs::quant
