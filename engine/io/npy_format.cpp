#include "npy_format.h"

#include "core/bytereader.h"
#include "core/checked.h"

#include <cctype>
#include <map>

namespace qs::io {

using core::Error;
using core::ErrorCode;

namespace {

Error npyError(const std::string& origin, const std::string& what)
{
    return Error{ErrorCode::Format, origin + ": " + what};
}

/// A strict reader for the small subset of Python literals numpy writes in the header.
class DictParser {
public:
    explicit DictParser(std::string_view s) : m_s(s) {}

    /// Fills key -> raw value text ('...' strings unquoted, tuples as "(a, b)").
    bool parse(std::map<std::string, std::string>& out)
    {
        skip();
        if (!eat('{')) return false;
        for (;;) {
            skip();
            if (eat('}')) return true;
            std::string key, value;
            if (!quoted(key)) return false;
            skip();
            if (!eat(':')) return false;
            skip();
            if (!valueText(value)) return false;
            if (!out.emplace(key, value).second) return false; // duplicate key
            skip();
            if (eat('}')) return true;
            if (!eat(',')) return false;
        }
    }

private:
    void skip() { while (m_i < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_i]))) ++m_i; }
    bool eat(char c)
    {
        if (m_i < m_s.size() && m_s[m_i] == c) { ++m_i; return true; }
        return false;
    }
    bool quoted(std::string& out)
    {
        if (m_i >= m_s.size() || (m_s[m_i] != '\'' && m_s[m_i] != '"')) return false;
        const char q = m_s[m_i++];
        const size_t end = m_s.find(q, m_i);
        if (end == std::string_view::npos) return false;
        out = std::string(m_s.substr(m_i, end - m_i));
        m_i = end + 1;
        return true;
    }
    bool valueText(std::string& out)
    {
        if (m_i < m_s.size() && (m_s[m_i] == '\'' || m_s[m_i] == '"')) return quoted(out);
        if (m_i < m_s.size() && (m_s[m_i] == '[' || m_s[m_i] == '{'))
            return false; // structured dtype (a list of fields)
        const char close = m_i < m_s.size() && m_s[m_i] == '(' ? ')' : '\0';
        const size_t start = m_i;
        if (close) {
            const size_t end = m_s.find(')', m_i);
            if (end == std::string_view::npos) return false;
            m_i = end + 1;
        } else {
            while (m_i < m_s.size() && (std::isalnum(static_cast<unsigned char>(m_s[m_i])))) ++m_i;
        }
        out = std::string(m_s.substr(start, m_i - start));
        return !out.empty();
    }

    std::string_view m_s;
    size_t m_i = 0;
};

core::Result<std::vector<int64_t>> parseShapeTuple(const std::string& t, const std::string& origin)
{
    if (t.size() < 2 || t.front() != '(' || t.back() != ')')
        return npyError(origin, "npy header 'shape' is not a tuple");
    std::vector<int64_t> shape;
    size_t i = 1;
    while (i < t.size() - 1) {
        while (i < t.size() - 1 && (t[i] == ' ' || t[i] == ',')) ++i;
        if (i >= t.size() - 1) break;
        uint64_t v = 0;
        size_t digits = 0;
        while (i < t.size() - 1 && std::isdigit(static_cast<unsigned char>(t[i]))) {
            const auto next = core::checkedAdd(v * 10, uint64_t(t[i] - '0'));
            if (v > UINT64_MAX / 10 || !next || *next > uint64_t(INT64_MAX))
                return npyError(origin, "npy shape dimension is too large");
            v = *next, ++i, ++digits;
        }
        if (digits == 0)
            return npyError(origin, "npy shape has a dimension that is not a whole number >= 0");
        shape.push_back(int64_t(v));
        if (shape.size() > 64)
            return npyError(origin, "npy shape has more than 64 dimensions");
    }
    if (!core::checkedProduct(shape))
        return npyError(origin, "npy shape's element count overflows 64 bits");
    return shape;
}

core::Result<core::DType> dtypeFromDescr(const std::string& d, const std::string& origin)
{
    if (d.size() >= 2 && d[1] == 'O')
        return npyError(origin, "object arrays ('" + d + "') are not supported: they need pickle, which can run code");
    if (d.size() < 3)
        return npyError(origin, "npy dtype '" + d + "' is not understood");
    const char order = d[0];
    const std::string kind = d.substr(1);
    const bool single = kind == "i1" || kind == "u1" || kind == "b1";
    if (order == '>' && !single)
        return Error{ErrorCode::Unsupported, origin + ": big-endian arrays ('" + d + "') are not supported"};
    if (order != '<' && order != '|' && order != '=' && !(order == '>' && single))
        return npyError(origin, "npy dtype '" + d + "' is not understood");
    static const std::map<std::string, core::DType> kinds = {
        {"f2", core::DType::F16}, {"f4", core::DType::F32}, {"f8", core::DType::F64},
        {"i1", core::DType::I8},  {"i2", core::DType::I16}, {"i4", core::DType::I32},
        {"i8", core::DType::I64}, {"u1", core::DType::U8},  {"u2", core::DType::U16},
        {"u4", core::DType::U32}, {"u8", core::DType::U64}, {"b1", core::DType::BOOL}};
    const auto it = kinds.find(kind);
    if (it == kinds.end())
        return Error{ErrorCode::Unsupported, origin + ": npy dtype '" + d + "' is not supported"};
    return it->second;
}

} // namespace

core::Result<NpyHeader> parseNpyHeader(std::span<const std::byte> bytes, const std::string& origin)
{
    core::ByteReader r(bytes);
    char magic[6] = {};
    for (char& c : magic) c = char(r.read<uint8_t>());
    if (!r.ok() || std::string_view(magic, 6) != "\x93NUMPY")
        return npyError(origin, "not a .npy file (bad magic)");
    const uint8_t major = r.read<uint8_t>();
    r.read<uint8_t>(); // minor
    uint64_t headerLen = major == 1 ? r.read<uint16_t>() : r.read<uint32_t>();
    if (!r.ok())
        return Error{ErrorCode::Truncated, origin + ": npy header is truncated"};
    if (major < 1 || major > 3)
        return Error{ErrorCode::Unsupported, origin + ": npy format version " + std::to_string(major) + " is not supported"};
    if (headerLen > r.remaining())
        return Error{ErrorCode::Truncated, origin + ": npy header length " + std::to_string(headerLen) + " runs past the end"};
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + r.position(), headerLen);
    std::map<std::string, std::string> dict;
    if (!DictParser(text).parse(dict) || !dict.contains("descr") || !dict.contains("fortran_order") ||
        !dict.contains("shape"))
        return npyError(origin, "npy header is not a dict with 'descr', 'fortran_order' and 'shape' (structured arrays are not supported)");
    const std::string& fortran = dict["fortran_order"];
    if (fortran != "False" && fortran != "True")
        return npyError(origin, "npy header 'fortran_order' is '" + fortran + "', not True or False");
    NpyHeader h;
    h.fortranOrder = fortran == "True";
    h.descr = dict["descr"];
    auto dtype = dtypeFromDescr(h.descr, origin);
    if (!dtype) return dtype.error();
    h.dtype = *dtype;
    auto shape = parseShapeTuple(dict["shape"], origin);
    if (!shape) return shape.error();
    h.shape = std::move(*shape);
    h.dataOffset = r.position() + headerLen;
    const auto size = core::byteSizeFor(h.dtype, *core::checkedProduct(h.shape));
    if (!size) return npyError(origin, "npy array byte size overflows 64 bits");
    h.dataBytes = *size;
    return h;
}

} // namespace qs::io
