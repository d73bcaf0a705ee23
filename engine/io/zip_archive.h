#pragma once
/// A read-only view of a zip archive (what .npz files are): the central directory, with zip64
/// sizes and offsets, and each member's bytes, stored (a range of the mapping) or deflated
/// (read as a stream inflated in bounded pieces, or inflated whole on first bytes() call).
#include "core/result.h"
#include "core/storage.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace qs::io {

struct ZipMember {
    std::string name;
    uint16_t method = 0; ///< 0 stored, 8 deflate
    uint16_t flags = 0;
    uint32_t crc32 = 0;
    uint64_t compressedSize = 0;
    uint64_t uncompressedSize = 0;
    uint64_t localHeaderOffset = 0;
};

/// Reads the end-of-central-directory record (zip64 when present) and every entry, checking
/// each offset, size and name length against the file.
core::Result<std::vector<ZipMember>> listZipMembers(const std::shared_ptr<const core::MappedFile>& file);

/// The uncompressed bytes of one member. Stored members are the mapped range itself
/// (payloadOffset() is where it starts in the file). Deflated members are streamed():
/// openStream() inflates them front to back into the reader's own buffers (statistics and
/// saving read them so, in bounded memory); bytes() inflates the whole member once, for readers
/// that need it all at once (quantizing builds a matrix of the same size anyway) and refuses
/// with an error when it does not fit in memory. Both check the declared size and the CRC-32.
class ZipMemberStorage final : public core::Storage {
public:
    ZipMemberStorage(std::shared_ptr<const core::MappedFile> file, ZipMember member, uint64_t dataOffset);
    const std::string& origin() const override { return m_origin; }
    core::Result<std::span<const std::byte>> bytes() const override;
    bool isMapped() const override { return m_member.method == 0; }
    bool streamed() const override { return m_member.method != 0; }
    core::Result<std::unique_ptr<core::ByteStream>> openStream(uint64_t offset) const override;

    /// Offset of the member's first byte within bytes().
    uint64_t payloadOffset() const { return m_member.method == 0 ? m_dataOffset : 0; }
    /// The first `limit` uncompressed bytes (inflating only those), for reading a header.
    core::Result<std::vector<std::byte>> prefix(uint64_t limit) const;

private:
    core::Status inflateAll() const;

    std::shared_ptr<const core::MappedFile> m_file;
    ZipMember m_member;
    uint64_t m_dataOffset; ///< where the member's (compressed) data starts in the file
    std::string m_origin;
    mutable std::once_flag m_once;
    mutable std::vector<std::byte> m_inflated;
    mutable std::optional<core::Error> m_error;
};

core::Result<std::shared_ptr<ZipMemberStorage>> openZipMember(const std::shared_ptr<const core::MappedFile>& file,
                                                              const ZipMember& member);

} // namespace qs::io
