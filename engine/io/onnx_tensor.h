#pragma once
/// One ONNX TensorProto as a core::TensorInfo: its bytes copied out of the protobuf (raw_data
/// or the typed fields, converted to the little-endian layout of its dtype) or mapped from an
/// external data file that must stay inside the model's folder.
#include "core/result.h"
#include "core/tensor.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace qs::io {

/// External data files opened so far, by their path relative to the model's folder.
using ExternalFiles = std::map<std::string, std::shared_ptr<const core::MappedFile>>;

/// `name` overrides the proto's own name (Constant nodes are named by their output).
core::Result<core::TensorInfo> onnxTensor(const onnx::TensorProto& t, const std::string& name,
                                          const std::filesystem::path& modelPath,
                                          ExternalFiles& files);

} // namespace qs::io
