#include "onnx_tensor.h"

#include "core/checked.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace qs::io {

using core::DType;
using core::Error;
using core::ErrorCode;

namespace {

struct OnnxType {
    DType dtype;
    const char* name;
};

/// TensorProto.DataType ids (onnx.proto); 17-22 postdate Debian's onnx 1.12 but appear in
/// newer files, so they are matched by number.
OnnxType onnxType(int32_t id)
{
    switch (id) {
    case 1:
        return {DType::F32, "FLOAT"};
    case 2:
        return {DType::U8, "UINT8"};
    case 3:
        return {DType::I8, "INT8"};
    case 4:
        return {DType::U16, "UINT16"};
    case 5:
        return {DType::I16, "INT16"};
    case 6:
        return {DType::I32, "INT32"};
    case 7:
        return {DType::I64, "INT64"};
    case 8:
        return {DType::Unsupported, "STRING"};
    case 9:
        return {DType::BOOL, "BOOL"};
    case 10:
        return {DType::F16, "FLOAT16"};
    case 11:
        return {DType::F64, "DOUBLE"};
    case 12:
        return {DType::U32, "UINT32"};
    case 13:
        return {DType::U64, "UINT64"};
    case 14:
        return {DType::Unsupported, "COMPLEX64"};
    case 15:
        return {DType::Unsupported, "COMPLEX128"};
    case 16:
        return {DType::BF16, "BFLOAT16"};
    case 17:
        return {DType::F8_E4M3, "FLOAT8E4M3FN"};
    case 18:
        return {DType::Unsupported, "FLOAT8E4M3FNUZ"};
    case 19:
        return {DType::F8_E5M2, "FLOAT8E5M2"};
    case 20:
        return {DType::Unsupported, "FLOAT8E5M2FNUZ"};
    case 21:
        return {DType::Unsupported, "UINT4"};
    case 22:
        return {DType::Unsupported, "INT4"};
    default:
        return {DType::Unsupported, nullptr};
    }
}

Error tensorError(const std::filesystem::path& model, const std::string& name,
                  const std::string& what)
{
    return Error{ErrorCode::Format, model.string() + ": tensor '" + name + "': " + what};
}

/// Packs typed-field values into little-endian `Out`s (narrower types keep the low bits of
/// each int32_data entry, which is how ONNX stores them there).
template <class Out, class Field> std::vector<std::byte> pack(const Field& values, uint64_t& count)
{
    count = uint64_t(values.size());
    std::vector<std::byte> out(size_t(values.size()) * sizeof(Out));
    for (int i = 0; i < values.size(); ++i) {
        const Out v = static_cast<Out>(values.Get(i));
        std::memcpy(&out[size_t(i) * sizeof(Out)], &v, sizeof(Out));
    }
    return out;
}

/// The typed field that holds values of `dtype` (onnx.proto's comments on each field).
core::Result<std::vector<std::byte>> typedData(const onnx::TensorProto& t, DType dtype,
                                               uint64_t elems, const std::filesystem::path& model,
                                               const std::string& name)
{
    std::vector<std::byte> data;
    uint64_t count = 0;
    switch (dtype) {
    case DType::F32:
        data = pack<float>(t.float_data(), count);
        break;
    case DType::F64:
        data = pack<double>(t.double_data(), count);
        break;
    case DType::I64:
        data = pack<int64_t>(t.int64_data(), count);
        break;
    case DType::U64:
        data = pack<uint64_t>(t.uint64_data(), count);
        break;
    case DType::U32:
        data = pack<uint32_t>(t.uint64_data(), count);
        break;
    case DType::I32:
        data = pack<int32_t>(t.int32_data(), count);
        break;
    case DType::I16:
        data = pack<int16_t>(t.int32_data(), count);
        break;
    case DType::U16:
    case DType::F16:
    case DType::BF16:
        data = pack<uint16_t>(t.int32_data(), count);
        break;
    case DType::I8:
        data = pack<int8_t>(t.int32_data(), count);
        break;
    default:
        data = pack<uint8_t>(t.int32_data(), count);
        break; // U8, BOOL, FLOAT8 bit patterns
    }
    if (count != elems)
        return tensorError(model, name,
                           "holds " + std::to_string(count) + " values but its shape needs " +
                               std::to_string(elems));
    return data;
}

/// Checks an external data location: relative, no "..", not a symlink, inside the folder.
core::Result<std::filesystem::path> externalPath(const std::string& location,
                                                 const std::filesystem::path& model,
                                                 const std::string& name)
{
    const std::filesystem::path rel(location);
    if (location.empty() || rel.is_absolute())
        return tensorError(model, name,
                           "external data location '" + location +
                               "' must be a relative path inside the model's folder");
    for (const auto& part : rel)
        if (part == "..")
            return tensorError(model, name,
                               "external data location '" + location +
                                   "' escapes the model's folder with '..'");
    const auto full = model.parent_path() / rel;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0)
        return Error{ErrorCode::Io, model.string() + ": tensor '" + name +
                                        "': external data file " + full.string() +
                                        " does not exist"};
    if (S_ISLNK(st.st_mode))
        return tensorError(
            model, name,
            "external data file '" + location +
                "' is a symbolic link, which could point outside the model's folder");
    return full;
}

