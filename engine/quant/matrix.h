#pragma once
/// A weight tensor as the quantizer sees it: an f32 row-major matrix whose rows are output
/// channels and whose columns are input channels, whatever the file's layout.
#include "core/progress.h"
#include "core/result.h"
#include "core/tensor.h"

#include <cstdint>
#include <span>
#include <vector>

namespace qs::quant {

struct Matrix {
    int64_t rows = 0; ///< output channels
    int64_t cols = 0; ///< input channels (all non-output axes flattened, in their order)
    std::vector<float> data; ///< rows * cols values, row-major

    float* row(int64_t r) { return data.data() + r * cols; }
    const float* row(int64_t r) const { return data.data() + r * cols; }
    std::span<const float> values() const { return data; }
};

/// Reads and converts a tensor to f32 with rows = its outAxis. A tensor without an output axis
/// (a scalar or roles -1) becomes one row. The inAxis, when it is not the innermost axis
/// (ONNX MatMul [in, out] after moving out to the front is already [out, in]), is handled by
/// the transposition that brings outAxis first. Fails on unsupported dtypes, storage errors,
/// or cancellation.
core::Result<Matrix> loadWeightMatrix(const core::TensorInfo& tensor,
                                      core::Progress* progress = nullptr);

} // namespace qs::quant
