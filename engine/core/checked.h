#pragma once
/// Overflow-checked arithmetic for sizes read from untrusted files. Every size, count and
/// offset that comes from a model file goes through these before it is used.
#include <cstdint>
#include <optional>
#include <span>

namespace qs::core {

inline std::optional<uint64_t> checkedAdd(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
    return r;
}

inline std::optional<uint64_t> checkedMul(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

/// Product of all dimensions; nullopt on overflow or a negative dimension. Empty shape = 1.
inline std::optional<uint64_t> checkedProduct(std::span<const int64_t> dims)
{
    uint64_t r = 1;
    for (int64_t d : dims) {
        if (d < 0) return std::nullopt;
        auto m = checkedMul(r, static_cast<uint64_t>(d));
        if (!m) return std::nullopt;
        r = *m;
    }
    return r;
}

/// True when [offset, offset + length) lies inside [0, size).
inline bool rangeInside(uint64_t offset, uint64_t length, uint64_t size)
{
    auto end = checkedAdd(offset, length);
    return end && *end <= size;
}

} // namespace qs::core