core::Status attachExternal(const onnx::TensorProto& t, core::TensorInfo& info, uint64_t need,
                            const std::filesystem::path& model, ExternalFiles& files)
{
    std::string location;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
    for (const auto& kv : t.external_data()) {
        auto number = [&](uint64_t& out) {
            char* end = nullptr;
            errno = 0;
            out = std::strtoull(kv.value().c_str(), &end, 10);
            return !kv.value().empty() && *end == '\0' && errno == 0 && kv.value()[0] != '-';
        };
        if (kv.key() == "location")
            location = kv.value();
        else if (kv.key() == "offset" && !number(offset))
            return tensorError(model, info.name,
                               "external data offset '" + kv.value() + "' is not a whole number");
        else if (kv.key() == "length") {
            uint64_t v = 0;
            if (!number(v))
                return tensorError(model, info.name,
                                   "external data length '" + kv.value() +
                                       "' is not a whole number");
            length = v;
        }
    }
    auto full = externalPath(location, model, info.name);
    if (!full) return full.error();
    auto& file = files[location];
    if (!file) {
        auto opened = core::MappedFile::open(*full);
        if (!opened) return opened.error();
        file = *opened;
    }
    const uint64_t len = length.value_or(need);
    if (len != need)
        return tensorError(model, info.name,
                           "external data length " + std::to_string(len) + " does not match the " +
                               std::to_string(need) + " bytes its shape needs");
    if (!core::rangeInside(offset, len, file->size()))
        return Error{ErrorCode::Truncated, model.string() + ": tensor '" + info.name +
                                               "': external data (offset " +
                                               std::to_string(offset) + ", " + std::to_string(len) +
                                               " bytes) runs past the end of " + location + " (" +
                                               std::to_string(file->size()) + " bytes)"};
    info.storage = file;
    info.offset = offset;
    return {};
}

} // namespace

core::Result<core::TensorInfo> onnxTensor(const onnx::TensorProto& t, const std::string& name,
                                          const std::filesystem::path& model, ExternalFiles& files)
{
    core::TensorInfo info;
    info.name = name;
    const OnnxType type = onnxType(t.data_type());
    info.dtype = type.dtype;
    info.typeName = type.name ? type.name : "ONNX type " + std::to_string(t.data_type());
    for (int64_t d : t.dims()) {
        if (d < 0) return tensorError(model, name, "has a negative dimension " + std::to_string(d));
        info.shape.push_back(d);
    }
    const auto elems = core::checkedProduct(info.shape);
    if (!elems) return tensorError(model, name, "the product of its dimensions overflows 64 bits");
    if (info.dtype == DType::Unsupported) { // listed with its type, data not read
        info.bytes = t.has_raw_data() ? t.raw_data().size() : 0;
        return info;
    }
    const auto size = core::byteSizeFor(info.dtype, *elems);
    if (!size) return tensorError(model, name, "its byte size overflows 64 bits");
    const uint64_t need = *size;
    info.bytes = need;
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
        if (auto st = attachExternal(t, info, need, model, files); !st) return st.error();
        return info;
    }
    std::vector<std::byte> data;
    if (t.has_raw_data()) {
        if (t.raw_data().size() != need)
            return tensorError(model, name,
                               "raw_data has " + std::to_string(t.raw_data().size()) +
                                   " bytes but " + std::to_string(*elems) + " x " + info.typeName +
                                   " needs " + std::to_string(need));
        data.resize(need);
        if (need) std::memcpy(data.data(), t.raw_data().data(), need);
    } else {
        auto typed = typedData(t, info.dtype, *elems, model, name);
        if (!typed) return typed.error();
        data = std::move(*typed);
    }
    info.storage = std::make_shared<core::BufferStorage>(model.string(), std::move(data));
    info.offset = 0;
    return info;
}

} // namespace qs::io
