#pragma once
/// The SPIR-V of every compute shader variant, compiled by glslc at build time
/// (cmake/QsShaders.cmake) and embedded in the qs_shaders library. A variant is named in
/// shaders/CMakeLists.txt (qs_add_shader), e.g. "read_bandwidth" or "read_bandwidth_vec4".
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qs::shaders {

/// One embedded variant: its name and its SPIR-V words.
struct ShaderEntry {
    std::string_view name;
    std::span<const uint32_t> words;
};

/// Every embedded variant, in the order shaders/CMakeLists.txt adds them (generated).
std::span<const ShaderEntry> shaderTable();

/// The SPIR-V words of the variant `name`; an empty span when no variant has that name.
std::span<const uint32_t> spirv(std::string_view name);

/// The names of all embedded variants.
std::vector<std::string> shaderNames();

} // namespace qs::shaders
