#include "zip_archive.h"

#include "core/bytereader.h"
#include "core/checked.h"
#include "core/faultguard.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace qs::io {

using core::ByteReader;
using core::Error;
using core::ErrorCode;

namespace {

constexpr uint32_t kEocdSig = 0x06054b50, kZip64LocSig = 0x07064b50, kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50, kLocalSig = 0x04034b50;
constexpr uint64_t kMaxRatio = 1032; // deflate cannot compress better than about 1032:1

Error zipError(const std::string& origin, const std::string& what)
{
    return Error{ErrorCode::Format, origin + ": " + what};
}

/// Copies [offset, offset + n) of the file under the fault guard (n checked by the caller).
core::Result<std::vector<std::byte>> copyRange(const core::MappedFile& f, uint64_t offset, uint64_t n)
{
    std::vector<std::byte> out(n);
    auto st = core::guarded(f.origin(), [&] { if (n) std::memcpy(out.data(), f.data() + offset, n); });
    if (!st) return st.error();
    return out;
}

struct Directory {
    uint64_t entries = 0, size = 0, offset = 0;
};

/// Finds the end of central directory record (searching back over a comment of up to 64 KiB)
/// and, when its fields are saturated, the zip64 record.
core::Result<Directory> findDirectory(const core::MappedFile& f)
{
    const std::string& origin = f.origin();
    const uint64_t tailSize = std::min<uint64_t>(f.size(), 22 + 65535 + 20 + 56);
    auto tail = copyRange(f, f.size() - tailSize, tailSize);
    if (!tail) return tail.error();
    const auto& t = *tail;
    std::optional<uint64_t> at;
    for (uint64_t i = t.size() >= 22 ? t.size() - 22 + 1 : 0; i-- > 0;) {
        uint32_t sig;
        std::memcpy(&sig, t.data() + i, 4);
        if (sig == kEocdSig) { at = i; break; }
    }
    if (!at) return zipError(origin, "not a zip archive (no end of central directory record)");
    ByteReader r(std::span<const std::byte>(t).subspan(*at + 4));
    r.skip(6);
    Directory d;
    d.entries = r.read<uint16_t>();
    d.size = r.read<uint32_t>();
    d.offset = r.read<uint32_t>();
    if (d.entries == 0xffff || d.size == 0xffffffff || d.offset == 0xffffffff) {
        if (*at < 20) return zipError(origin, "zip64 locator missing");
        ByteReader loc(std::span<const std::byte>(t).subspan(*at - 20, 20));
        if (loc.read<uint32_t>() != kZip64LocSig) return zipError(origin, "zip64 locator missing");
        loc.skip(4);
        const uint64_t recOffset = loc.read<uint64_t>();
        if (!core::rangeInside(recOffset, 56, f.size())) return zipError(origin, "zip64 record offset is past the end");
        auto rec = copyRange(f, recOffset, 56);
        if (!rec) return rec.error();
        ByteReader z(*rec);
        if (z.read<uint32_t>() != kZip64EocdSig) return zipError(origin, "bad zip64 end of central directory record");
        z.skip(8 + 2 + 2 + 4 + 4 + 8);
        d.entries = z.read<uint64_t>();
        d.size = z.read<uint64_t>();
        d.offset = z.read<uint64_t>();
    }
    if (!core::rangeInside(d.offset, d.size, f.size()))
        return Error{ErrorCode::Truncated, origin + ": zip central directory (offset " + std::to_string(d.offset) +
                                               ", " + std::to_string(d.size) + " bytes) runs past the end of the file"};
    if (d.entries > d.size / 46) return zipError(origin, "zip central directory is too small for its entry count");
    return d;
}

/// Applies the zip64 extra field (id 1): 64-bit values for the fields saturated at 0xffffffff.
bool applyZip64Extra(std::span<const std::byte> extra, ZipMember& m)
{
    ByteReader r(extra);
    while (r.ok() && r.remaining() >= 4) {
        const uint16_t id = r.read<uint16_t>(), len = r.read<uint16_t>();
        if (len > r.remaining()) return false;
        if (id != 1) { r.skip(len); continue; }
        ByteReader z(extra.subspan(r.position(), len));
        if (m.uncompressedSize == 0xffffffff) m.uncompressedSize = z.read<uint64_t>();
        if (m.compressedSize == 0xffffffff) m.compressedSize = z.read<uint64_t>();
        if (m.localHeaderOffset == 0xffffffff) m.localHeaderOffset = z.read<uint64_t>();
        return z.ok();
    }
    return r.ok();
}

} // namespace

