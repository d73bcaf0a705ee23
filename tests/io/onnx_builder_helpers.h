#pragma once
/// Builders for the ONNX tests: models are assembled with the protobuf classes field by field,
/// so the files the reader sees are written without any engine code.
#include "core/tensor.h"

#include <onnx/onnx_pb.h>

#include <QString>

#include <cstdint>
#include <string>
#include <vector>

namespace qs::onnxtest {

/// A FLOAT initializer holding `values`, in raw_data (little-endian bytes) or float_data.
onnx::TensorProto floatTensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values, bool raw);

/// A tensor of ONNX type `dataType` whose values sit in int32_data (how ONNX stores INT8,
/// UINT8, INT16, FLOAT16 and BFLOAT16 bit patterns and BOOL when raw_data is not used).
onnx::TensorProto int32FieldTensor(const std::string& name, int32_t dataType,
                                   const std::vector<int64_t>& dims,
                                   const std::vector<int32_t>& values);

/// A node with the given op type, name, inputs and outputs.
onnx::NodeProto makeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs);

/// Adds an INT attribute to `node`.
void addIntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value);

/// An empty model: ir_version 8, opset ai.onnx 13, producer "qs-test" "1.0", graph "g".
onnx::ModelProto emptyModel();

/// Serialises `model` to `path`; false if that failed.
bool saveModel(const onnx::ModelProto& model, const QString& path);

/// The tensor's elements as f32 via core::convertToF32 under the fault guard; `ok` says
/// whether the storage range was valid and the conversion succeeded.
std::vector<float> tensorValues(const core::TensorInfo& t, bool* ok);

} // namespace qs::onnxtest
