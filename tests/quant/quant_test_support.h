#pragma once
// Small values and builders shared by the quant suites.
#include "quant/matrix.h"

#include <limits>
#include <utility>
#include <vector>

namespace quanttest {

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
inline constexpr float kInf = std::numeric_limits<float>::infinity();

/// A rows x cols matrix over the given row-major values.
inline qs::quant::Matrix matrixOf(int64_t rows, int64_t cols, std::vector<float> v)
{
    qs::quant::Matrix m;
    m.rows = rows;
    m.cols = cols;
    m.data = std::move(v);
    return m;
}

} // namespace quanttest
