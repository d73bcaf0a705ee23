#include "spill_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace qs::io {

using core::Error;
using core::ErrorCode;

core::Result<SpillFile> SpillFile::create(const std::filesystem::path& near)
{
    const std::string path = near.string() + ".spill.tmp";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return Error{ErrorCode::Io, path + ": cannot create a scratch file: " + std::strerror(errno)};
    ::unlink(path.c_str());
    return SpillFile(fd, path);
}

SpillFile::SpillFile(SpillFile&& other) noexcept
    : m_fd(other.m_fd), m_path(std::move(other.m_path)), m_size(other.m_size)
{
    other.m_fd = -1;
}

SpillFile::~SpillFile()
{
    if (m_fd >= 0) ::close(m_fd);
}

core::Result<uint64_t> SpillFile::append(std::span<const std::byte> bytes)
{
    const uint64_t offset = m_size;
    for (uint64_t done = 0; done < bytes.size();) {
        const ssize_t n = ::pwrite(m_fd, bytes.data() + done, bytes.size() - done, off_t(m_size + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return Error{ErrorCode::Io, m_path + ": writing the scratch file failed: " +
                                            (n < 0 ? std::strerror(errno) : "no progress (disk full?)")};
        done += uint64_t(n);
    }
    m_size += bytes.size();
    return offset;
}

core::Status SpillFile::read(uint64_t offset, std::byte* out, uint64_t n) const
{
    for (uint64_t done = 0; done < n;) {
        const ssize_t got = ::pread(m_fd, out + done, n - done, off_t(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            return Error{ErrorCode::Io, m_path + ": reading the scratch file failed: " +
                                            (got < 0 ? std::strerror(errno) : "it ended early")};
        done += uint64_t(got);
    }
    return {};
}

} // namespace qs::io
