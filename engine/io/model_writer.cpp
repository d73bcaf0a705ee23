#include "model_writer.h"

#include "gguf_format.h"

#include "core/checked.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include <fcntl.h>
#include <unistd.h>

namespace qs::io {

using core::Error;
using core::ErrorCode;

namespace {

core::Status checkTensors(const std::filesystem::path& path, const std::vector<OutTensor>& tensors)
{
    std::set<std::string> names;
    for (const auto& t : tensors) {
        if (!names.insert(t.name).second)
            return Error{ErrorCode::InvalidArgument, path.string() + ": duplicate tensor name '" + t.name + "'"};
        const auto elems = core::checkedProduct(t.shape);
        if (!elems)
            return Error{ErrorCode::InvalidArgument, path.string() + ": tensor '" + t.name + "' has a bad shape"};
        const auto size = core::byteSizeFor(t.dtype, *elems);
        if (t.source && !t.source->readable())
            return Error{ErrorCode::Unsupported, path.string() + ": tensor '" + t.name + "' has a type (" +
                                                     t.source->typeName + ") that cannot be copied"};
        if (!size || *size != t.size())
            return Error{ErrorCode::InvalidArgument, path.string() + ": tensor '" + t.name + "' has " +
                                                         std::to_string(t.size()) + " bytes, its dtype and shape need " +
                                                         (size ? std::to_string(*size) : std::string("a whole number of blocks"))};
    }
    return {};
}

/// Writes a tensor's bytes: its own buffer, or its source file's bytes copied through a
/// bounded buffer (reads of the mapping are guarded; the stream is written outside the guard).
core::Status writeData(std::ostream& out, const OutTensor& t)
{
    if (t.spill) {
        std::vector<std::byte> buffer(std::min<uint64_t>(t.spillBytes, uint64_t(1) << 22));
        for (uint64_t done = 0; done < t.spillBytes;) {
            const uint64_t n = std::min<uint64_t>(buffer.size(), t.spillBytes - done);
            if (auto st = t.spill->read(t.spillOffset + done, buffer.data(), n); !st) return st;
            out.write(reinterpret_cast<const char*>(buffer.data()), std::streamsize(n));
            done += n;
        }
        return {};
    }
    if (!t.source) return Error{ErrorCode::InvalidArgument, "tensor '" + t.name + "' has no bytes to write"};
    // A stream reads mapped sources under the fault guard and inflates deflated .npz members
    // piece by piece, so neither is ever held whole.
    const auto& storage = *t.source->storage;
    auto stream = storage.openStream(t.source->offset);
    if (!stream) return stream.error();
    std::vector<std::byte> buffer(std::min<uint64_t>(t.source->bytes, uint64_t(1) << 22));
    for (uint64_t done = 0; done < t.source->bytes;) {
        const uint64_t n = std::min<uint64_t>(buffer.size(), t.source->bytes - done);
        auto got = (*stream)->read(std::span<std::byte>(buffer).first(n));
        if (!got) return got.error();
        if (*got != n) return Error{ErrorCode::Truncated, storage.origin() + ": tensor '" + t.name + "' lies outside the file"};
        out.write(reinterpret_cast<const char*>(buffer.data()), std::streamsize(n));
        done += n;
    }
    return storage.streamed() ? (*stream)->finish() : core::Status{};
}

Error osError(const std::string& what, int err)
{
    return Error{ErrorCode::Io, what + ": " + std::strerror(err)};
}

/// fsync of a file (opened for writing) or a folder (read-only), so that what was written, or
/// a rename inside the folder, survives a crash or power loss.
core::Status syncToDisk(const std::filesystem::path& p, bool folder)
{
    const int fd = ::open(p.c_str(), (folder ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC);
    if (fd < 0) return osError(p.string() + ": cannot open it to sync it to disk", errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return osError(p.string() + ": fsync failed", err);
    return {};
}

/// Writes through `write(stream)` into PATH.tmp, syncs it to disk, renames it over PATH and
/// syncs the folder. Any failure removes the temporary file, leaves PATH as it was and comes
/// back as an error value (no filesystem call here throws).
template <class F>
core::Status writeAtomically(const std::filesystem::path& path, F&& write)
{
    const auto tmp = std::filesystem::path(path.string() + ".tmp");
    std::error_code ignored;
    auto abandon = [&](core::Status st) {
        std::filesystem::remove(tmp, ignored);
        return st;
    };
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            return osError(path.string() + ": cannot create " + tmp.string(), errno);
        core::Status st = write(out);
        out.flush();
        if (!st) return abandon(st);
        out.close();
        if (!out) return abandon(Error{ErrorCode::Io, path.string() + ": write failed (disk full?)"});
    }
    if (auto st = syncToDisk(tmp, false); !st) return abandon(st);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec)
        return abandon(Error{ErrorCode::Io, path.string() + ": cannot rename the finished file into place: " + ec.message()});
    const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    return syncToDisk(folder, true);
}

template <class T>
void put(std::ostream& out, T v)
{
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T)); // little-endian host (x86-64, aarch64)
    out.write(b, sizeof(T));
}

