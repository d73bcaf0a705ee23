#pragma once
// Small values and builders shared by the quant suites.
#include "quant/matrix.h"

#include <limits>
#include <utility>
#include <vector>

namespace quanttest {

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
inline constexpr float kInf = std::numeric_limits<float>::infinity();

/// A rows x cols matrix over the given row-major values.
inline qs::quant::Matrix matrixOf(int64_t rows, int64_t cols, std::vector<float> v)
{
    qs::quant::Matrix m;
    m.rows = rows;
    m.cols = cols;
    m.data = std::move(v);
    return m;
}

} // namespace quanttest

// Accessors for the typed parameters of a quantization result, and in-memory tensors.
#include "core/storage.h"
#include "core/tensor.h"
#include "quant/quantize.h"

#include <cstring>
#include <memory>
#include <string>
#include <variant>

namespace quanttest {

/// An F32 tensor over its own buffer, rows = output channels ([out, in] roles by rank).
inline qs::core::TensorInfo f32Tensor(const std::string& name, std::vector<int64_t> shape,
                                      const std::vector<float>& values)
{
    std::vector<std::byte> bytes(values.size() * 4);
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    qs::core::TensorInfo t;
    t.name = name;
    t.dtype = qs::core::DType::F32;
    t.typeName = "F32";
    t.shape = std::move(shape);
    t.bytes = bytes.size();
    t.storage = std::make_shared<qs::core::BufferStorage>("memory", std::move(bytes));
    qs::core::assignRolesByRank(t);
    return t;
}

/// Int / FP8: the scale of every group.
inline std::vector<float> scalesOf(const qs::quant::Quantized& q)
{
    const auto* p = std::get_if<qs::quant::ScaledParams>(&q.params);
    return p ? p->scale : std::vector<float>{};
}

/// Int asymmetric: the zero point of every group.
inline std::vector<int32_t> zeroPointsOf(const qs::quant::Quantized& q)
{
    const auto* p = std::get_if<qs::quant::ScaledParams>(&q.params);
    return p ? std::vector<int32_t>(p->zeroPoint.begin(), p->zeroPoint.end()) : std::vector<int32_t>{};
}

/// The upper end of every group's range (the kept magnitude of symmetric formats).
inline std::vector<float> clipHi(const qs::quant::Quantized& q)
{
    std::vector<float> out;
    for (const auto& c : q.clip) out.push_back(c.hi);
    return out;
}

/// Every group's range as lo, hi pairs.
inline std::vector<float> clipPairs(const qs::quant::Quantized& q)
{
    std::vector<float> out;
    for (const auto& c : q.clip) {
        out.push_back(c.lo);
        out.push_back(c.hi);
    }
    return out;
}

inline int64_t groupsPerRow(const qs::quant::Quantized& q) { return q.grid.perRow; }

/// The codes as signed bytes (symmetric int).
inline std::vector<int8_t> signedCodes(const qs::quant::Quantized& q)
{
    return std::vector<int8_t>(q.codes.begin(), q.codes.end());
}

/// GGUF results: the blocks (the codes) as bytes.
inline std::vector<std::byte> blocksOf(const qs::quant::Quantized& q)
{
    const auto* p = reinterpret_cast<const std::byte*>(q.codes.data());
    return std::vector<std::byte>(p, p + q.codes.size());
}

inline const std::byte* blockData(const qs::quant::Quantized& q)
{
    return reinterpret_cast<const std::byte*>(q.codes.data());
}

/// A GGUF block type through the codec (quantizeRtn with that scheme).
inline qs::core::Result<qs::quant::Quantized> quantizeGgml(const qs::quant::Matrix& w, qs::core::DType type,
                                                           qs::core::Progress* progress = nullptr)
{
    qs::quant::Scheme s;
    s.family = qs::quant::Family::Ggml;
    s.ggmlType = type;
    s.granularity = qs::quant::Granularity::Group;
    return qs::quant::quantizeRtn(w, s, {}, progress);
}

} // namespace quanttest
