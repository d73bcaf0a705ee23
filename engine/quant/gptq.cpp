#include "gptq.h"

#include "core/largebuffer.h"
#include "core/parallel.h"
#include "codec.h"

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

core::Error unsupported(const Scheme& scheme)
{
    return makeError(ErrorCode::Unsupported,
                     "GPTQ does not support scheme '" + scheme.spec() +
                         "'; use int or fp8 (tensor, channel or group) or nf4 without dq");
}

/// One GPTQ run. Columns are coded in processing order (act-order permutes them); the result
/// keeps the codec's grid in file order, and every code goes through the codec's element
/// coder, so the codes are the codec's and dequant = decode(codes).
struct GptqRun {
    const Scheme& scheme;
    const MethodOptions& options;
    const Codec& codec;
    const ElementCoder& coder;
    core::Progress* progress;
    Matrix w;                  ///< working weights, columns in processing order
    std::vector<uint8_t> codes; ///< codes, processing order
    Matrix q;                  ///< decoded codes, processing order
    std::vector<float> hinv;   ///< upper Cholesky factor of H^-1, processing order
    std::vector<int64_t> perm; ///< processing position -> original column
    Quantized result;          ///< grid, params and clip in file order
    std::vector<GroupCoding> coding; ///< element parameters of every group of result.grid
    int64_t groupSize = 0;
    bool staticGroups = false;

    bool grouped() const { return result.grid.granularity == Granularity::Group; }
};

/// Columns [start, start + width) of m.
Matrix columnSlice(const Matrix& m, int64_t start, int64_t width)
{
    Matrix slice;
    slice.rows = m.rows;
    slice.cols = width;
    slice.data.resize(size_t(m.rows * width));
    for (int64_t r = 0; r < m.rows; ++r) std::copy_n(m.row(r) + start, width, slice.row(r));
    return slice;
}

/// Fits the groups of `slice` (the columns of group g, one group per row, on the current
/// weights) through the codec's RTN, so that ranges and clipping are exactly the scheme's.
core::Status fitGroup(GptqRun& run, const Matrix& slice, int64_t g)
{
    auto rtn = quantizeRtn(slice, run.scheme, run.options.range);
    if (!rtn) return rtn.error();
    for (int64_t r = 0; r < slice.rows; ++r) {
        const int64_t to = r * run.result.grid.perRow + g;
        run.codec.elements()->copyGroup(*rtn, rtn->grid.groupOf(r, 0), run.result, to);
        run.coding[size_t(to)] = run.coder.coding(run.result, to);
    }
    return core::Status::success();
}

/// The group starting at working column s (file order), as Algorithm 1 sees it: columns past
/// the current block [i1, i2) still lack the block's pending update, -sum_i err[:, i] h[i, c]
/// over the block's finished columns i in [i1, s), so it is applied here for the fit.
Matrix groupAsUpdated(const GptqRun& run, int64_t s, int64_t width, int64_t i1, int64_t i2,
                      const std::vector<float>& err)
{
    Matrix slice = columnSlice(run.w, s, width);
    const int64_t cols = run.w.cols, count = i2 - i1;
    for (int64_t c = std::max(s, i2); c < s + width; ++c) {
        for (int64_t r = 0; r < slice.rows; ++r) {
            float pending = 0.0f;
            for (int64_t i = i1; i < s; ++i) pending += err[size_t(r * count + (i - i1))] * run.hinv[size_t(i * cols + c)];
            slice.row(r)[c - s] -= pending;
        }
    }
    return slice;
}

/// Fits a tensor or per-channel scheme once on the whole (original order) matrix.
core::Status fitWhole(GptqRun& run)
{
    auto whole = quantizeRtn(run.w, run.scheme, run.options.range);
    if (!whole) return whole.error();
    run.result.params = std::move(whole->params);
    run.result.clip = std::move(whole->clip);
    for (int64_t g = 0; g < run.result.grid.count(); ++g) run.coding[size_t(g)] = run.coder.coding(run.result, g);
    return core::Status::success();
}

