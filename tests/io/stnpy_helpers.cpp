// Byte builders for the safetensors / npy / npz suites (see stnpy_helpers.h).
#include "stnpy_helpers.h"

#include "core/faultguard.h"

#include <QFile>

#include <zlib.h>

namespace qs::stnpytest {

namespace {

void put16(QByteArray& b, uint16_t v)
{
    b.append(char(v & 0xFF)).append(char(v >> 8));
}

void put32(QByteArray& b, uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        b.append(char((v >> (8 * i)) & 0xFF));
}

uint32_t crcOf(const QByteArray& data)
{
    return uint32_t(
        crc32_z(0, reinterpret_cast<const Bytef*>(data.constData()), size_t(data.size())));
}

/// The fixed part shared by local and central headers, from "version needed" to the name length.
void putHeaderCore(QByteArray& b, const ZipEntry& e, uint32_t crc, uint64_t csize, uint64_t usize, bool zip64)
{
    put16(b, zip64 ? 45 : 20);   // version needed
    put16(b, 0);                 // flags
    put16(b, e.deflate ? 8 : 0); // method
    put16(b, 0);                 // time
    put16(b, 0x21);              // date (1980-01-01)
    put32(b, crc);
    put32(b, zip64 ? 0xFFFFFFFFu : uint32_t(csize));
    put32(b, zip64 ? 0xFFFFFFFFu : uint32_t(usize));
    put16(b, uint16_t(e.name.size()));
}

} // namespace

QByteArray le64(uint64_t v)
{
    QByteArray b;
    for (int i = 0; i < 8; ++i)
        b.append(char((v >> (8 * i)) & 0xFF));
    return b;
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QByteArray safetensorsFile(const std::string& headerJson, const QByteArray& data)
{
    QByteArray b = le64(headerJson.size());
    b.append(headerJson.data(), qsizetype(headerJson.size()));
    b.append(data);
    return b;
}

QByteArray npyFile(int major, const std::string& dict, const QByteArray& data)
{
    const int prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((prefix + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    QByteArray b("\x93NUMPY", 6);
    b.append(char(major)).append(char(0));
    if (major == 1)
        put16(b, uint16_t(header.size()));
    else
        put32(b, uint32_t(header.size()));
    b.append(header.data(), qsizetype(header.size()));
    b.append(data);
    return b;
}

QByteArray deflateRaw(const QByteArray& data)
{
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    QByteArray out(qsizetype(deflateBound(&zs, uLong(data.size()))), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.constData()));
    zs.avail_in = uInt(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(qsizetype(zs.total_out));
    deflateEnd(&zs);
    return out;
}

QByteArray zipArchive(const std::vector<ZipEntry>& entries, bool zip64)
{
    QByteArray file, central;
    for (const auto& e : entries) {
        const QByteArray payload = e.deflate && !e.predeflated ? deflateRaw(e.data) : e.data;
        const uint32_t crc = e.predeflated ? e.inflatedCrc : crcOf(e.data);
        const uint64_t usize = e.predeflated ? e.inflatedSize : uint64_t(e.data.size());
        const uint64_t localOffset = uint64_t(file.size());
        QByteArray extra; // zip64 extra field: uncompressed, compressed[, local header offset]
        if (zip64) {
            put16(extra, 1);
            put16(extra, 16);
            extra.append(le64(usize)).append(le64(uint64_t(payload.size())));
        }
        put32(file, 0x04034b50);
        putHeaderCore(file, e, crc, uint64_t(payload.size()), usize, zip64);
        put16(file, uint16_t(extra.size()));
        file.append(e.name.data(), qsizetype(e.name.size())).append(extra).append(payload);

        if (zip64) {
            extra.clear();
            put16(extra, 1);
            put16(extra, 24);
            extra.append(le64(usize)).append(le64(uint64_t(payload.size())));
            extra.append(le64(localOffset));
        }
        put32(central, 0x02014b50);
        put16(central, zip64 ? 45 : 20); // version made by
        putHeaderCore(central, e, crc, uint64_t(payload.size()), usize, zip64);
        put16(central, uint16_t(extra.size()));
        put16(central, 0); // comment length
        put16(central, 0); // disk number
        put16(central, 0); // internal attributes
        put32(central, 0); // external attributes
        put32(central, zip64 ? 0xFFFFFFFFu : uint32_t(localOffset));
        central.append(e.name.data(), qsizetype(e.name.size())).append(extra);
    }
    const uint64_t cdOffset = uint64_t(file.size()), cdSize = uint64_t(central.size());
    file.append(central);
    if (zip64) {
        const uint64_t recordOffset = uint64_t(file.size());
        put32(file, 0x06064b50);
        file.append(le64(44)); // size of the rest of the record
        put16(file, 45);
        put16(file, 45);
        put32(file, 0);
        put32(file, 0);
        file.append(le64(entries.size())).append(le64(entries.size()));
        file.append(le64(cdSize)).append(le64(cdOffset));
        put32(file, 0x07064b50);
        put32(file, 0);
        file.append(le64(recordOffset));
        put32(file, 1);
    }
    put32(file, 0x06054b50);
    put16(file, 0);
    put16(file, 0);
    put16(file, zip64 ? 0xFFFF : uint16_t(entries.size()));
    put16(file, zip64 ? 0xFFFF : uint16_t(entries.size()));
    put32(file, zip64 ? 0xFFFFFFFFu : uint32_t(cdSize));
    put32(file, zip64 ? 0xFFFFFFFFu : uint32_t(cdOffset));
    put16(file, 0); // comment length
    return file;
}

std::vector<float> readValues(const core::TensorInfo& t, bool* ok)
{
    *ok = false;
    if (!t.storage) return {};
    auto bytes = t.storage->bytes();
    if (!bytes || t.offset > bytes->size() || t.bytes > bytes->size() - t.offset) return {};
    std::vector<float> out(t.elementCount());
    bool converted = false;
    auto st = core::guarded(t.storage->origin(), [&] {
        converted = core::convertToF32(t.dtype, bytes->data() + t.offset, out.size(), out.data());
    });
    *ok = st.ok() && converted;
    return out;
}

} // namespace qs::stnpytest
