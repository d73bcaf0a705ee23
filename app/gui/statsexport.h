#pragma once
/// A tensor's statistics and histogram as CSV or JSON text, for File > Export statistics.
#include "core/stats.h"
#include "core/tensor.h"

#include <QByteArray>

namespace qs::app {

/// CSV: a "field,value" block, a blank line, then "bin_lo,bin_hi,count" rows.
QByteArray statsCsv(const core::TensorInfo& tensor, const core::TensorStats& stats);
/// JSON: {"tensor", "dtype", "shape", "stats": {...}, "histogram": {"edges", "counts"},
/// "out_channel_absmax", "in_channel_absmax"}; NaN values are null.
QByteArray statsJson(const core::TensorInfo& tensor, const core::TensorStats& stats);

} // namespace qs::app
