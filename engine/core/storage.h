#pragma once
/// Where tensor bytes live: a memory-mapped file (the normal case), a buffer the reader owns
/// (ONNX typed fields), or data produced in order (deflated .npz members), read as a stream.
#include "result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qs::core {

/// Reads data front to back in pieces of the caller's size, so data that is produced in order
/// (a deflated .npz member) is never held whole.
class ByteStream {
public:
    virtual ~ByteStream() = default;
    /// Fills `out` with the next bytes and returns how many; fewer than out.size() only at the
    /// end of the data. Corrupt or unreadable data is an error.
    virtual Result<uint64_t> read(std::span<std::byte> out) = 0;
    /// Reads on to the end and checks the data whole (its size, its checksum). Call it after
    /// the last read whose bytes were used: a corrupt member is found only here.
    virtual Status finish() = 0;
};

class Storage {
public:
    virtual ~Storage() = default;
    /// The file this data came from, for error messages.
    virtual const std::string& origin() const = 0;
    /// The bytes. Mapped storage answers at once; lazy storage may do work (once, thread-safe)
    /// and can fail. Reads from a mapped file must run inside guardedRead() (faultguard.h),
    /// since the file can shrink while mapped.
    virtual Result<std::span<const std::byte>> bytes() const = 0;
    /// True when reads may fault because the bytes are a file mapping.
    virtual bool isMapped() const = 0;
    /// True when bytes() would have to build the whole data in memory (a deflated member):
    /// readers that can go front to back should use openStream() instead.
    virtual bool streamed() const { return false; }
    /// A reader of the data from byte `offset` on. The default reads bytes() (under the fault
    /// guard when mapped).
    virtual Result<std::unique_ptr<ByteStream>> openStream(uint64_t offset) const;
};

/// A read-only private mapping of a whole regular file. Opening maps the file without reading
/// it; pages are read by the kernel on first touch, so a 16 GB file opens instantly.
class MappedFile final : public Storage {
public:
    /// Fails (with the path in the message) on a missing file, a directory, a non-regular
    /// file (/dev/zero, a FIFO), an empty file or a mapping error.
    static Result<std::shared_ptr<MappedFile>> open(const std::filesystem::path& path);
    ~MappedFile() override;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& origin() const override { return m_path; }
    Result<std::span<const std::byte>> bytes() const override { return span(); }
    bool isMapped() const override { return true; }

    std::span<const std::byte> span() const { return {m_data, m_size}; }
    uint64_t size() const { return m_size; }
    const std::byte* data() const { return m_data; }

private:
    MappedFile(std::string path, const std::byte* data, uint64_t size)
        : m_path(std::move(path)), m_data(data), m_size(size) {}
    std::string m_path;
    const std::byte* m_data = nullptr;
    uint64_t m_size = 0;
};

/// Bytes owned in memory.
class BufferStorage final : public Storage {
public:
    BufferStorage(std::string origin, std::vector<std::byte> data)
        : m_origin(std::move(origin)), m_data(std::move(data)) {}
    const std::string& origin() const override { return m_origin; }
    Result<std::span<const std::byte>> bytes() const override { return std::span<const std::byte>(m_data); }
    bool isMapped() const override { return false; }

private:
    std::string m_origin;
    std::vector<std::byte> m_data;
};

} // namespace qs::core
