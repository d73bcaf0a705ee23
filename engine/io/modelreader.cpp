#include "modelreader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <system_error>

namespace qs::io {

using core::ErrorCode;
using core::makeError;

namespace {

enum class Format { Safetensors, SafetensorsIndex, Onnx, Gguf, Npy, Npz, Unknown };

bool endsWith(const std::string& s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The format a file's first bytes announce, or Unknown. Magic numbers win over extensions
/// so that a renamed file still opens with the right reader.
Format sniffMagic(const std::array<char, 16>& head, std::size_t n)
{
    auto starts = [&](std::string_view magic) {
        return n >= magic.size() && std::memcmp(head.data(), magic.data(), magic.size()) == 0;
    };
    if (starts("GGUF")) return Format::Gguf;
    if (starts("\x93NUMPY")) return Format::Npy;
    if (starts("PK\x03\x04") || starts("PK\x05\x06")) return Format::Npz;
    if (n >= 9 && head[8] == '{') return Format::Safetensors; // u64 header length, then JSON
    return Format::Unknown;
}

Format formatFromExtension(const std::filesystem::path& path)
{
    const std::string name = path.filename().string();
    if (endsWith(name, ".index.json")) return Format::SafetensorsIndex;
    const std::string ext = path.extension().string();
    if (ext == ".safetensors") return Format::Safetensors;
    if (ext == ".onnx") return Format::Onnx;
    if (ext == ".gguf") return Format::Gguf;
    if (ext == ".npy") return Format::Npy;
    if (ext == ".npz") return Format::Npz;
    return Format::Unknown;
}

/// The model files of a folder, by kind: sharded-checkpoint indexes, safetensors, others.
struct FolderContents {
    std::vector<std::filesystem::path> indexes, safetensors, single;
};

core::Result<FolderContents> listFolder(const std::filesystem::path& dir)
{
    FolderContents c;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    if (ec) return makeError(ErrorCode::Io, dir.string() + ": cannot list the folder: " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return makeError(ErrorCode::Io, dir.string() + ": cannot list the folder: " + ec.message());
        std::error_code fe;
        if (!it->is_regular_file(fe)) continue;
        const std::string name = it->path().filename().string();
        if (endsWith(name, ".safetensors.index.json")) c.indexes.push_back(it->path());
        else if (endsWith(name, ".safetensors")) c.safetensors.push_back(it->path());
        else if (endsWith(name, ".gguf") || endsWith(name, ".onnx")) c.single.push_back(it->path());
    }
    for (auto* v : {&c.indexes, &c.safetensors, &c.single}) std::sort(v->begin(), v->end());
    return c;
}

std::string names(const std::vector<std::filesystem::path>& files)
{
    std::string out;
    for (const auto& f : files) out += (out.empty() ? "" : ", ") + f.filename().string();
    return out;
}

} // namespace

core::Result<std::filesystem::path> modelFileInFolder(const std::filesystem::path& dir)
{
    auto c = listFolder(dir);
    if (!c) return c.error();
    const auto named = [&](const std::vector<std::filesystem::path>& v, const char* name) {
        return std::find_if(v.begin(), v.end(), [&](const auto& p) { return p.filename() == name; });
    };
    if (auto it = named(c->indexes, "model.safetensors.index.json"); it != c->indexes.end()) return *it;
    if (c->indexes.size() == 1) return c->indexes[0];
    if (c->indexes.size() > 1)
        return makeError(ErrorCode::InvalidArgument, dir.string() + ": several sharded-checkpoint indexes (" +
                                                         names(c->indexes) + "); open one of them");
    if (auto it = named(c->safetensors, "model.safetensors"); it != c->safetensors.end()) return *it;
    if (c->safetensors.size() == 1) return c->safetensors[0];
    if (c->safetensors.size() > 1)
        return makeError(ErrorCode::InvalidArgument, dir.string() + ": several .safetensors files and no index (" +
                                                         names(c->safetensors) + "); open one of them");
    if (c->single.size() == 1) return c->single[0];
    if (c->single.size() > 1)
        return makeError(ErrorCode::InvalidArgument,
                         dir.string() + ": several model files (" + names(c->single) + "); open one of them");
    return makeError(ErrorCode::Io, dir.string() + ": no model in this folder (looked for "
                                                   "model.safetensors.index.json, model.safetensors, or one "
                                                   ".safetensors, .gguf or .onnx file)");
}

core::Result<core::Model> openModel(const std::filesystem::path& path)
{
    const std::string name = path.string();
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st)) return makeError(ErrorCode::Io, name + ": no such file");
    if (std::filesystem::is_directory(st)) {
        auto file = modelFileInFolder(path);
        if (!file) return file.error();
        return openModel(*file);
    }
    if (!std::filesystem::is_regular_file(st))
        return makeError(ErrorCode::Io, name + ": not a regular file (a device, pipe or socket)");

    std::array<char, 16> head{};
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, name + ": cannot open for reading");
    in.read(head.data(), head.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) return makeError(ErrorCode::Truncated, name + ": file is empty");

    Format format = formatFromExtension(path);
    if (format != Format::SafetensorsIndex && format != Format::Onnx) {
        const Format magic = sniffMagic(head, n);
        if (magic != Format::Unknown) format = magic;
    }
    switch (format) {
    case Format::Safetensors: return readSafetensors(path);
    case Format::SafetensorsIndex: return readSafetensorsIndex(path);
    case Format::Onnx: return readOnnx(path);
    case Format::Gguf: return readGguf(path);
    case Format::Npy: return readNpy(path);
    case Format::Npz: return readNpz(path);
    case Format::Unknown: break;
    }
    return makeError(ErrorCode::Unsupported,
                     name + ": unrecognised model format (expected .safetensors, "
                            "model.safetensors.index.json, .onnx, .gguf, .npy or .npz)");
}

} // namespace qs::io