core::Result<std::vector<ZipMember>> listZipMembers(const std::shared_ptr<const core::MappedFile>& file)
{
    const auto& f = *file;
    auto dir = findDirectory(f);
    if (!dir) return dir.error();
    auto cd = copyRange(f, dir->offset, dir->size);
    if (!cd) return cd.error();
    ByteReader r(*cd);
    std::vector<ZipMember> members;
    for (uint64_t i = 0; i < dir->entries; ++i) {
        if (r.read<uint32_t>() != kCentralSig || !r.ok())
            return zipError(f.origin(), "zip central directory entry " + std::to_string(i) + " is damaged");
        ZipMember m;
        r.skip(4);
        m.flags = r.read<uint16_t>();
        m.method = r.read<uint16_t>();
        r.skip(4);
        m.crc32 = r.read<uint32_t>();
        m.compressedSize = r.read<uint32_t>();
        m.uncompressedSize = r.read<uint32_t>();
        const uint16_t nameLen = r.read<uint16_t>(), extraLen = r.read<uint16_t>(), commentLen = r.read<uint16_t>();
        r.skip(8);
        m.localHeaderOffset = r.read<uint32_t>();
        if (!r.ok() || uint64_t(nameLen) + extraLen + commentLen > r.remaining())
            return Error{ErrorCode::Truncated, f.origin() + ": zip central directory is truncated"};
        m.name.assign(reinterpret_cast<const char*>(cd->data() + r.position()), nameLen);
        if (!applyZip64Extra(std::span<const std::byte>(*cd).subspan(r.position() + nameLen, extraLen), m))
            return zipError(f.origin(), "member " + m.name + " has a damaged zip64 extra field");
        r.skip(uint64_t(nameLen) + extraLen + commentLen);
        members.push_back(std::move(m));
    }
    return members;
}

core::Result<std::shared_ptr<ZipMemberStorage>> openZipMember(const std::shared_ptr<const core::MappedFile>& file,
                                                              const ZipMember& m)
{
    const std::string what = file->origin() + ": member " + m.name;
    if (m.flags & 1) return Error{ErrorCode::Unsupported, what + " is encrypted"};
    if (m.method != 0 && m.method != 8)
        return Error{ErrorCode::Unsupported, what + " uses compression method " + std::to_string(m.method) + " (only stored and deflate are supported)"};
    if (m.method == 0 && m.compressedSize != m.uncompressedSize)
        return zipError(what, "is stored but its sizes differ");
    if (m.method == 8 && m.uncompressedSize / kMaxRatio > m.compressedSize + 1)
        return zipError(what, "claims an impossible compression ratio (" + std::to_string(m.uncompressedSize) + " from " + std::to_string(m.compressedSize) + " bytes)");
    if (!core::rangeInside(m.localHeaderOffset, 30, file->size()))
        return Error{ErrorCode::Truncated, what + ": local header is past the end of the file"};
    auto local = copyRange(*file, m.localHeaderOffset, 30);
    if (!local) return local.error();
    ByteReader r(*local);
    if (r.read<uint32_t>() != kLocalSig) return zipError(what, "has a bad local header signature");
    r.skip(22);
    const uint64_t nameLen = r.read<uint16_t>(), extraLen = r.read<uint16_t>();
    const uint64_t dataOffset = m.localHeaderOffset + 30 + nameLen + extraLen;
    if (!core::rangeInside(dataOffset, m.compressedSize, file->size()))
        return Error{ErrorCode::Truncated, what + ": data (" + std::to_string(m.compressedSize) + " bytes at offset " +
                                               std::to_string(dataOffset) + ") runs past the end of the file"};
    return std::make_shared<ZipMemberStorage>(file, m, dataOffset);
}

