#include "shaders/spirv.h"

namespace qs::shaders {

std::span<const uint32_t> spirv(std::string_view name)
{
    for (const auto& e : shaderTable()) {
        if (e.name == name) return e.words;
    }
    return {};
}

std::vector<std::string> shaderNames()
{
    std::vector<std::string> names;
    for (const auto& e : shaderTable())
        names.emplace_back(e.name);
    return names;
}

} // namespace qs::shaders
