// .npy files and .npz archives (zip, stored or deflated members, zip64).
#include "modelreader.h"

#include "npy_format.h"
#include "zip_archive.h"

#include "core/checked.h"
#include "core/faultguard.h"

#include <algorithm>
#include <cstring>

namespace qs::io {

using core::Error;
using core::ErrorCode;

namespace {

constexpr uint64_t kHeaderProbe = 1u << 16; // numpy headers are a few hundred bytes

/// Copies up to `limit` bytes from the start of a mapped range, under the fault guard.
core::Result<std::vector<std::byte>> copyPrefix(const core::MappedFile& f, uint64_t offset, uint64_t length,
                                                uint64_t limit)
{
    std::vector<std::byte> head(std::min(length, limit));
    auto st = core::guarded(f.origin(), [&] { std::memcpy(head.data(), f.data() + offset, head.size()); });
    if (!st)
        return st.error();
    return head;
}

core::TensorInfo tensorFrom(const NpyHeader& h, std::string name)
{
    core::TensorInfo t;
    t.name = std::move(name);
    t.dtype = h.dtype;
    t.typeName = h.descr;
    t.shape = h.shape;
    t.bytes = h.dataBytes;
    core::assignRolesByRank(t);
    t.layer = core::layerFromName(t.name);
    return t;
}

/// Checks that an npy payload of `available` bytes holds the array its header describes.
core::Status checkPayload(const NpyHeader& h, uint64_t available, const std::string& what)
{
    const auto need = core::checkedAdd(h.dataOffset, h.dataBytes);
    if (!need || *need > available)
        return Error{ErrorCode::Truncated, what + ": the array needs " + std::to_string(h.dataBytes) +
                                               " data bytes after its header but only " +
                                               std::to_string(available > h.dataOffset ? available - h.dataOffset : 0) +
                                               " are there"};
    return {};
}

} // namespace

core::Result<core::Model> readNpy(const std::filesystem::path& path)
{
    auto file = core::MappedFile::open(path);
    if (!file)
        return file.error();
    const auto& f = **file;
    auto head = copyPrefix(f, 0, f.size(), kHeaderProbe);
    if (!head)
        return head.error();
    auto h = parseNpyHeader(*head, f.origin());
    if (!h)
        return h.error();
    if (auto st = checkPayload(*h, f.size(), f.origin()); !st)
        return st.error();
    core::Model m;
    m.path = f.origin();
    m.format = "npy";
    auto t = tensorFrom(*h, path.stem().string());
    t.storage = *file;
    t.offset = h->dataOffset;
    m.tensors.push_back(std::move(t));
    return m;
}

core::Result<core::Model> readNpz(const std::filesystem::path& path)
{
    auto file = core::MappedFile::open(path);
    if (!file)
        return file.error();
    auto members = listZipMembers(*file);
    if (!members)
        return members.error();
    core::Model m;
    m.path = (*file)->origin();
    m.format = "npz";
    for (const auto& member : *members) {
        if (member.name.size() < 5 || member.name.compare(member.name.size() - 4, 4, ".npy") != 0)
            continue; // npz archives hold only .npy members; ignore anything else
        const std::string what = m.path + ": member " + member.name;
        auto storage = openZipMember(*file, member);
        if (!storage)
            return storage.error();
        auto head = (*storage)->prefix(kHeaderProbe);
        if (!head)
            return head.error();
        auto h = parseNpyHeader(*head, what);
        if (!h)
            return h.error();
        if (auto st = checkPayload(*h, member.uncompressedSize, what); !st)
            return st.error();
        auto t = tensorFrom(*h, member.name.substr(0, member.name.size() - 4));
        t.offset = (*storage)->payloadOffset() + h->dataOffset;
        t.storage = std::move(*storage);
        if (m.find(t.name))
            return Error{ErrorCode::Format, m.path + ": two members are named " + member.name};
        m.tensors.push_back(std::move(t));
    }
    return m;
}

} // namespace qs::io
