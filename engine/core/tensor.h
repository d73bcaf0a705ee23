#pragma once
/// A tensor as a reader found it: name, type, shape, where its bytes are, and its role.
#include "dtype.h"
#include "storage.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qs::core {

struct TensorInfo {
    std::string name;
    DType dtype = DType::Unsupported;
    std::string typeName;          ///< the format's own spelling ("F32", "Q4_K", "<f4", "IQ2_XXS")
    std::vector<int64_t> shape;    ///< outermost first, as numpy shows it (GGUF: reversed ne[])
    std::shared_ptr<const Storage> storage;
    uint64_t offset = 0;           ///< byte offset of the data inside storage
    uint64_t bytes = 0;            ///< byte length of the data (checked against dtype and shape)

    /// Which axis holds output channels and which input channels; -1 if none.
    /// PyTorch Linear [out,in]: 0,1. ONNX MatMul initializer [in,out]: 1,0. Gemm transB=1:
    /// 0,1. Conv [out,in,kh,kw]: 0,1. ConvTranspose [in,out,kh,kw]: 1,0. 1-D: 0,-1.
    int outAxis = -1;
    int inAxis = -1;

    std::string layer; ///< the layer it belongs to ("model.layers.3.mlp.down_proj")
    std::string op;    ///< op type of the consuming node (ONNX), empty if unknown
    int opInput = -1;  ///< which input of that node it is (ONNX), -1 if unknown
    /// Position of the consuming node in the graph's node order (ONNX graphs list nodes
    /// topologically, so this is execution order); -1 if unknown.
    int64_t graphOrder = -1;

    uint64_t elementCount() const;
    bool readable() const { return dtype != DType::Unsupported && storage != nullptr; }
};

struct MetadataEntry {
    std::string key;
    std::string value; ///< rendered as text; long arrays are summarised
};

struct Model {
    std::string path;    ///< what the user opened
    std::string format;  ///< "safetensors", "onnx", "gguf", "npy", "npz"
    std::vector<MetadataEntry> metadata;
    std::vector<TensorInfo> tensors;

    uint64_t totalParameters() const;
    uint64_t totalBytes() const;
    const TensorInfo* find(const std::string& name) const;
};

/// Axis roles from a tensor name and rank for formats without a graph (safetensors, npy,
/// GGUF, whose shape is already reversed): rank 2 and 4 -> out 0, in 1; rank 1 -> out 0;
/// rank 3 (Conv1d [out,in,k]) -> out 0, in 1; others -> none.
void assignRolesByRank(TensorInfo& t);

/// A helper constant rather than a learned parameter: a scalar (an epsilon, an exponent, a
/// counter), a 0-/1-D integer or boolean tensor (shapes, axes, indices), or an input that an
/// ONNX node reads as a shape, index, axis or size (Reshape's shape, Gather's indices, Slice's
/// starts, ...). The data input of such a node (Gather's table: an embedding) is not one.
bool isHelperConstant(const TensorInfo& t);

/// A weight matrix or kernel the quantizer is for: rank >= 2 and not a helper constant.
bool isWeightTensor(const TensorInfo& t);

/// Layer of a tensor named like a PyTorch state dict entry: the name without its last
/// dotted component ("a.b.weight" -> "a.b"); a name without dots is its own layer.
std::string layerFromName(const std::string& name);

} // namespace qs::core
