// .npy files and .npz archives (zip, stored or deflated members, zip64).
#include "modelreader.h"

#include "npy_format.h"
#include "zip_archive.h"

#include "core/checked.h"
#include "core/faultguard.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

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

/// A Fortran-order array presented in C (row-major) order: on first use, its bytes are read
/// from the source and rearranged into a buffer of the tensor's size (the file's layout is the
/// transpose of what the shape describes, so no view of the mapping can serve it).
class FortranOrderStorage final : public core::Storage {
public:
    FortranOrderStorage(std::shared_ptr<const core::Storage> source, uint64_t offset, std::vector<int64_t> shape,
                        uint64_t itemSize)
        : m_source(std::move(source)), m_offset(offset), m_shape(std::move(shape)), m_itemSize(itemSize),
          m_origin(m_source->origin())
    {
    }
    const std::string& origin() const override { return m_origin; }
    bool isMapped() const override { return false; }
    core::Result<std::span<const std::byte>> bytes() const override
    {
        std::call_once(m_once, [this] {
            if (auto st = rearrange(); !st) {
                m_error = st.error();
                std::vector<std::byte>().swap(m_data);
            }
        });
        if (m_error) return *m_error;
        return std::span<const std::byte>(m_data);
    }

private:
    /// Walks the elements in C order, keeping the matching Fortran offset (axis k's stride
    /// there is the product of the axes before it).
    core::Status rearrange() const
    {
        const uint64_t n = *core::checkedProduct(m_shape);
        const size_t rank = m_shape.size();
        try {
            m_data.resize(n * m_itemSize);
        } catch (const std::bad_alloc&) {
            return Error{ErrorCode::Unsupported, m_origin + ": a Fortran-order array of " + std::to_string(n * m_itemSize) +
                                                     " bytes does not fit in memory to be reordered"};
        }
        // The source in file order: the mapping itself, or (deflated member) inflated here.
        std::vector<std::byte> inflated;
        const std::byte* src = nullptr;
        if (m_source->streamed()) {
            auto stream = m_source->openStream(m_offset);
            if (!stream) return stream.error();
            inflated.resize(m_data.size());
            auto got = (*stream)->read(inflated);
            if (!got) return got.error();
            if (*got != inflated.size()) return Error{ErrorCode::Truncated, m_origin + ": the array's data ends early"};
            src = inflated.data();
        } else {
            auto all = m_source->bytes();
            if (!all) return all.error();
            if (!core::rangeInside(m_offset, m_data.size(), all->size()))
                return Error{ErrorCode::Truncated, m_origin + ": the array's data runs past the end"};
            src = all->data() + m_offset;
        }
        std::vector<uint64_t> stride(rank, 1), index(rank, 0); // outside the guard: it may not allocate
        for (size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * uint64_t(m_shape[k - 1]);
        auto reorder = [&] {
            uint64_t from = 0;
            for (uint64_t i = 0; i < n; ++i) {
                std::memcpy(m_data.data() + i * m_itemSize, src + from * m_itemSize, m_itemSize);
                for (size_t k = rank; k-- > 0;) { // next C-order index: the last axis moves first
                    from += stride[k];
                    if (++index[k] < uint64_t(m_shape[k])) break;
                    from -= stride[k] * uint64_t(m_shape[k]);
                    index[k] = 0;
                }
            }
        };
        if (m_source->isMapped()) return core::guarded(m_origin, reorder);
        reorder();
        return {};
    }

    std::shared_ptr<const core::Storage> m_source;
    uint64_t m_offset;
    std::vector<int64_t> m_shape;
    uint64_t m_itemSize;
    std::string m_origin;
    mutable std::once_flag m_once;
    mutable std::vector<std::byte> m_data;
    mutable std::optional<core::Error> m_error;
};

/// Points the tensor at its data; a Fortran-order array of rank >= 2 goes through a reordering
/// storage (rank 0 and 1 are the same in both orders).
void attachData(core::TensorInfo& t, const NpyHeader& h, std::shared_ptr<const core::Storage> storage, uint64_t offset)
{
    if (h.fortranOrder && h.shape.size() >= 2 && h.dataBytes > 0) {
        const uint64_t itemSize = h.dataBytes / *core::checkedProduct(h.shape);
        t.storage = std::make_shared<FortranOrderStorage>(std::move(storage), offset, h.shape, itemSize);
        t.offset = 0;
        return;
    }
    t.storage = std::move(storage);
    t.offset = offset;
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
    attachData(t, *h, *file, h->dataOffset);
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
        const uint64_t offset = (*storage)->payloadOffset() + h->dataOffset;
        attachData(t, *h, std::move(*storage), offset);
        if (m.find(t.name))
            return Error{ErrorCode::Format, m.path + ": two members are named " + member.name};
        m.tensors.push_back(std::move(t));
    }
    return m;
}

} // namespace qs::io
