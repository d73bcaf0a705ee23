#include "gguf_writer_helpers.h"

#include <fstream>

namespace qs::testgguf {

Bytes& Bytes::str(std::string_view s)
{
    u64(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    m_data.insert(m_data.end(), p, p + s.size());
    return *this;
}

Bytes& Bytes::raw(const std::vector<std::byte>& b)
{
    m_data.insert(m_data.end(), b.begin(), b.end());
    return *this;
}

Bytes& Bytes::zeros(std::size_t n)
{
    m_data.insert(m_data.end(), n, std::byte{0});
    return *this;
}

void Writer::addKv(std::string_view key, uint32_t type, const Bytes& value)
{
    m_kvs.str(key).u32(type).raw(value.data());
    ++m_kvCount;
}

void Writer::addString(std::string_view key, std::string_view value)
{
    addKv(key, STRING, Bytes().str(value));
}

void Writer::addU32(std::string_view key, uint32_t value)
{
    addKv(key, U32, Bytes().u32(value));
}

void Writer::setAlignment(uint32_t alignment)
{
    addU32("general.alignment", alignment);
    m_alignment = alignment;
}

void Writer::addTensor(std::string name, std::vector<uint64_t> ne, uint32_t ggmlType,
                       std::vector<std::byte> data)
{
    m_tensors.push_back({std::move(name), std::move(ne), ggmlType, std::move(data)});
}

static uint64_t roundUp(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

uint64_t Writer::relativeOffset(std::size_t i) const
{
    uint64_t offset = 0;
    for (std::size_t k = 0; k < i; ++k)
        offset = roundUp(offset + m_tensors[k].data.size(), m_alignment);
    return offset;
}

Bytes Writer::header() const
{
    Bytes b;
    b.u8('G').u8('G').u8('U').u8('F').u32(m_version);
    b.u64(m_tensors.size()).u64(m_kvCount).raw(m_kvs.data());
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        const Tensor& t = m_tensors[i];
        b.str(t.name).u32(static_cast<uint32_t>(t.ne.size()));
        for (uint64_t d : t.ne)
            b.u64(d);
        b.u32(t.type).u64(relativeOffset(i));
    }
    return b;
}

uint64_t Writer::dataOffsetOf(std::size_t i) const
{
    return roundUp(header().size(), m_alignment) + relativeOffset(i);
}

std::vector<std::byte> Writer::build() const
{
    Bytes b = header();
    const uint64_t dataStart = roundUp(b.size(), m_alignment);
    b.zeros(dataStart - b.size());
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        b.zeros(dataStart + relativeOffset(i) - b.size());
        b.raw(m_tensors[i].data);
    }
    return b.data();
}

bool Writer::writeTo(const std::string& path) const
{
    return writeFile(path, build());
}

bool writeFile(const std::string& path, const std::vector<std::byte>& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

} // namespace qs::testgguf
