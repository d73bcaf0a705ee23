// safetensors: u64 LE header length N, N bytes of JSON, then the data buffer that the header's
// data_offsets index exactly (no holes, no overlaps). Sharded checkpoints through
// model.safetensors.index.json are opened as one model.
#include "modelreader.h"

#include "core/checked.h"
#include "core/faultguard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace qs::io {

using core::Error;
using core::ErrorCode;
using Json = nlohmann::ordered_json;

namespace {

constexpr uint64_t kMaxHeader = 100'000'000; // the reference implementation's limit

Error formatError(const std::string& path, const std::string& what)
{
    return Error{ErrorCode::Format, path + ": " + what};
}

/// Copies the JSON header out of the mapping (the copy is allocated before the guarded read).
core::Result<std::string> readHeader(const core::MappedFile& file)
{
    const std::string& path = file.origin();
    if (file.size() < 8)
        return Error{ErrorCode::Truncated,
                     path + ": file is shorter than the 8-byte safetensors header length"};
    uint64_t n = 0;
    std::string text;
    auto st = core::guarded(path, [&] { std::memcpy(&n, file.data(), 8); });
    if (!st) return st.error();
    if (n > kMaxHeader)
        return formatError(path, "safetensors header length " + std::to_string(n) +
                                     " is over the 100 MB limit");
    if (!core::rangeInside(8, n, file.size()))
        return Error{ErrorCode::Truncated, path + ": safetensors header length " +
                                               std::to_string(n) +
                                               " runs past the end of the file (" +
                                               std::to_string(file.size()) + " bytes)"};
    text.resize(n);
    st = core::guarded(path, [&] { std::memcpy(text.data(), file.data() + 8, n); });
    if (!st) return st.error();
    return text;
}

/// Parses the header, refusing duplicate top-level keys (plain parsing keeps the last one).
core::Result<Json> parseHeader(const std::string& text, const std::string& path)
{
    std::string duplicate;
    std::set<std::string> seen;
    Json::parser_callback_t cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
        if (depth == 1 && event == Json::parse_event_t::key &&
            !seen.insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
        return true;
    };
    Json j = Json::parse(text.begin(), text.end(), cb, false);
    if (j.is_discarded()) return formatError(path, "safetensors header is not valid JSON");
    if (!duplicate.empty())
        return formatError(path, "safetensors header names tensor '" + duplicate + "' twice");
    if (!j.is_object()) return formatError(path, "safetensors header is not a JSON object");
    return j;
}

core::Result<std::vector<int64_t>> parseShape(const Json& s, const std::string& path,
                                              const std::string& name)
{
    if (!s.is_array()) return formatError(path, "tensor '" + name + "': \"shape\" is not an array");
    std::vector<int64_t> shape;
    for (const auto& d : s) {
        if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(INT64_MAX))
            return formatError(path,
                               "tensor '" + name +
                                   "': shape has a dimension that is not a whole number >= 0");
        shape.push_back(d.get<int64_t>());
    }
    if (!core::checkedProduct(shape))
        return formatError(path,
                           "tensor '" + name + "': the product of the shape overflows 64 bits");
    return shape;
}

/// One tensor entry: dtype, shape, and data_offsets checked against the dtype's byte size.
core::Result<core::TensorInfo> parseEntry(const std::string& name, const Json& e,
                                          const std::string& path, uint64_t& begin, uint64_t& end)
{
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e.contains("data_offsets"))
        return formatError(path,
                           "tensor '" + name + "' needs \"dtype\", \"shape\" and \"data_offsets\"");
    core::TensorInfo t;
    t.name = name;
    t.typeName = e["dtype"].get<std::string>();
    t.dtype = core::dtypeFromName(t.typeName);
    if (core::dtypeInfo(t.dtype).isBlock) // GGUF block names are not safetensors dtypes
        t.dtype = core::DType::Unsupported;
    auto shape = parseShape(e["shape"], path, name);
    if (!shape) return shape.error();
    t.shape = std::move(*shape);
    const Json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
        return formatError(path,
                           "tensor '" + name + "': \"data_offsets\" must be two whole numbers");
    begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (end < begin)
        return formatError(path, "tensor '" + name + "': data_offsets end before they begin");
    t.bytes = end - begin;
    if (t.dtype != core::DType::Unsupported) {
        const auto need = core::byteSizeFor(t.dtype, *core::checkedProduct(t.shape));
        if (!need || *need != t.bytes)
            return formatError(path,
                               "tensor '" + name + "': shape " + std::to_string(t.elementCount()) +
                                   " x " + t.typeName + " needs " +
                                   (need ? std::to_string(*need) : std::string("more than 2^64")) +
                                   " bytes but data_offsets give " + std::to_string(t.bytes));
    }
    return t;
}

