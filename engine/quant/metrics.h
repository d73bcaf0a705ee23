#pragma once
/// Error metrics between a reference and its quantized version.
///   mse = mean((w - q)^2), rmse = sqrt(mse), sqnr_db = 10 log10(sum w^2 / sum (w - q)^2)
///   (+Inf when the error is 0), max_abs_err = max |w - q|, cosine = <w,q> / (|w| |q|)
///   (1 when both are zero), rel_fro = ||w - q||_F / ||w||_F.
/// Pairs where either value is NaN or Inf are skipped and counted.
#include "matrix.h"

#include "core/gemm.h"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace qs::quant {

struct ErrorMetrics {
    double mse = 0, rmse = 0, sqnrDb = 0, maxAbsErr = 0, cosine = 1, relFro = 0;
    uint64_t count = 0;   ///< pairs used
    uint64_t skipped = 0; ///< pairs with a non-finite value
};

/// Compares the first min(sizes) pairs (the rest count as skipped). The sums are taken in
/// double in one fixed order, so the result is the same bits on every machine, thread count
/// and instruction-set clone: chunks of 65536 pairs; within a chunk, pair i goes to lane i % 8,
/// each lane adds in index order, lanes combine as ((0+1)+(2+3))+((4+5)+(6+7)); chunk sums
/// are added in chunk order to a total starting at 0.
ErrorMetrics compareValues(std::span<const float> reference, std::span<const float> quantized);

/// Per-row (output channel) and per-group (`groupSize` columns of a row) MSE vectors.
std::vector<double> rowMse(const Matrix& reference, const Matrix& quantized);
std::vector<double> groupMse(const Matrix& reference, const Matrix& quantized, int64_t groupSize);

enum class ErrorKind : uint8_t { Absolute, Signed, Relative }; ///< |w-q|, w-q, |w-q|/|w|
enum class Pooling : uint8_t { Max, Mean }; ///< Max of Signed keeps the value of largest |.|

/// The error of every weight reduced to a gridRows x gridCols map (each cell pools the block
/// of weights that falls in it; the grid is clamped to the matrix size), for heatmaps.
Matrix errorMap(const Matrix& reference, const Matrix& quantized, int64_t gridRows,
                int64_t gridCols, ErrorKind kind, Pooling pooling);

/// The squared norms of a layer's outputs with activations X [n, cols]: reference =
/// ||X W^T||_F^2, error = ||X (W - Q)^T||_F^2. The products run on `gemm` (a backend's),
/// in tiles of 2048 x 256 outputs whose squares are added in double, tiles in a fixed order.
struct OutputNorms {
    double reference = 0;
    double error = 0;
    /// The output error ||X W^T - X Q^T||_F / ||X W^T||_F: 0 when both are 0, +Inf when
    /// only the reference is.
    double relative() const;
};

/// The one definition of the output error (CLI, AWQ's search, the workbench).
/// InvalidArgument when the shapes do not fit.
core::Result<OutputNorms> outputNorms(const Matrix& activations, const Matrix& reference, const Matrix& quantized,
                                      const core::Gemm& gemm = core::referenceGemm());

/// outputNorms(...).relative().
core::Result<double> outputError(const Matrix& activations, const Matrix& reference, const Matrix& quantized,
                                 const core::Gemm& gemm = core::referenceGemm());

// ---- The parts of compareValues and errorMap, for passes that fuse them (analysis.h) ----
// A fused pass calls exactly these functions on exactly these boundaries, so its figures are
// the same bits as compareValues' and errorMap's.

/// Pairs per partial sum of compareValues: chunk c covers pairs [c * kMetricChunk, ...).
inline constexpr uint64_t kMetricChunk = uint64_t{1} << 16;

/// The sums of one chunk (or, merged, of several) in compareValues' documented order.
struct MetricSums {
    double sumW2 = 0, sumQ2 = 0, sumWQ = 0, sumE2 = 0, maxAbs = 0;
    uint64_t count = 0, skipped = 0;
};

/// The sums of the n <= kMetricChunk pairs of one chunk: pair i to lane i % 8, each lane in
/// index order, lanes combined as ((0+1)+(2+3))+((4+5)+(6+7)); non-finite pairs are skipped.
MetricSums metricChunkSums(const float* reference, const float* quantized, uint64_t n);

/// The metrics of chunk sums added in chunk order to a total starting at 0, with `unpaired`
/// more values counted as skipped.
ErrorMetrics metricsFromChunks(std::span<const MetricSums> chunks, uint64_t unpaired = 0);

/// The rows of errorMap's cell row i of g over n rows (or columns): [edge(i), edge(i + 1)).
inline int64_t errorMapEdge(int64_t i, int64_t n, int64_t g) { return i * n / g; }

/// errorMap's grid for a rows x cols matrix: max(1, min(grid, size)) per axis; {0, 0} when the
/// matrix is empty.
std::pair<int64_t, int64_t> errorMapGrid(int64_t rows, int64_t cols, int64_t gridRows, int64_t gridCols);

/// Writes row i of `map` (already sized to errorMapGrid): every cell pools its weights in
/// row-major order (Mean: the errors summed in double in that order; Max: the first of the
/// largest |error|); NaN for a cell without a finite pair.
void errorMapRow(const Matrix& reference, const Matrix& quantized, int64_t i, ErrorKind kind,
                 Pooling pooling, Matrix& map);

} // namespace qs::quant
