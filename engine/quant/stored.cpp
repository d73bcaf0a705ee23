#include "stored.h"

#include "codecs/codec_support.h"

namespace qs::quant {

namespace {

/// The method's own parts; with `withData` false only their shapes.
std::vector<StoredPart> methodParts(const MethodResult& r, bool withData)
{
    using core::DType;
    std::vector<StoredPart> parts;
    const auto k = int64_t(r.outlierIndex.size());
    auto add = [&](std::string suffix, DType dtype, std::vector<int64_t> shape, auto const& values) {
        if (withData) parts.push_back(detail::partOf(std::move(suffix), dtype, std::move(shape), values));
        else parts.push_back(StoredPart{std::move(suffix), dtype, std::move(shape), {}});
    };
    switch (r.method) {
    case Method::Awq:
    case Method::SmoothQuant:
        add(".smooth", DType::F32, {int64_t(r.channelScales.size())}, r.channelScales);
        break;
    case Method::LlmInt8:
        add(".outlier_columns", DType::I64, {k}, r.outlierIndex);
        add(".outlier_weights", DType::F16, {r.quantized.rows(), k}, r.outlierValues);
        break;
    case Method::Spqr:
        add(".outlier_index", DType::I64, {k}, r.outlierIndex);
        add(".outlier_values", DType::F16, {k}, r.outlierValues);
        break;
    case Method::Rtn:
    case Method::Gptq: break;
    }
    return parts;
}

/// LLM.int8 with every column kept has no quantized part to store.
bool hasCodes(const MethodResult& r) { return r.quantized.cols() > 0 || r.method != Method::LlmInt8; }

} // namespace

core::Result<std::vector<StoredPart>> storedParts(const MethodResult& r)
{
    std::vector<StoredPart> parts;
    if (hasCodes(r)) {
        auto codec = makeCodec(r.quantized.scheme);
        if (!codec) return codec.error();
        auto stored = (*codec)->store(r.quantized);
        if (!stored) return stored.error();
        parts = std::move(*stored);
    }
    for (auto& p : methodParts(r, true)) parts.push_back(std::move(p));
    return parts;
}

std::vector<StoredPart> storedLayout(const MethodResult& r)
{
    std::vector<StoredPart> parts;
    if (hasCodes(r)) {
        if (auto codec = makeCodec(r.quantized.scheme)) parts = (*codec)->layout(r.quantized.rows(), r.quantized.cols());
    }
    for (auto& p : methodParts(r, false)) parts.push_back(std::move(p));
    return parts;
}

void setStoredCost(MethodResult& r, int64_t weights)
{
    r.bytes = totalBytes(storedLayout(r));
    r.bitsPerWeight = weights > 0 ? double(r.bytes) * 8.0 / double(weights) : 0.0;
}

} // namespace qs::quant