/// The entries must tile [0, dataSize) exactly, as the format requires.
core::Status checkCoverage(std::vector<std::pair<uint64_t, const core::TensorInfo*>> spans,
                           uint64_t dataSize, const std::string& path)
{
    // Ties put empty tensors first: an empty tensor at the offset where a full one starts is
    // not an overlap.
    std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second->bytes < b.second->bytes;
    });
    uint64_t at = 0;
    for (const auto& [begin, t] : spans) {
        if (begin < at)
            return formatError(path, "tensor '" + t->name +
                                         "' overlaps the tensor before it (offset " +
                                         std::to_string(begin) + " < " + std::to_string(at) + ")");
        if (begin > at)
            return formatError(path, "gap of " + std::to_string(begin - at) +
                                         " bytes before tensor '" + t->name + "' (offset " +
                                         std::to_string(at) + ")");
        at = begin + t->bytes;
    }
    if (at > dataSize)
        return Error{ErrorCode::Truncated, path + ": tensor data ends at byte " +
                                               std::to_string(at) +
                                               " of the data section, but the file holds only " +
                                               std::to_string(dataSize)};
    if (at < dataSize)
        return formatError(path, std::to_string(dataSize - at) +
                                     " bytes after the last tensor are not indexed by the header");
    return {};
}

void addMetadata(const Json& meta, core::Model& m)
{
    if (!meta.is_object()) return;
    for (const auto& [k, v] : meta.items())
        m.metadata.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
}

} // namespace

core::Result<core::Model> readSafetensors(const std::filesystem::path& path)
{
    auto file = core::MappedFile::open(path);
    if (!file) return file.error();
    const std::string& origin = (*file)->origin();
    auto text = readHeader(**file);
    if (!text) return text.error();
    auto header = parseHeader(*text, origin);
    if (!header) return header.error();
    core::Model m;
    m.path = origin;
    m.format = "safetensors";
    const uint64_t dataStart = 8 + text->size();
    std::vector<std::pair<uint64_t, const core::TensorInfo*>> spans;
    std::vector<uint64_t> begins;
    for (const auto& [name, entry] : header->items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) return formatError(origin, "\"__metadata__\" is not an object");
            addMetadata(entry, m);
            continue;
        }
        uint64_t begin = 0, end = 0;
        auto t = parseEntry(name, entry, origin, begin, end);
        if (!t) return t.error();
        t->storage = *file;
        t->offset = dataStart + begin;
        core::assignRolesByRank(*t);
        t->layer = core::layerFromName(t->name);
        m.tensors.push_back(std::move(*t));
        begins.push_back(begin);
    }
    for (size_t i = 0; i < m.tensors.size(); ++i)
        spans.emplace_back(begins[i], &m.tensors[i]);
    if (auto st = checkCoverage(std::move(spans), (*file)->size() - dataStart, origin); !st)
        return st.error();
    return m;
}

core::Result<core::Model> readSafetensorsIndex(const std::filesystem::path& indexJson)
{
    const std::string origin = indexJson.string();
    std::ifstream in(indexJson, std::ios::binary);
    if (!in) return Error{ErrorCode::Io, origin + ": cannot open"};
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    if (text.size() > kMaxHeader) return formatError(origin, "index file is over 100 MB");
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") ||
        !j["weight_map"].is_object())
        return formatError(origin,
                           "not a safetensors index (a JSON object with a \"weight_map\" object)");
    std::map<std::string, std::vector<std::string>> shards; // file -> tensor names it should hold
    for (const auto& [name, file] : j["weight_map"].items()) {
        if (!file.is_string())
            return formatError(origin, "weight_map entry '" + name + "' is not a file name");
        const std::filesystem::path rel(file.get<std::string>());
        if (rel.is_absolute() || rel.has_parent_path() || rel.filename() == ".." ||
            rel.filename() == ".")
            return formatError(origin, "shard '" + rel.string() +
                                           "' must be a file name in the index's folder");
        shards[rel.string()].push_back(name);
    }
    core::Model m;
    m.path = origin;
    m.format = "safetensors";
    if (j.contains("metadata")) addMetadata(j["metadata"], m);
    for (const auto& [file, names] : shards) {
        auto shard = readSafetensors(indexJson.parent_path() / file);
        if (!shard) return shard.error();
        for (const auto& name : names)
            if (!shard->find(name))
                return formatError(origin, "tensor '" + name + "' is not in its shard " + file);
        for (auto& kv : shard->metadata)
            m.metadata.push_back({file + ": " + kv.key, kv.value});
        for (auto& t : shard->tensors) {
            if (m.find(t.name))
                return formatError(origin,
                                   "tensor '" + t.name + "' appears in more than one shard");
            m.tensors.push_back(std::move(t));
        }
    }
    return m;
}

} // namespace qs::io
