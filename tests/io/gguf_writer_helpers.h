#pragma once
// A small GGUF writer for tests: builds v2/v3 files byte by byte from the format description
// (independently of the reader), so that tests control every field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qs::testgguf {

/// GGUF metadata value type ids, as the GGUF specification numbers them.
enum ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};

/// Little-endian byte sink.
class Bytes {
public:
    template <class T> Bytes& put(T v)
    {
        const auto* p = reinterpret_cast<const std::byte*>(&v);
        m_data.insert(m_data.end(), p, p + sizeof v);
        return *this;
    }
    Bytes& u8(uint8_t v) { return put(v); }
    Bytes& u16(uint16_t v) { return put(v); }
    Bytes& u32(uint32_t v) { return put(v); }
    Bytes& u64(uint64_t v) { return put(v); }
    /// u64 length, then the characters (no terminator).
    Bytes& str(std::string_view s);
    Bytes& raw(const std::vector<std::byte>& b);
    Bytes& zeros(std::size_t n);
    std::size_t size() const { return m_data.size(); }
    const std::vector<std::byte>& data() const { return m_data; }

private:
    std::vector<std::byte> m_data;
};

/// Builds a GGUF file: header, key/values, tensor infos, padding, data. Tensor data is placed
/// in insertion order, each at the next multiple of the alignment.
class Writer {
public:
    explicit Writer(uint32_t version = 3) : m_version(version) {}

    /// A key with an already encoded value of the given type.
    void addKv(std::string_view key, uint32_t type, const Bytes& value);
    void addString(std::string_view key, std::string_view value);
    void addU32(std::string_view key, uint32_t value);
    /// Sets general.alignment (a uint32 key/value) and uses it for the data layout.
    void setAlignment(uint32_t alignment);

    /// ne[0] is the fastest-varying dimension, as GGUF stores it.
    void addTensor(std::string name, std::vector<uint64_t> ne, uint32_t ggmlType,
                   std::vector<std::byte> data);

    std::vector<std::byte> build() const;
    /// Absolute file offset where tensor i's data starts in build()'s output.
    uint64_t dataOffsetOf(std::size_t i) const;
    bool writeTo(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        std::vector<uint64_t> ne;
        uint32_t type;
        std::vector<std::byte> data;
    };
    Bytes header() const;
    uint64_t relativeOffset(std::size_t i) const;

    uint32_t m_version;
    uint64_t m_alignment = 32;
    uint64_t m_kvCount = 0;
    Bytes m_kvs;
    std::vector<Tensor> m_tensors;
};

/// Writes bytes to a file; false on failure.
bool writeFile(const std::string& path, const std::vector<std::byte>& bytes);

} // namespace qs::testgguf
