#pragma once
/// Writers for the two formats Quantscope saves quantized models in. Both write to a
/// temporary file beside the target, fsync it, rename it into place and fsync the folder, so a
/// failed or cancelled save (or a crash after it) never leaves a half-written file where the
/// user's model was. Filesystem failures come back as error values naming the path.
#include "modelreader.h"
#include "spill_file.h"

#include "core/result.h"
#include "core/tensor.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace qs::io {

struct OutTensor {
    std::string name;
    core::DType dtype = core::DType::F32;
    std::vector<int64_t> shape;   ///< outermost first
    /// Where the bytes (exactly byteSizeFor(dtype, elements), little-endian) come from: a
    /// tensor of an open model, copied as it is (dtype and shape must be the source's), or
    /// spillBytes bytes at spillOffset of a scratch file.
    const core::TensorInfo* source = nullptr;
    const SpillFile* spill = nullptr;
    uint64_t spillOffset = 0;
    uint64_t spillBytes = 0;

    uint64_t size() const { return source ? source->bytes : spillBytes; }
};

/// safetensors: header {"__metadata__": {...}, NAME: {dtype, shape, data_offsets}} padded
/// with spaces to a multiple of 8 bytes, then the tensors back to back in the given order.
/// Block (GGUF) dtypes cannot be stored: InvalidArgument.
core::Status writeSafetensors(const std::filesystem::path& path, const std::vector<OutTensor>& tensors,
                              const std::vector<core::MetadataEntry>& metadata);

/// GGUF v3: `raw` metadata records first (copied from a source GGUF, which then also sets the
/// alignment), then `metadata` as strings (keys must not repeat raw ones), tensor infos
/// (ne[] = shape reversed), data aligned to 32 bytes or raw's alignment. dtype must be one
/// GGUF can hold (F32, F16, BF16, F64, I8..I64, Q4_0 ... Q8_K).
core::Status writeGguf(const std::filesystem::path& path, const std::vector<OutTensor>& tensors,
                       const std::vector<core::MetadataEntry>& metadata,
                       const GgufRawMetadata* raw = nullptr);

} // namespace qs::io
