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

/// Inflates compressed bytes into `out` (already sized); returns bytes produced, or an error.
core::Result<uint64_t> inflateInto(const core::MappedFile& f, uint64_t offset, uint64_t size,
                                   std::vector<std::byte>& out, bool wantEnd, const std::string& what)
{
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return Error{ErrorCode::Io, what + ": cannot start zlib"};
    uint64_t inDone = 0, outDone = 0;
    int rc = Z_OK;
    auto st = core::guarded(f.origin(), [&] {
        while (rc == Z_OK) {
            const uInt inChunk = uInt(std::min<uint64_t>(size - inDone, 1u << 30));
            const uInt outChunk = uInt(std::min<uint64_t>(out.size() - outDone, 1u << 30));
            if (outChunk == 0) break;
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(f.data() + offset + inDone));
            zs.avail_in = inChunk;
            zs.next_out = reinterpret_cast<Bytef*>(out.data() + outDone);
            zs.avail_out = outChunk;
            rc = inflate(&zs, Z_NO_FLUSH);
            inDone += inChunk - zs.avail_in;
            outDone += outChunk - zs.avail_out;
            if (rc == Z_BUF_ERROR && inDone < size && zs.avail_out > 0) rc = Z_OK;
        }
    });
    inflateEnd(&zs);
    if (!st) return st.error();
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && !wantEnd))
        return Error{ErrorCode::Format, what + ": deflate data is corrupt (zlib error " + std::to_string(rc) + ")"};
    if (wantEnd && (rc != Z_STREAM_END || outDone != out.size()))
        return Error{ErrorCode::Format, what + ": inflates to " + std::to_string(outDone) + " bytes, the directory says " +
                                            std::to_string(out.size())};
    return outDone;
}

} // namespace

core::Status ZipMemberStorage::inflateAll() const
{
    m_inflated.resize(m_member.uncompressedSize);
    auto n = inflateInto(*m_file, m_dataOffset, m_member.compressedSize, m_inflated, true, m_origin);
    if (!n) return n.error();
    const uint32_t crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(m_inflated.data()), m_inflated.size()));
    if (crc != m_member.crc32)
        return Error{ErrorCode::Format, m_origin + ": CRC-32 mismatch: the member is corrupt"};
    return {};
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
    std::vector<std::byte> out(n);
    auto got = inflateInto(*m_file, m_dataOffset, m_member.compressedSize, out, n == m_member.uncompressedSize, m_origin);
    if (!got) return got.error();
    out.resize(*got);
    return out;
}

} // namespace qs::io
