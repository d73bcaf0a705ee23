#pragma once
/// The workbench's recompute in one pass: quantize a layer, decode it, and measure it (the
/// six error metrics and a pooled error map), each block of rows measured right after the
/// codec has written it, while its weights and decoded values are still in cache. The weights
/// are read by the codec (once, where the format allows) and the decoded copy is written once;
/// the measurements re-read both from cache instead of memory.
///
/// The figures are the same bits as the separate passes: metrics == compareValues(w, dequant)
/// and errorMap == errorMap(w, dequant, ...), because the fused pass calls the same per-chunk
/// and per-cell-row functions (metrics.h) on the same boundaries. A chunk or a cell row is
/// measured by whichever worker finishes its last row.
#include "metrics.h"
#include "quantize.h"

#include "core/device_time.h"
#include "core/progress.h"
#include "core/result.h"

#include <cstdint>
#include <optional>

namespace qs::quant {

struct MeasureOptions {
    int64_t gridRows = 64; ///< error-map rows (clamped to the matrix rows); at least 1
    int64_t gridCols = 64; ///< error-map columns (clamped to the matrix columns); at least 1
    ErrorKind kind = ErrorKind::Absolute;
    Pooling pooling = Pooling::Max;
};

struct Measured {
    Quantized q;
    ErrorMetrics metrics; ///< compareValues(w, q.dequant)
    Matrix errorMap;      ///< errorMap(w, q.dequant, gridRows, gridCols, kind, pooling)
    /// Set by a device backend: the time its dispatches of this pass took on the device.
    std::optional<core::DeviceTime> deviceTime;
};

/// quantizeRtn(w, scheme, range, progress) with the metrics and the error map of the result.
/// `reuse`: an earlier result whose buffers (codes, dequant, map) the new one takes over (left
/// empty), so recomputing a layer while the user drags a slider touches no fresh memory.
/// Errors: those of quantizeRtn; InvalidArgument for a grid below 1 x 1.
core::Result<Measured> quantizeAndMeasure(const Matrix& w, const Scheme& scheme, const RangeOptions& range = {},
                                          const MeasureOptions& measure = {}, core::Progress* progress = nullptr,
                                          Measured* reuse = nullptr);

} // namespace qs::quant
