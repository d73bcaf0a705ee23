#pragma once
/// Opening a model file of any supported format. Opening reads headers only; tensor bytes
/// stay in the mapped file until statistics or quantization read them.
#include "core/result.h"
#include "core/tensor.h"

#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

namespace qs::io {

/// Detects the format from the file's first bytes, then its extension, and reads it:
/// .safetensors, model.safetensors.index.json (a sharded checkpoint, opened as one model),
/// .onnx, .gguf, .npy, .npz. A folder opens the model inside it (modelFileInFolder). Every
/// error message starts with the path.
core::Result<core::Model> openModel(const std::filesystem::path& path);

/// The model file of a folder as a Hugging Face checkpoint lays it out:
/// model.safetensors.index.json, else the only *.safetensors.index.json, else
/// model.safetensors, else the only .safetensors, else the only .gguf or .onnx. Several
/// candidates of the deciding kind, or none, give an error listing what was found.
core::Result<std::filesystem::path> modelFileInFolder(const std::filesystem::path& dir);

core::Result<core::Model> readSafetensors(const std::filesystem::path& path);
core::Result<core::Model> readSafetensorsIndex(const std::filesystem::path& indexJson);
core::Result<core::Model> readOnnx(const std::filesystem::path& path);
core::Result<core::Model> readGguf(const std::filesystem::path& path);

/// A GGUF file's metadata key/value records, byte for byte, to carry into another GGUF.
struct GgufRawMetadata {
    uint64_t count = 0;           ///< records in `bytes`
    std::vector<std::byte> bytes; ///< the records back to back, as the file stores them
    uint64_t alignment = 32;      ///< the file's general.alignment (32 when absent)
};
/// Reads them from the GGUF file `path`, leaving out every key for which drop(key) is true.
core::Result<GgufRawMetadata> readGgufRawMetadata(const std::filesystem::path& path,
                                                  const std::function<bool(std::string_view)>& drop);
core::Result<core::Model> readNpy(const std::filesystem::path& path);
core::Result<core::Model> readNpz(const std::filesystem::path& path);

} // namespace qs::io