/// Codes working columns [s, e) of the block [i1, i2) row by row: rows are independent
/// within a block because every quantizer parameter is per row (or fixed for the tensor).
void quantizeSegment(GptqRun& run, int64_t i1, int64_t i2, int64_t s, int64_t e, std::vector<float>& err)
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
            uint8_t* cr = run.codes.data() + r * cols;
            for (int64_t i = s; i < e; ++i) {
                const int64_t c = run.perm[size_t(i)];
                const GroupCoding& g = run.coding[size_t(run.result.grid.groupOf(r, c))];
                const uint8_t code = run.coder.encode(wr[i], g, uint64_t(r * cols + c));
                const float qv = run.coder.decode(code, g);
                cr[i] = code;
                qr[i] = qv;
                const float* h = run.hinv.data() + i * cols;
                const float eq = (wr[i] - qv) / h[i];
                err[size_t(r * count + (i - i1))] = eq;
                for (int64_t t = i + 1; t < i2; ++t) wr[t] -= eq * h[t];
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
        if (run.progress && run.progress->cancelled()) return makeError(ErrorCode::Cancelled, "GPTQ: cancelled");
        const int64_t i2 = std::min(cols, i1 + block);
        const int64_t count = i2 - i1;
        err.assign(size_t(rows * count), 0.0f);
        for (int64_t s = i1; s < i2;) {
            int64_t e = i2;
            if (!run.staticGroups) {
                if (s % run.groupSize == 0) {
                    // Without act-order the working order is the file order.
                    const int64_t width = std::min(run.groupSize, cols - s);
                    auto st = fitGroup(run, groupAsUpdated(run, s, width, i1, i2, err), s / run.groupSize);
                    if (!st) return st;
                }
                e = std::min(i2, (s / run.groupSize + 1) * run.groupSize);
            }
            quantizeSegment(run, i1, i2, s, e, err);
            s = e;
        }
        if (i2 < cols) {
            auto st = gemmOf(run.options).sgemm(false, false, rows, cols - i2, count, -1.0f, err.data(), count,
                                                run.hinv.data() + i1 * cols + i2, cols, 1.0f, run.w.data.data() + i2, cols);
            if (!st) return st;
        }
        if (run.progress && run.progress->report) run.progress->report(uint64_t(i2), uint64_t(cols));
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

/// The result in file order: codes and their decoded values, the codec's storage cost.
Quantized assemble(GptqRun& run)
{
    const int64_t rows = run.q.rows, cols = run.q.cols;
    Quantized out = std::move(run.result);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j) {
            const auto c = size_t(run.perm[size_t(j)]);
            out.dequant.row(r)[c] = run.q.row(r)[j];
            out.codes[size_t(r * cols) + c] = run.codes[size_t(r * cols + j)];
        }
    }
    setStorageCost(run.codec, out);
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

namespace {

/// Zeroes the weights of inputs that are always zero (they carry no information, as the
/// reference does) and returns how many there were.
int64_t zeroDeadInputs(GptqRun& run)
{
    const int64_t cols = run.w.cols;
    int64_t dead = 0;
    for (int64_t i = 0; i < cols; ++i) {
        if (run.hinv[size_t(i * cols + i)] != 0.0f) continue;
        run.hinv[size_t(i * cols + i)] = 1.0f;
        for (int64_t r = 0; r < run.w.rows; ++r) run.w.row(r)[i] = 0.0f;
        ++dead;
    }
    return dead;
}

/// Static parameters (tensor / channel schemes, or every group up front with act-order), the
/// processing order, and the damped upper Cholesky factor of H^-1. Returns lambda.
core::Result<double> prepare(GptqRun& run)
{
    const int64_t cols = run.w.cols;
    if (!run.grouped()) {
        if (auto st = fitWhole(run); !st) return st.error();
    } else if (run.options.gptqActOrder) {
        for (int64_t c0 = 0; c0 < cols; c0 += run.groupSize)
            if (auto st = fitGroup(run, columnSlice(run.w, c0, std::min(run.groupSize, cols - c0)), c0 / run.groupSize); !st)
                return st.error();
    }
    run.perm.resize(size_t(cols));
    std::iota(run.perm.begin(), run.perm.end(), int64_t(0));
    if (run.options.gptqActOrder) {
        std::stable_sort(run.perm.begin(), run.perm.end(), [&](int64_t a, int64_t b) {
            return run.hinv[size_t(a * cols + a)] > run.hinv[size_t(b * cols + b)];
        });
        applyPermutation(run.w, run.hinv, run.perm);
    }
    double meanDiag = 0.0;
    for (int64_t i = 0; i < cols; ++i) meanDiag += run.hinv[size_t(i * cols + i)];
    meanDiag /= double(std::max<int64_t>(cols, 1));
    const double lambda = run.options.gptqDamp * meanDiag;
    for (int64_t i = 0; i < cols; ++i) run.hinv[size_t(i * cols + i)] += float(lambda);
    if (auto st = upperCholeskyOfInverse(run.hinv, cols, gemmOf(run.options)); !st) return st.error();
    return lambda;
}

} // namespace

core::Result<MethodResult> quantizeGptq(const Matrix& w, const Scheme& scheme, const Matrix& x,
                                        const MethodOptions& options, core::Progress* progress)
{
    auto codec = makeCodec(scheme);
    if (!codec) return codec.error();
    const ElementCoder* coder = (*codec)->elements();
    if (coder == nullptr) return unsupported(scheme);
    if (auto st = checkInputs(w, x); !st) return st.error();
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
    GptqRun run{scheme, options, **codec, *coder, progress, w, {}, {}, std::move(h.value()), {}, {}, {}, 0, false};
    run.result = startResult(**codec, w.rows, w.cols, nullptr);
    run.coding.resize(size_t(run.result.grid.count()));
    run.groupSize = run.grouped() ? run.result.grid.width : std::max<int64_t>(1, w.cols);
    run.staticGroups = !run.grouped() || options.gptqActOrder;
    const int64_t dead = zeroDeadInputs(run);
    auto lambda = prepare(run);
    if (!lambda) return lambda.error();
    run.codes.assign(w.data.size(), 0);
    run.q.rows = w.rows;
    run.q.cols = w.cols;
    run.q.data.assign(w.data.size(), 0.0f);
    if (auto st = runBlocks(run); !st) return st.error();

    MethodResult result;
    result.quantized = assemble(run);
    result.note = "GPTQ: damp " + std::to_string(options.gptqDamp) + " (lambda " + std::to_string(*lambda) +
                  "), block " + std::to_string(options.gptqBlock) +
                  (options.gptqActOrder ? ", act-order (static groups)" : "") + ", " + std::to_string(dead) +
                  " dead input channels zeroed";
    return result;
}

} // namespace qs::quant
