#pragma once
/// A bounds-checked little-endian cursor over untrusted bytes. A read past the end sets a
/// sticky failure and returns zero; callers check ok() after a group of reads, so parsers
/// stay readable without a branch per field.
#include "checked.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace qs::core {

class ByteReader {
public:
    explicit ByteReader(std::span<const std::byte> bytes) : m_bytes(bytes) {}

    bool ok() const { return m_ok; }
    uint64_t position() const { return m_pos; }
    uint64_t size() const { return m_bytes.size(); }
    uint64_t remaining() const { return m_ok ? m_bytes.size() - m_pos : 0; }

    template <class T>
    T read()
    {
        T v{};
        if (!need(sizeof(T))) return v;
        std::memcpy(&v, m_bytes.data() + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    uint8_t u8() { return read<uint8_t>(); }
    uint16_t u16() { return read<uint16_t>(); }
    uint32_t u32() { return read<uint32_t>(); }
    uint64_t u64() { return read<uint64_t>(); }

    /// A view of the next n bytes (empty and failed if fewer remain).
    std::span<const std::byte> bytes(uint64_t n)
    {
        if (!need(n)) return {};
        auto s = m_bytes.subspan(m_pos, n);
        m_pos += n;
        return s;
    }
    std::string_view chars(uint64_t n)
    {
        auto s = bytes(n);
        return {reinterpret_cast<const char*>(s.data()), s.size()};
    }
    bool skip(uint64_t n) { return need(n) && ((m_pos += n), true); }
    bool seek(uint64_t pos)
    {
        if (!m_ok || pos > m_bytes.size()) return m_ok = false;
        m_pos = pos;
        return true;
    }

private:
    bool need(uint64_t n)
    {
        if (!m_ok || n > m_bytes.size() - m_pos) return m_ok = false;
        return true;
    }
    std::span<const std::byte> m_bytes;
    uint64_t m_pos = 0;
    bool m_ok = true;
};

} // namespace qs::core
