#include "tensor.h"

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

std::string layerFromName(const std::string& name)
{
    const auto dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) return name;
    return name.substr(0, dot);
}

} // namespace qs::core