void putString(std::ostream& out, const std::string& s)
{
    put<uint64_t>(out, s.size());
    out.write(s.data(), std::streamsize(s.size()));
}

const GgmlTypeInfo* ggmlTypeFor(core::DType t)
{
    for (uint32_t id = 0; id < 64; ++id)
        if (const auto* info = ggmlTypeInfo(id); info && info->dtype == t)
            return info;
    return nullptr;
}

} // namespace

core::Status writeSafetensors(const std::filesystem::path& path, const std::vector<OutTensor>& tensors,
                              const std::vector<core::MetadataEntry>& metadata)
{
    if (auto st = checkTensors(path, tensors); !st)
        return st;
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        auto& meta = header["__metadata__"] = nlohmann::ordered_json::object();
        for (const auto& kv : metadata)
            meta[kv.key] = kv.value;
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        if (core::dtypeInfo(t.dtype).isBlock)
            return Error{ErrorCode::InvalidArgument, path.string() + ": safetensors cannot hold the block type " +
                                                         std::string(core::dtypeName(t.dtype)) + " of '" + t.name + "'"};
        header[t.name] = {{"dtype", std::string(core::dtypeName(t.dtype))}, {"shape", t.shape},
                          {"data_offsets", {offset, offset + t.size()}}};
        offset += t.size();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    return writeAtomically(path, [&](std::ostream& out) -> core::Status {
        put<uint64_t>(out, text.size());
        out.write(text.data(), std::streamsize(text.size()));
        for (const auto& t : tensors)
            if (auto st = writeData(out, t); !st) return st;
        return {};
    });
}

core::Status writeGguf(const std::filesystem::path& path, const std::vector<OutTensor>& tensors,
                       const std::vector<core::MetadataEntry>& metadata, const GgufRawMetadata* raw)
{
    if (auto st = checkTensors(path, tensors); !st)
        return st;
    const uint64_t align = raw ? raw->alignment : 32;
    std::vector<uint32_t> ids;
    for (const auto& t : tensors) {
        const auto* info = ggmlTypeFor(t.dtype);
        if (!info || t.shape.size() > 4)
            return Error{ErrorCode::InvalidArgument, path.string() + ": GGUF cannot hold '" + t.name + "' (" +
                                                         std::string(core::dtypeName(t.dtype)) + ", rank " +
                                                         std::to_string(t.shape.size()) + ")"};
        if (!t.shape.empty() && t.shape.back() % info->blockElems != 0)
            return Error{ErrorCode::InvalidArgument, path.string() + ": '" + t.name + "': the innermost dimension must be a multiple of " +
                                                         std::to_string(info->blockElems) + " for " + std::string(info->name)};
        ids.push_back(info->id);
    }
    return writeAtomically(path, [&](std::ostream& out) -> core::Status {
        out.write("GGUF", 4);
        put<uint32_t>(out, 3);
        put<uint64_t>(out, tensors.size());
        put<uint64_t>(out, metadata.size() + (raw ? raw->count : 0));
        if (raw) out.write(reinterpret_cast<const char*>(raw->bytes.data()), std::streamsize(raw->bytes.size()));
        for (const auto& kv : metadata) {
            putString(out, kv.key);
            put<uint32_t>(out, kGgufString);
            putString(out, kv.value);
        }
        uint64_t offset = 0;
        for (size_t i = 0; i < tensors.size(); ++i) {
            const auto& t = tensors[i];
            putString(out, t.name);
            put<uint32_t>(out, uint32_t(std::max<size_t>(t.shape.size(), 1)));
            if (t.shape.empty())
                put<uint64_t>(out, 1);
            for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d)
                put<uint64_t>(out, uint64_t(*d));
            put<uint32_t>(out, ids[i]);
            put<uint64_t>(out, offset);
            offset += (t.size() + align - 1) / align * align;
        }
        const auto pad = [&out](uint64_t n) { for (uint64_t k = 0; k < n; ++k) out.put('\0'); };
        pad((align - uint64_t(out.tellp()) % align) % align);
        for (const auto& t : tensors) {
            if (auto st = writeData(out, t); !st) return st;
            pad((align - t.size() % align) % align);
        }
        return {};
    });
}

} // namespace qs::io
