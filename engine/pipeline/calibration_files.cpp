#include "calibration_files.h"

#include "io/modelreader.h"

namespace qs::pipeline {

core::Result<quant::Calibration> loadCalibrationNpy(const std::filesystem::path& path, int64_t inFeatures)
{
    const std::string where = path.string();
    auto model = io::openModel(path);
    if (!model) return model.error();
    if (model->tensors.empty())
        return core::makeError(core::ErrorCode::InvalidArgument, where + ": no array in the calibration file");
    return quant::calibrationFromArray(model->tensors.front(), where, inFeatures);
}

} // namespace qs::pipeline