ZipMemberStorage::ZipMemberStorage(std::shared_ptr<const core::MappedFile> file, ZipMember member, uint64_t dataOffset)
    : m_file(std::move(file)), m_member(std::move(member)), m_dataOffset(dataOffset),
      m_origin(m_file->origin() + ": member " + m_member.name)
{
}

namespace {

/// Inflates a member front to back into the caller's buffers, checking as it goes that it does
/// not grow past its declared size, and at the end its size and CRC-32. Reads of the mapped
/// compressed bytes run under the fault guard.
class InflateStream final : public core::ByteStream {
public:
    InflateStream(std::shared_ptr<const core::MappedFile> file, const ZipMember& m, uint64_t dataOffset,
                  const std::string& origin)
        : m_file(std::move(file)), m_member(m), m_dataOffset(dataOffset), m_origin(origin)
    {
    }
    ~InflateStream() override
    {
        if (m_started) inflateEnd(&m_zs);
    }
    InflateStream(const InflateStream&) = delete;
    InflateStream& operator=(const InflateStream&) = delete;

    core::Status start()
    {
        if (inflateInit2(&m_zs, -MAX_WBITS) != Z_OK) return Error{ErrorCode::Io, m_origin + ": cannot start zlib"};
        m_started = true;
        return {};
    }

    core::Result<uint64_t> read(std::span<std::byte> out) override
    {
        uint64_t produced = 0;
        while (produced < out.size() && !m_ended) {
            const uint64_t room = std::min<uint64_t>(out.size() - produced, m_member.uncompressedSize - m_total);
            if (room == 0) { // declared size reached: the stream must end here, with no more bytes
                std::byte probe[1];
                auto got = step(std::span<std::byte>(probe, 1));
                if (!got) return got.error();
                if (*got > 0) return sizeError("more than");
                break;
            }
            auto got = step(out.subspan(produced, std::min<uint64_t>(room, 1u << 30)));
            if (!got) return got.error();
            produced += *got;
        }
        return produced;
    }

    core::Status finish() override
    {
        std::vector<std::byte> sink(uint64_t(1) << 16);
        while (!m_ended) {
            auto got = read(sink);
            if (!got) return got.error();
            if (*got == 0 && !m_ended) break;
        }
        if (!m_ended || m_total != m_member.uncompressedSize) return sizeError("");
        if (m_crc != m_member.crc32)
            return Error{ErrorCode::Format, m_origin + ": CRC-32 mismatch: the member is corrupt"};
        return {};
    }

private:
    Error sizeError(const std::string& relation) const
    {
        return Error{ErrorCode::Format, m_origin + ": inflates to " + (relation.empty() ? "" : relation + " ") +
                                            std::to_string(m_total) + " bytes, the directory says " +
                                            std::to_string(m_member.uncompressedSize)};
    }

