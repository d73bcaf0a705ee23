#include "save.h"

#include "quant/stored.h"

#include "io/model_writer.h"
#include "io/spill_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>

namespace qs::pipeline {

using core::Error;
using core::ErrorCode;
using quant::ApplyOptions;
using quant::Family;
using quant::Method;
using quant::MethodResult;
using quant::ModelReport;
using quant::Plan;
using quant::Scheme;

namespace {

/// A stored part whose bytes wait in the scratch file.
struct ParkedPart {
    std::string suffix;
    core::DType dtype;
    std::vector<int64_t> shape;
    uint64_t offset = 0, bytes = 0;
};

struct StoredTensor {
    std::vector<ParkedPart> parts;
    std::string description; ///< the quantscope.tensor.NAME metadata value
};

/// Refuses up front what the chosen file type cannot hold, before any quantization runs.
core::Status checkTarget(const core::Model& model, const Plan& plan, const ApplyOptions& options,
                         const std::filesystem::path& out, bool gguf)
{
    std::error_code ec;
    if (std::filesystem::equivalent(out, model.path, ec))
        return Error{ErrorCode::InvalidArgument, out.string() + ": is the model being read; choose another file"};
    for (const auto& t : model.tensors) {
        const auto scheme = quant::schemeToApply(t, plan, options);
        if (!scheme) continue;
        const Scheme& s = *scheme;
        if (gguf && s.family != Family::Ggml)
            return Error{ErrorCode::InvalidArgument, out.string() + ": GGUF holds only the GGUF-native schemes (q8_0, q4_0, "
                                                         "q4_1, q5_0, q5_1, q4_k, q5_k, q6_k); '" + t.name + "' uses " +
                                                         s.spec() + ": save it as .safetensors"};
        if (!gguf && s.family == Family::Ggml)
            return Error{ErrorCode::InvalidArgument, out.string() + ": '" + t.name + "' uses the GGUF block type " +
                                                         s.spec() + ": save it as .gguf"};
    }
    return {};
}

std::string describe(const core::TensorInfo& t, const Scheme& s, Method m)
{
    return nlohmann::ordered_json{{"scheme", s.spec()}, {"method", std::string(quant::methodName(m))},
                                  {"source_shape", t.shape}, {"out_axis", t.outAxis}}.dump();
}

/// The shape of a stored part. A GGUF block tensor keeps its source's shape when its rows are
/// the source's outermost axis and the innermost axis holds whole blocks (the bytes are then
/// exactly what ggml would store for that shape); everything else is [rows, ...] as encoded.
std::vector<int64_t> storedShape(const core::TensorInfo& t, const ParkedPart& p)
{
    const auto& info = core::dtypeInfo(p.dtype);
    const bool keep = info.isBlock && p.suffix.empty() && t.outAxis == 0 && t.shape.size() >= 2 &&
                      t.shape.back() % int64_t(info.blockElems) == 0;
    return keep ? t.shape : p.shape;
}

std::vector<io::OutTensor> outTensors(const core::Model& model, const std::map<std::string, StoredTensor>& stored,
                                      const io::SpillFile& spill, std::vector<core::MetadataEntry>& metadata)
{
    std::vector<io::OutTensor> tensors;
    for (const auto& t : model.tensors) {
        auto it = stored.find(t.name);
        if (it == stored.end()) {
            tensors.push_back(io::OutTensor{t.name, t.dtype, t.shape, &t});
            continue;
        }
        metadata.push_back({"quantscope.tensor." + t.name, it->second.description});
        for (const auto& p : it->second.parts)
            tensors.push_back(io::OutTensor{t.name + p.suffix, p.dtype, storedShape(t, p), nullptr, &spill,
                                            p.offset, p.bytes});
    }
    return tensors;
}

} // namespace

core::Result<ModelReport> saveQuantizedModel(const core::Model& model, const Plan& plan,
                                             const std::filesystem::path& out,
                                             const ApplyOptions& options, core::Progress* progress)
{
    std::string ext = out.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext != ".gguf" && ext != ".safetensors")
        return Error{ErrorCode::InvalidArgument, out.string() + ": the file name must end in .gguf or .safetensors"};
    const bool gguf = ext == ".gguf";
    if (auto st = checkTarget(model, plan, options, out, gguf); !st) return st.error();

    // Each tensor's parts go to a scratch file as soon as they are made, so memory holds one
    // tensor at a time; the final file is assembled once every size is known.
    auto spill = io::SpillFile::create(out);
    if (!spill) return spill.error();
    std::map<std::string, StoredTensor> stored;
    ApplyOptions run = options;
    run.sink = [&](const core::TensorInfo& t, const Scheme& s, const MethodResult& r) -> core::Status {
        auto parts = quant::storedParts(r);
        if (!parts) return Error{parts.error().code, model.path + ": '" + t.name + "': " + parts.error().message};
        StoredTensor entry{{}, describe(t, s, plan.methodFor(t.name))};
        for (const auto& p : *parts) {
            auto offset = spill->append(p.data);
            if (!offset) return offset.error();
            entry.parts.push_back(ParkedPart{p.suffix, p.dtype, p.shape, *offset, p.data.size()});
        }
        stored[t.name] = std::move(entry);
        return {};
    };
    auto report = quant::applyPlan(model, plan, progress, run);
    if (!report) return report.error();
    for (const auto& row : report->tensors) {
        if (!row.quantized && !row.scheme.empty())
            return Error{ErrorCode::InvalidArgument, model.path + ": cannot quantize '" + row.name + "': " + row.status};
    }
    std::vector<core::MetadataEntry> metadata = {
        {"quantscope.format", "quantized-v1"},
        {"quantscope.source", std::filesystem::path(model.path).filename().string()}};
    const auto tensors = outTensors(model, stored, *spill, metadata);
    // A GGUF source keeps its typed metadata (architecture, tokenizer, ...) in a GGUF output,
    // so llama.cpp can load the result; earlier quantscope.* keys are replaced.
    std::optional<io::GgufRawMetadata> raw;
    if (gguf && model.format == "gguf") {
        auto r = io::readGgufRawMetadata(model.path, [](std::string_view key) { return key.starts_with("quantscope."); });
        if (!r) return r.error();
        raw = std::move(*r);
    }
    auto st = gguf ? io::writeGguf(out, tensors, metadata, raw ? &*raw : nullptr)
                   : io::writeSafetensors(out, tensors, metadata);
    if (!st) return st.error();
    return report;
}

} // namespace qs::pipeline
