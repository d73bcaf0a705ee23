#pragma once
/// A scratch file for data produced before it can be written in place: saving a quantized
/// model learns each tensor's stored size only after quantizing it, while both safetensors and
/// GGUF want every size in the header. Parts are appended here as they are made (so memory
/// holds one tensor at a time) and copied into the final file afterwards. The file is created
/// beside the output (same disk, not a RAM-backed /tmp) and unlinked at once, so it vanishes
/// however the process ends.
#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace qs::io {

class SpillFile {
public:
    /// Creates and unlinks `near`.spill.tmp; fails with the path and the OS reason.
    static core::Result<SpillFile> create(const std::filesystem::path& near);
    SpillFile(SpillFile&& other) noexcept;
    SpillFile& operator=(SpillFile&&) = delete;
    SpillFile(const SpillFile&) = delete;
    ~SpillFile();

    /// Appends `bytes`; returns the offset they start at.
    core::Result<uint64_t> append(std::span<const std::byte> bytes);
    /// Reads `n` bytes at `offset` into `out`.
    core::Status read(uint64_t offset, std::byte* out, uint64_t n) const;

private:
    SpillFile(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd = -1;
    std::string m_path;
    uint64_t m_size = 0;
};

} // namespace qs::io
