// GGUF v2/v3 reader (llama.cpp's model format): header, metadata key/values, tensor infos.
// Layout: "GGUF", u32 version, u64 tensor_count, u64 kv_count, the key/values, the tensor
// infos, padding to general.alignment, then the data section that tensor offsets point into.
//
// The header is parsed from a private copy of the file's first bytes: parsing allocates
// (strings, vectors), which must not happen inside guardedRead(), so only the memcpy out of
// the mapping is guarded. The copy starts at 1 MiB and grows when the header is longer
// (tokenizer vocabularies take several MB).
#include "gguf_format.h"
#include "modelreader.h"

#include "core/bytereader.h"
#include "core/checked.h"
#include "core/faultguard.h"
#include "core/storage.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

namespace qs::io {

using core::ErrorCode;
using core::makeError;

namespace {

constexpr uint64_t kFirstCopyBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 30; // beyond this we refuse, not copy
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
constexpr int kMaxArrayDepth = 8;            // arrays of arrays of ...; deeper is refused
constexpr uint64_t kReserveLimit = 4096;     // most entries reserved up front
constexpr uint64_t kArrayShownElements = 16; // longer arrays are summarised as "[N x type]"
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // empty key, type, smallest value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8; // empty name, n_dims 0, type, offset

/// A tensor info as the file states it, before it is checked against the data section.
struct RawTensor {
    std::string name;
    std::vector<uint64_t> ne; ///< ne[0] varies fastest
    uint64_t elements = 0;
    uint32_t type = 0;
    uint64_t offset = 0; ///< relative to the data section
};

/// Parses the header from `head`, the first bytes of a file of `fileSize` bytes. Fails with
/// an Error, or with needsMore() when the header continues past `head`.
class GgufHeaderParser {
public:
    GgufHeaderParser(std::string path, std::span<const std::byte> head, uint64_t fileSize)
        : m_path(std::move(path)), m_in(head), m_fileSize(fileSize)
    {
    }

    bool parse();
    bool needsMore() const { return m_needMore; }
    const core::Error& error() const { return m_error; }

    std::vector<core::MetadataEntry> metadata;
    /// Where each key/value record lies in the parsed bytes, for copying it verbatim.
    struct RawKv {
        std::string key;
        uint64_t begin = 0, end = 0;
    };
    std::vector<RawKv> rawKvs;
    std::vector<RawTensor> tensors;
    uint64_t alignment = kDefaultAlignment;
    uint64_t dataStart = 0;

private:
    bool fail(ErrorCode code, std::string message);
    bool need(uint64_t n);
    bool readString(std::string& out);
    bool skipOrReadString(std::string* out);
    bool readHeader(uint64_t& tensorCount, uint64_t& kvCount);
    bool readKv();
    bool readAlignment(uint32_t type);
    bool readValue(uint32_t type, int depth, std::string* out);
    bool readArray(int depth, std::string* out);
    bool readTensorInfo();
    bool checkCount(uint64_t count, uint64_t minBytes, const char* what);

