#pragma once
/// Errors cross engine API boundaries as values. An Error carries a code for programs and a
/// message for people; readers put the file name and the problem in the message
/// ("model.gguf: tensor 'x' data offset 912 is past the end of the file (800 bytes)").
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace qs::core {

enum class ErrorCode {
    Io,              ///< the operating system refused (open, stat, mmap, read)
    Format,          ///< the bytes do not follow the format's rules
    Unsupported,     ///< valid, but a feature we do not read (stated in the message)
    Truncated,       ///< the file ended early, or shrank while mapped
    InvalidArgument, ///< the caller asked for something impossible (unknown tensor, bad option)
    Cancelled,       ///< the user cancelled the operation
    Device,          ///< a compute device failed (Vulkan call, lost device, fence timeout)
};

struct Error {
    ErrorCode code = ErrorCode::Format;
    std::string message;
};

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

/// Either a value or an Error. Small on purpose: `if (!r) return r.error();`.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::move(value)) {}            // NOLINT(google-explicit-constructor)
    Result(Error error) : m_v(std::move(error)) {}        // NOLINT(google-explicit-constructor)

    bool ok() const { return std::holds_alternative<T>(m_v); }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return std::get<T>(m_v); }
    const T& value() const& { assert(ok()); return std::get<T>(m_v); }
    T&& value() && { assert(ok()); return std::get<T>(std::move(m_v)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { assert(!ok()); return std::get<Error>(m_v); }

private:
    std::variant<T, Error> m_v;
};

/// Result of an operation that produces nothing but can fail.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : m_error(std::move(error)), m_ok(false) {} // NOLINT(google-explicit-constructor)
    static Status success() { return {}; }

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const { assert(!m_ok); return m_error; }

private:
    Error m_error;
    bool m_ok = true;
};

} // namespace qs::core
