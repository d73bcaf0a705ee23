#pragma once
/// Calibration activations from a file: io opens the .npy, quant turns its array into a
/// Calibration (so quant needs no reader).
#include "quant/calibration.h"

#include <filesystem>

namespace qs::pipeline {

/// Layer inputs from a 2-D (or higher, flattened to rows of the last axis) .npy of any float
/// or integer dtype; the last axis must equal `inFeatures`. Errors start with the path.
core::Result<quant::Calibration> loadCalibrationNpy(const std::filesystem::path& path, int64_t inFeatures);

} // namespace qs::pipeline
