#pragma once
/// Calibration data for methods that look at activations: the inputs of one layer, from a
/// .npy file, from a llama.cpp imatrix (per-channel importance only), or synthetic. The source
/// travels with the data, so every result can say what it was calibrated on.
#include "matrix.h"

#include "core/tensor.h"

#include <filesystem>
#include <string>
#include <vector>

namespace qs::quant {

struct Calibration {
    Matrix x;                     ///< activations [n, in_features]; empty for an imatrix
    std::vector<float> importance; ///< per input channel mean x^2 (from x, or the imatrix)
    std::string source;           ///< "npy FILE (N rows)", "imatrix FILE entry NAME", "synthetic ..."
    bool hasActivations() const { return x.rows > 0; }
};

/// Layer inputs from an array a reader opened (pipeline::loadCalibrationNpy opens the .npy):
/// 2-D, or higher flattened to rows of the last axis, of any float or integer dtype; the last
/// axis must equal `inFeatures`. `where` (the file) starts every error message.
core::Result<Calibration> calibrationFromArray(const core::TensorInfo& array, const std::string& where,
                                               int64_t inFeatures);

/// Per-channel importance for `tensorName` from a llama.cpp imatrix file (legacy binary
/// format: i32 entry count; per entry: i32 name length, name, i32 ncall, i32 nval, nval f32
/// sums of x^2; then i32 chunk count and the dataset name). Values are divided by ncall.
core::Result<Calibration> loadImatrix(const std::filesystem::path& path,
                                      const std::string& tensorName, int64_t inFeatures);

/// Gaussian N(0, 1) activations with `outlierChannels` channels scaled by `outlierScale`
/// (every (in / outlierChannels)-th channel), seeded.
Calibration syntheticCalibration(int64_t rows, int64_t inFeatures, uint64_t seed,
                                 int outlierChannels = 0, float outlierScale = 20.0f);

} // namespace qs::quant
