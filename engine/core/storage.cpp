#include "storage.h"

#include "faultguard.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qs::core {

namespace {

Error ioError(const std::string& path, const char* what, int err)
{
    return makeError(ErrorCode::Io, path + ": " + what + ": " + std::strerror(err));
}

/// Closes the descriptor on every path out of open(); the mapping outlives it.
struct FdCloser {
    int fd;
    ~FdCloser() { if (fd >= 0) ::close(fd); }
};

/// A stream over bytes that are already addressable.
class SpanStream final : public ByteStream {
public:
    SpanStream(std::span<const std::byte> data, const Storage& storage) : m_data(data), m_storage(storage) {}
    Result<uint64_t> read(std::span<std::byte> out) override
    {
        const uint64_t n = std::min<uint64_t>(out.size(), m_data.size() - m_at);
        auto copy = [&] { if (n) std::memcpy(out.data(), m_data.data() + m_at, n); };
        if (m_storage.isMapped()) {
            if (auto st = guarded(m_storage.origin(), copy); !st) return st.error();
        } else {
            copy();
        }
        m_at += n;
        return n;
    }
    Status finish() override { return {}; }

private:
    std::span<const std::byte> m_data;
    const Storage& m_storage;
    uint64_t m_at = 0;
};

} // namespace

Result<std::unique_ptr<ByteStream>> Storage::openStream(uint64_t offset) const
{
    auto all = bytes();
    if (!all) return all.error();
    if (offset > all->size())
        return makeError(ErrorCode::Truncated, origin() + ": offset " + std::to_string(offset) + " is past the end of the data (" +
                                                   std::to_string(all->size()) + " bytes)");
    return std::unique_ptr<ByteStream>(std::make_unique<SpanStream>(all->subspan(offset), *this));
}

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::filesystem::path& path)
{
    const std::string name = path.string();
    // O_NONBLOCK: opening a FIFO must not hang waiting for a writer; we reject it below.
    FdCloser fd{::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (fd.fd < 0) {
        if (errno == ENOENT) return makeError(ErrorCode::Io, name + ": no such file");
        return ioError(name, "cannot open", errno);
    }
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0) return ioError(name, "cannot stat", errno);
    if (S_ISDIR(st.st_mode))
        return makeError(ErrorCode::Io, name + ": is a directory, not a model file");
    if (!S_ISREG(st.st_mode))
        return makeError(ErrorCode::Io, name + ": not a regular file (a device, pipe or socket)");
    if (st.st_size == 0) return makeError(ErrorCode::Truncated, name + ": file is empty");

    const auto size = static_cast<uint64_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (p == MAP_FAILED) return ioError(name, "cannot map", errno);
    return std::shared_ptr<MappedFile>(new MappedFile(name, static_cast<const std::byte*>(p), size));
}

MappedFile::~MappedFile()
{
    if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

} // namespace qs::core