    std::string m_path;
    core::ByteReader m_in;
    uint64_t m_fileSize;
    std::string m_context = "the GGUF header"; ///< what is being read, for truncation errors
    core::Error m_error;
    bool m_needMore = false;
    std::unordered_set<std::string> m_keys; ///< for duplicate detection in O(1) per key
};

bool GgufHeaderParser::fail(ErrorCode code, std::string message)
{
    m_error = makeError(code, m_path + ": " + std::move(message));
    return false;
}

/// True when n more bytes are in the copy. Past the end of the file that is an error; past
/// the end of the copy only means the copy must grow.
bool GgufHeaderParser::need(uint64_t n)
{
    const uint64_t pos = m_in.position();
    if (n > m_fileSize - pos)
        return fail(ErrorCode::Truncated, "file ends inside " + m_context + " (" +
                                              std::to_string(n) + " bytes needed at offset " +
                                              std::to_string(pos) + ", the file has " +
                                              std::to_string(m_fileSize) + " bytes)");
    if (n > m_in.size() - pos) {
        m_needMore = true;
        return false;
    }
    return true;
}

/// A u64 length and that many bytes. The length is checked against the rest of the file
/// before anything is allocated.
bool GgufHeaderParser::skipOrReadString(std::string* out)
{
    if (!need(8)) return false;
    const uint64_t pos = m_in.position();
    const uint64_t length = m_in.u64();
    if (length > m_fileSize - m_in.position())
        return fail(ErrorCode::Format, "GGUF string length " + std::to_string(length) +
                                           " at offset " + std::to_string(pos) + " in " +
                                           m_context + " runs past the end of the file (" +
                                           std::to_string(m_fileSize) + " bytes)");
    if (!need(length)) return false;
    const std::string_view chars = m_in.chars(length);
    if (out) out->assign(chars);
    return true;
}

bool GgufHeaderParser::readString(std::string& out)
{
    return skipOrReadString(&out);
}

bool GgufHeaderParser::readHeader(uint64_t& tensorCount, uint64_t& kvCount)
{
    constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;
    if (m_fileSize < kHeaderBytes)
        return fail(ErrorCode::Truncated, "truncated GGUF header (" + std::to_string(m_fileSize) +
                                              " bytes, the fixed header alone takes 24)");
    if (!need(kHeaderBytes)) return false;
    const std::string_view magic = m_in.chars(4);
    if (magic != "GGUF")
        return fail(ErrorCode::Format, "not a GGUF file (bad magic, expected 'GGUF')");
    const uint32_t version = m_in.u32();
    // A big-endian file stores the small version number byte-swapped: 3 reads as 0x03000000.
    if ((version & 0xFFFF) == 0 && version != 0)
        return fail(ErrorCode::Unsupported,
                    "big-endian GGUF files are not supported (version field " +
                        std::to_string(version) + ")");
    if (version == 1)
        return fail(
            ErrorCode::Unsupported,
            "GGUF version 1 (32-bit counts) is not supported; only versions 2 and 3 are read");
    if (version != 2 && version != 3)
        return fail(ErrorCode::Unsupported, "GGUF version " + std::to_string(version) +
                                                " is not supported (expected 2 or 3)");
    tensorCount = m_in.u64();
    kvCount = m_in.u64();
    return true;
}

/// A count that promises more entries than the rest of the file could hold is refused before
/// anything is reserved for it.
bool GgufHeaderParser::checkCount(uint64_t count, uint64_t minBytes, const char* what)
{
    const uint64_t left = m_fileSize - m_in.position();
    if (count <= left / minBytes) return true;
    return fail(ErrorCode::Format, std::string("GGUF ") + what + " count " + std::to_string(count) +
                                       " is impossible: " + std::to_string(left) +
                                       " bytes remain and each entry takes at least " +
                                       std::to_string(minBytes));
}

bool GgufHeaderParser::parse()
{
    uint64_t tensorCount = 0, kvCount = 0;
    if (!readHeader(tensorCount, kvCount)) return false;
    if (!checkCount(kvCount, kMinKvBytes, "metadata key/value")) return false;
    if (!checkCount(tensorCount, kMinTensorInfoBytes, "tensor")) return false;
    // Counts are plausible now, yet a large file allows billions: reserve only what real
    // models use and let the vectors grow with entries that are actually present.
    metadata.reserve(std::min(kvCount, kReserveLimit));
    for (uint64_t i = 0; i < kvCount; ++i) {
        m_context = "GGUF metadata entry #" + std::to_string(i);
        if (!readKv()) return false;
    }
    if (!checkCount(tensorCount, kMinTensorInfoBytes, "tensor")) return false;
    tensors.reserve(std::min(tensorCount, kReserveLimit));
    std::unordered_set<std::string> names;
    for (uint64_t i = 0; i < tensorCount; ++i) {
        m_context = "GGUF tensor info #" + std::to_string(i);
        if (!readTensorInfo()) return false;
        if (!names.insert(tensors.back().name).second)
            return fail(ErrorCode::Format,
                        "duplicate GGUF tensor name '" + tensors.back().name + "'");
    }
    // The data section starts at the next multiple of the alignment; checked, since a
    // position near 2^64 cannot occur in a real file but the sum must not wrap.
    const auto padded = core::checkedAdd(m_in.position(), alignment - 1);
    if (!padded) return fail(ErrorCode::Format, "GGUF data section offset overflows");
    dataStart = *padded / alignment * alignment;
    return true;
}

bool GgufHeaderParser::readKv()
{
    const uint64_t begin = m_in.position();
    std::string key;
    if (!readString(key)) return false;
    m_context = "GGUF metadata '" + key + "'";
    if (!m_keys.insert(key).second)
        return fail(ErrorCode::Format, "duplicate GGUF metadata key '" + key + "'");
    if (!need(4)) return false;
    const uint32_t type = m_in.u32();
    if (key == "general.alignment" && !readAlignment(type)) return false;
    std::string value;
    if (!readValue(type, 0, &value)) return false;
    rawKvs.push_back({key, begin, m_in.position()});
    metadata.push_back({std::move(key), std::move(value)});
    return true;
}

/// Validates general.alignment without consuming it; readValue() then renders it as usual.
bool GgufHeaderParser::readAlignment(uint32_t type)
{
    if (type != kGgufUint32)
        return fail(ErrorCode::Format, "general.alignment must be a uint32, not " +
                                           std::string(ggufValueTypeName(type)));
    if (!need(4)) return false;
    const uint64_t pos = m_in.position();
    const uint32_t a = m_in.u32();
    m_in.seek(pos);
    if (a == 0 || (a & (a - 1)) != 0)
        return fail(ErrorCode::Format,
                    "general.alignment " + std::to_string(a) + " is not a nonzero power of two");
    alignment = a;
    return true;
}

bool GgufHeaderParser::readValue(uint32_t type, int depth, std::string* out)
{
    if (type == kGgufString) {
        if (!out) return skipOrReadString(nullptr);
        std::string s;
        if (!readString(s)) return false;
        *out += depth > 0 ? "\"" + s + "\"" : s; // quote strings inside arrays only
        return true;
    }
    if (type == kGgufArray) return readArray(depth, out);
    const uint64_t size = ggufScalarSize(type);
    if (size == 0)
        return fail(ErrorCode::Format,
                    m_context + " has unknown value type " + std::to_string(type));
    if (!need(size)) return false;
    const std::span<const std::byte> bytes = m_in.bytes(size);
    if (out) *out += renderGgufScalar(type, bytes.data());
    return true;
}

bool GgufHeaderParser::readArray(int depth, std::string* out)
{
    if (depth >= kMaxArrayDepth)
        return fail(ErrorCode::Unsupported, m_context + " nests arrays deeper than " +
                                                std::to_string(kMaxArrayDepth) + " levels");
    if (!need(4 + 8)) return false;
    const uint32_t elemType = m_in.u32();
    const uint64_t count = m_in.u64();
    const uint64_t minElem = ggufMinValueSize(elemType);
    if (minElem == 0)
        return fail(ErrorCode::Format,
                    m_context + " is an array of unknown value type " + std::to_string(elemType));
    const uint64_t left = m_fileSize - m_in.position();
    if (count > left / minElem)
        return fail(ErrorCode::Format, m_context + " array of " + std::to_string(count) + " " +
                                           std::string(ggufValueTypeName(elemType)) +
                                           " values runs past the end of the file (" +
                                           std::to_string(left) + " bytes remain)");
    const bool shown = out && count <= kArrayShownElements;
    const uint64_t scalar = ggufScalarSize(elemType);
    if (!shown && scalar != 0) {
        if (!need(count * scalar)) return false; // count * scalar <= left, so no overflow
        m_in.skip(count * scalar);
    } else {
        if (shown) *out += '[';
        for (uint64_t i = 0; i < count; ++i) {
            if (shown && i > 0) *out += ", ";
            if (!readValue(elemType, depth + 1, shown ? out : nullptr)) return false;
        }
        if (shown) *out += ']';
    }
    if (out && !shown)
        *out +=
            "[" + std::to_string(count) + " x " + std::string(ggufValueTypeName(elemType)) + "]";
    return true;
}

bool GgufHeaderParser::readTensorInfo()
{
    RawTensor t;
    if (!readString(t.name)) return false;
    m_context = "GGUF tensor info '" + t.name + "'";
    if (!need(4)) return false;
    const uint32_t nDims = m_in.u32();
    if (nDims > kMaxDims)
        return fail(ErrorCode::Format, "GGUF tensor '" + t.name + "' has " + std::to_string(nDims) +
                                           " dimensions (at most 4 are allowed)");
    if (!need(uint64_t{8} * nDims + 4 + 8)) return false;
    t.elements = 1;
    for (uint32_t i = 0; i < nDims; ++i) {
        t.ne.push_back(m_in.u64());
        const auto product = core::checkedMul(t.elements, t.ne.back());
        if (t.ne.back() > uint64_t(INT64_MAX) || !product || *product > uint64_t(INT64_MAX))
            return fail(ErrorCode::Format, "GGUF tensor '" + t.name +
                                               "' has dimensions whose product overflows 63 bits");
        t.elements = *product;
    }
    t.type = m_in.u32();
    t.offset = m_in.u64();
    tensors.push_back(std::move(t));
    return true;
}

/// Checks one tensor against its type and the data section and turns it into a TensorInfo.
core::Result<core::TensorInfo> makeTensor(const std::string& path, const RawTensor& raw,
                                          const GgufHeaderParser& header,
                                          const std::shared_ptr<const core::MappedFile>& file)
{
    core::TensorInfo t;
    t.name = raw.name;
    const GgmlTypeInfo* type = ggmlTypeInfo(raw.type);
    t.dtype = type ? type->dtype : core::DType::Unsupported;
    t.typeName = type ? std::string(type->name) : "ggml type " + std::to_string(raw.type);
    t.shape.assign(raw.ne.rbegin(), raw.ne.rend()); // ne[0] is innermost: reverse it
    const std::string what = path + ": GGUF tensor '" + raw.name + "'";
    if (raw.offset % header.alignment != 0)
        return makeError(ErrorCode::Format, what + " data offset " + std::to_string(raw.offset) +
                                                " is not a multiple of the alignment " +
                                                std::to_string(header.alignment));
    const auto start = core::checkedAdd(header.dataStart, raw.offset);
    if (type) {
        const uint64_t rowLength = raw.ne.empty() ? 1 : raw.ne[0];
        if (rowLength % type->blockElems != 0)
            return makeError(ErrorCode::Format, what + " row length " + std::to_string(rowLength) +
                                                    " is not a multiple of " + t.typeName +
                                                    "'s block of " +
                                                    std::to_string(type->blockElems));
        // elements <= 2^63 and blockBytes <= blockElems * 8, so this cannot overflow
        t.bytes = raw.elements / type->blockElems * type->blockBytes;
    }
    if (!start || !core::rangeInside(*start, t.bytes, file->size()))
        return makeError(ErrorCode::Format, what + " data (offset " +
                                                std::to_string(start.value_or(raw.offset)) + ", " +
                                                std::to_string(t.bytes) +
                                                " bytes) runs past the end of the file (" +
                                                std::to_string(file->size()) + " bytes)");
    t.offset = *start;
    t.storage = file;
    core::assignRolesByRank(t);
    t.layer = core::layerFromName(t.name);
    return t;
}

/// Copies the first `n` bytes of the mapping; the only place the header touches mapped memory.
core::Result<std::vector<std::byte>> copyHead(const core::MappedFile& file, uint64_t n)
{
    std::vector<std::byte> head(n);
    const std::byte* from = file.data();
    std::byte* to = head.data();
    const core::Status st =
        core::guarded(file.origin(), [from, to, n] { std::memcpy(to, from, n); });
    if (!st) return st.error();
    return head;
}

/// Parses the header of `file` from a copy of its first bytes (kept in `head`, which the
/// parser reads from), copying more until the whole header is inside.
core::Result<GgufHeaderParser> parseHeader(const core::MappedFile& file, const std::string& name,
                                           std::vector<std::byte>& head)
{
    uint64_t copyBytes = std::min(file.size(), kFirstCopyBytes);
    for (;;) {
        auto copied = copyHead(file, copyBytes);
        if (!copied) return copied.error();
        head = std::move(copied.value());
        GgufHeaderParser header(name, head, file.size());
        if (header.parse()) return header;
        if (!header.needsMore()) return header.error();
        if (copyBytes >= kMaxHeaderBytes)
            return makeError(ErrorCode::Unsupported, name + ": GGUF header is larger than 1 GiB");
        copyBytes = std::min({file.size(), copyBytes * 8, kMaxHeaderBytes});
    }
}

} // namespace

core::Result<core::Model> readGguf(const std::filesystem::path& path)
{
    auto opened = core::MappedFile::open(path);
    if (!opened) return opened.error();
    const std::shared_ptr<const core::MappedFile> file = std::move(opened.value());
    const std::string name = path.string();
    std::vector<std::byte> head;
    auto header = parseHeader(*file, name, head);
    if (!header) return header.error();
    core::Model model;
    model.path = name;
    model.format = "gguf";
    model.metadata = std::move(header->metadata);
    model.tensors.reserve(header->tensors.size());
    for (const RawTensor& raw : header->tensors) {
        auto t = makeTensor(name, raw, *header, file);
        if (!t) return t.error();
        model.tensors.push_back(std::move(t.value()));
    }
    return model;
}

core::Result<GgufRawMetadata> readGgufRawMetadata(const std::filesystem::path& path,
                                                  const std::function<bool(std::string_view)>& drop)
{
    auto opened = core::MappedFile::open(path);
    if (!opened) return opened.error();
    std::vector<std::byte> head;
    auto header = parseHeader(*opened.value(), path.string(), head);
    if (!header) return header.error();
    GgufRawMetadata raw;
    raw.alignment = header->alignment;
    for (const auto& kv : header->rawKvs) {
        if (drop && drop(kv.key)) continue;
        raw.bytes.insert(raw.bytes.end(), head.begin() + ptrdiff_t(kv.begin), head.begin() + ptrdiff_t(kv.end));
        ++raw.count;
    }
    return raw;
}

} // namespace qs::io
