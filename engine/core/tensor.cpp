#include "tensor.h"

#include <string_view>
#include <utility>

#include "checked.h"

namespace qs::core {

uint64_t TensorInfo::elementCount() const
{
    // Readers reject shapes whose product overflows, so this cannot wrap for a loaded tensor.
    return checkedProduct(shape).value_or(0);
}

uint64_t Model::totalParameters() const
{
    uint64_t n = 0;
    for (const auto& t : tensors) n += t.elementCount();
    return n;
}

uint64_t Model::totalBytes() const
{
    uint64_t n = 0;
    for (const auto& t : tensors) n += t.bytes;
    return n;
}

const TensorInfo* Model::find(const std::string& name) const
{
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

void assignRolesByRank(TensorInfo& t)
{
    switch (t.shape.size()) {
    case 1: t.outAxis = 0; t.inAxis = -1; break;
    case 2: case 3: case 4: t.outAxis = 0; t.inAxis = 1; break;
    default: t.outAxis = -1; t.inAxis = -1; break;
    }
}

namespace {

/// ONNX ops whose inputs from `firstShapeInput` on are shapes, indices, axes or sizes.
int firstShapeInput(std::string_view op)
{
    static const std::pair<std::string_view, int> kOps[] = {
        {"Reshape", 1},   {"Gather", 1},     {"GatherElements", 1}, {"GatherND", 1}, {"Slice", 1},
        {"Expand", 1},    {"Tile", 1},       {"Unsqueeze", 1},      {"Squeeze", 1},  {"Pad", 1},
        {"Resize", 1},    {"Upsample", 1},   {"TopK", 1},           {"Split", 1},    {"ReduceSum", 1},
        {"ReduceMean", 1}, {"ReduceMax", 1}, {"ReduceMin", 1},      {"ReduceProd", 1}, {"OneHot", 1},
        {"ScatterND", 1}, {"ScatterElements", 1}, {"CumSum", 1},   {"ConstantOfShape", 0}, {"Range", 0},
        {"Trilu", 1},     {"RoiAlign", 1},
    };
    for (const auto& [name, first] : kOps)
        if (op == name) return first;
    return -1;
}

bool integerOrBool(DType d)
{
    switch (d) {
    case DType::BOOL: case DType::U8: case DType::U16: case DType::U32: case DType::U64:
    case DType::I8: case DType::I16: case DType::I32: case DType::I64: return true;
    default: return false;
    }
}

} // namespace

bool isHelperConstant(const TensorInfo& t)
{
    if (t.elementCount() <= 1) return true;
    if (t.shape.size() <= 1 && integerOrBool(t.dtype)) return true;
    const int first = firstShapeInput(t.op);
    return first >= 0 && t.opInput >= first;
}

bool isWeightTensor(const TensorInfo& t) { return t.shape.size() >= 2 && !isHelperConstant(t); }

std::string layerFromName(const std::string& name)
{
    const auto dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) return name;
    return name.substr(0, dot);
}

} // namespace qs::core