    /// One inflate() call into `out`; returns the bytes it produced (and adds them to the CRC).
    core::Result<uint64_t> step(std::span<std::byte> out)
    {
        const uint64_t inLeft = m_member.compressedSize - m_inDone;
        const uInt inChunk = uInt(std::min<uint64_t>(inLeft, 1u << 30));
        m_zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(m_file->data() + m_dataOffset + m_inDone));
        m_zs.avail_in = inChunk;
        m_zs.next_out = reinterpret_cast<Bytef*>(out.data());
        m_zs.avail_out = uInt(out.size());
        int rc = Z_OK;
        auto st = core::guarded(m_file->origin(), [&] { rc = inflate(&m_zs, Z_NO_FLUSH); });
        if (!st) return st.error();
        m_inDone += inChunk - m_zs.avail_in;
        const uint64_t got = out.size() - m_zs.avail_out;
        m_total += got;
        m_crc = uint32_t(crc32_z(m_crc, reinterpret_cast<const Bytef*>(out.data()), got));
        if (rc == Z_STREAM_END) {
            m_ended = true;
        } else if (rc == Z_BUF_ERROR && m_inDone == m_member.compressedSize) {
            return Error{ErrorCode::Truncated, m_origin + ": deflate data ends early (after " +
                                                   std::to_string(m_total) + " of " +
                                                   std::to_string(m_member.uncompressedSize) + " bytes)"};
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return Error{ErrorCode::Format, m_origin + ": deflate data is corrupt (zlib error " + std::to_string(rc) + ")"};
        }
        return got;
    }

    std::shared_ptr<const core::MappedFile> m_file;
    ZipMember m_member;
    uint64_t m_dataOffset;
    std::string m_origin;
    z_stream m_zs{};
    bool m_started = false, m_ended = false;
    uint64_t m_inDone = 0, m_total = 0;
    uint32_t m_crc = 0;
};

} // namespace

core::Result<std::unique_ptr<core::ByteStream>> ZipMemberStorage::openStream(uint64_t offset) const
{
    if (m_member.method == 0) return core::Storage::openStream(offset); // offsets into the mapped file
    if (offset > m_member.uncompressedSize)
        return Error{ErrorCode::Truncated, m_origin + ": offset " + std::to_string(offset) + " is past the end of the member"};
    auto stream = std::make_unique<InflateStream>(m_file, m_member, m_dataOffset, m_origin);
    if (auto st = stream->start(); !st) return st.error();
    std::vector<std::byte> skip(std::min<uint64_t>(offset, uint64_t(1) << 16));
    for (uint64_t left = offset; left > 0;) { // the CRC covers the whole member: inflate the skipped part too
        auto got = stream->read(std::span<std::byte>(skip).first(std::min<uint64_t>(left, skip.size())));
        if (!got) return got.error();
        if (*got == 0) return Error{ErrorCode::Truncated, m_origin + ": the member ends before offset " + std::to_string(offset)};
        left -= *got;
    }
    return std::unique_ptr<core::ByteStream>(std::move(stream));
}

core::Status ZipMemberStorage::inflateAll() const
{
    auto stream = openStream(0);
    if (!stream) return stream.error();
    try {
        m_inflated.resize(m_member.uncompressedSize);
    } catch (const std::bad_alloc&) {
        return Error{ErrorCode::Unsupported, m_origin + ": inflates to " + std::to_string(m_member.uncompressedSize) +
                                                 " bytes, more than this process can hold in memory at once"};
    }
    auto got = (*stream)->read(m_inflated);
    if (!got) return got.error();
    return (*stream)->finish();
}

core::Result<std::span<const std::byte>> ZipMemberStorage::bytes() const
{
    if (m_member.method == 0) return m_file->span();
    std::call_once(m_once, [this] {
        if (auto st = inflateAll(); !st) {
            m_error = st.error();
            std::vector<std::byte>().swap(m_inflated);
        }
    });
    if (m_error) return *m_error;
    return std::span<const std::byte>(m_inflated);
}

core::Result<std::vector<std::byte>> ZipMemberStorage::prefix(uint64_t limit) const
{
    const uint64_t n = std::min(limit, m_member.uncompressedSize);
    if (m_member.method == 0) return copyRange(*m_file, m_dataOffset, n);
    auto stream = openStream(0);
    if (!stream) return stream.error();
    std::vector<std::byte> out(n);
    auto got = (*stream)->read(out);
    if (!got) return got.error();
    out.resize(*got);
    if (n == m_member.uncompressedSize)
        if (auto st = (*stream)->finish(); !st) return st.error();
    return out;
}

} // namespace qs::io
