// The reference GEMM: packed, cache-blocked tiles of C computed by a register-tiled kernel,
// tiles spread over threads. Written for clarity first; see docs/ARCHITECTURE.md for its speed
// next to oneDNN's.
#include "gemm.h"

#include "parallel.h"

#include <algorithm>
#include <string>
#include <vector>

namespace qs::core {

namespace {

constexpr int64_t kMr = 6;   ///< rows of the register tile
constexpr int64_t kNr = 16;  ///< columns of the register tile (two 8-float vectors)
constexpr int64_t kMc = 96;  ///< rows of C per task (a multiple of kMr)
constexpr int64_t kNc = 256; ///< columns of C per task (a multiple of kNr)
constexpr int64_t kKc = 256; ///< depth of one packed A block / B panel
/// Below this many multiply-adds the thread start-up costs more than it saves.
constexpr double kParallelWork = 1 << 21;

/// The operands as stored, with op() applied by the accessors.
struct Operands {
    bool transA, transB;
    const float* a;
    int64_t lda;
    const float* b;
    int64_t ldb;
    float at(int64_t i, int64_t p) const { return transA ? a[p * lda + i] : a[i * lda + p]; }
    float bt(int64_t p, int64_t j) const { return transB ? b[j * ldb + p] : b[p * ldb + j]; }
};

/// Packs op(A)[i0 : i0+mc, p0 : p0+kc] as strips of kMr rows, each stored [p][r], zero-padded.
void packA(const Operands& op, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out)
{
    for (int64_t s = 0; s < mc; s += kMr) {
        const int64_t rows = std::min(kMr, mc - s);
        for (int64_t p = 0; p < kc; ++p) {
            for (int64_t r = 0; r < kMr; ++r)
                *out++ = r < rows ? op.at(i0 + s + r, p0 + p) : 0.0f;
        }
    }
}

/// Packs op(B)[p0 : p0+kc, j0 : j0+nc] as strips of kNr columns, each stored [p][j], zero-padded.
void packB(const Operands& op, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* out)
{
    for (int64_t s = 0; s < nc; s += kNr) {
        const int64_t cols = std::min(kNr, nc - s);
        for (int64_t p = 0; p < kc; ++p) {
            if (!op.transB && cols == kNr) {
                std::copy_n(op.b + (p0 + p) * op.ldb + j0 + s, kNr, out);
                out += kNr;
                continue;
            }
            for (int64_t j = 0; j < kNr; ++j)
                *out++ = j < cols ? op.bt(p0 + p, j0 + s + j) : 0.0f;
        }
    }
}

using Vec8 = float __attribute__((vector_size(32)));

/// tile[kMr][kNr] = sum over p of a[p][r] * b[p][j], in p order (fixed for every element).
[[gnu::target_clones("avx512f", "avx2", "default")]] void microKernel(int64_t kc, const float* a,
                                                                     const float* b, float* tile)
{
    Vec8 acc[kMr][2] = {};
    for (int64_t p = 0; p < kc; ++p) {
        Vec8 b0, b1;
        __builtin_memcpy(&b0, b + p * kNr, sizeof b0);
        __builtin_memcpy(&b1, b + p * kNr + 8, sizeof b1);
        for (int64_t r = 0; r < kMr; ++r) {
            const float x = a[p * kMr + r];
            acc[r][0] += x * b0;
            acc[r][1] += x * b1;
        }
    }
    __builtin_memcpy(tile, acc, sizeof acc);
}

/// One mc x nc tile of C: beta first, then alpha * (the kc-block products) block by block.
void computeTile(const Operands& op, int64_t k, float alpha, float beta, float* c, int64_t ldc,
                 int64_t i0, int64_t mc, int64_t j0, int64_t nc, std::vector<float>& buffer)
{
    scaleMatrix(mc, nc, beta, c + i0 * ldc + j0, ldc);
    const int64_t mStrips = (mc + kMr - 1) / kMr, nStrips = (nc + kNr - 1) / kNr;
    buffer.resize(size_t((mStrips * kMr + nStrips * kNr) * kKc));
    float* packedA = buffer.data();
    float* packedB = packedA + mStrips * kMr * kKc;
    float tile[kMr * kNr];
    for (int64_t p0 = 0; p0 < k; p0 += kKc) {
        const int64_t kc = std::min(kKc, k - p0);
        packA(op, i0, mc, p0, kc, packedA);
        packB(op, p0, kc, j0, nc, packedB);
        for (int64_t js = 0; js < nStrips; ++js) {
            const int64_t cols = std::min(kNr, nc - js * kNr);
            for (int64_t is = 0; is < mStrips; ++is) {
                microKernel(kc, packedA + is * kMr * kc, packedB + js * kNr * kc, tile);
                const int64_t rows = std::min(kMr, mc - is * kMr);
                for (int64_t r = 0; r < rows; ++r) {
                    float* row = c + (i0 + is * kMr + r) * ldc + j0 + js * kNr;
                    for (int64_t j = 0; j < cols; ++j)
                        row[j] += alpha * tile[r * kNr + j];
                }
            }
        }
    }
}

Error gemmError(const std::string& what)
{
    return makeError(ErrorCode::InvalidArgument, "sgemm: " + what);
}

} // namespace

Status checkGemmArguments(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                          int64_t lda, int64_t ldb, int64_t ldc)
{
    if (m < 0 || n < 0 || k < 0) {
        return gemmError("negative size M=" + std::to_string(m) + " N=" + std::to_string(n) +
                         " K=" + std::to_string(k));
    }
    // Row-major storage: A is M x K (or K x M when transposed), so its row length is K (or M).
    const int64_t aCols = transA ? m : k;
    const int64_t bCols = transB ? k : n;
    if (lda < std::max<int64_t>(1, aCols) || ldb < std::max<int64_t>(1, bCols) || ldc < n) {
        return gemmError("leading dimension too small (lda=" + std::to_string(lda) +
                         " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc) + ")");
    }
    return Status::success();
}

void scaleMatrix(int64_t m, int64_t n, float beta, float* c, int64_t ldc)
{
    if (beta == 1.0f) return;
    for (int64_t i = 0; i < m; ++i) {
        float* row = c + i * ldc;
        for (int64_t j = 0; j < n; ++j)
            row[j] = beta == 0.0f ? 0.0f : beta * row[j];
    }
}

Status ReferenceGemm::sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                            float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                            float beta, float* c, int64_t ldc) const
{
    if (auto st = checkGemmArguments(transA, transB, m, n, k, lda, ldb, ldc); !st) return st;
    if (m == 0 || n == 0) return Status::success();
    if (k == 0) {
        scaleMatrix(m, n, beta, c, ldc);
        return Status::success();
    }
    const Operands op{transA, transB, a, lda, b, ldb};
    const int64_t mTiles = (m + kMc - 1) / kMc, nTiles = (n + kNc - 1) / kNc;
    const bool parallel = double(m) * double(n) * double(k) >= kParallelWork;
    const unsigned threads = parallel ? defaultThreadCount() : 1u;
    std::vector<std::vector<float>> buffers(std::min<uint64_t>(threads, uint64_t(mTiles * nTiles)));
    parallelChunks(uint64_t(mTiles * nTiles), threads, [&](uint64_t chunk, unsigned thread) {
        const int64_t ti = int64_t(chunk) / nTiles, tj = int64_t(chunk) % nTiles;
        const int64_t i0 = ti * kMc, j0 = tj * kNc;
        computeTile(op, k, alpha, beta, c, ldc, i0, std::min(kMc, m - i0), j0,
                    std::min(kNc, n - j0), buffers[thread]);
    });
    return Status::success();
}

const Gemm& referenceGemm()
{
    static const ReferenceGemm gemm;
    return gemm;
}

} // namespace qs::core
