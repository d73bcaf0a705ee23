#include "encode.h"

#include "floatquant.h"
#include "ggml_quant.h"
#include "rounding.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qs::quant {

using core::DType;
using core::Error;
using core::ErrorCode;

namespace {

template <class T>
StoredPart partOf(std::string suffix, DType dtype, std::vector<int64_t> shape, const std::vector<T>& values)
{
    StoredPart p{std::move(suffix), dtype, std::move(shape), {}};
    p.data.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(p.data.data(), values.data(), p.data.size());
    return p;
}

/// The weights in stored space: dequant, times the AWQ/SmoothQuant scale of each column.
std::vector<float> storedValues(const Matrix& m, std::span<const float> smooth)
{
    std::vector<float> v(m.data);
    if (smooth.empty()) return v;
    for (int64_t r = 0; r < m.rows; ++r)
        for (int64_t c = 0; c < m.cols; ++c) v[size_t(r * m.cols + c)] *= smooth[size_t(c)];
    return v;
}

/// Packs `bits`-bit codes (the low bits of each) row by row into little-endian bit streams.
std::vector<uint8_t> packBits(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols, int bits)
{
    const int64_t rowBytes = (cols * bits + 7) / 8;
    std::vector<uint8_t> out(size_t(rows * rowBytes), 0);
    const unsigned mask = (1u << bits) - 1u;
    for (int64_t r = 0; r < rows; ++r) {
        uint8_t* dst = out.data() + r * rowBytes;
        for (int64_t c = 0; c < cols; ++c) {
            const unsigned v = codes[size_t(r * cols + c)] & mask;
            const int64_t bit = c * bits;
            const unsigned shifted = v << (bit % 8);
            dst[bit / 8] |= uint8_t(shifted);
            if (bit % 8 + bits > 8) dst[bit / 8 + 1] |= uint8_t(shifted >> 8);
        }
    }
    return out;
}

/// Index of the scale group of element (r, c) for Int / FP8 schemes.
int64_t groupOf(const Scheme& s, int64_t r, int64_t c, int64_t groupsPerRow)
{
    switch (s.granularity) {
    case Granularity::Tensor: return 0;
    case Granularity::Channel: return r;
    case Granularity::InChannel: return c;
    case Granularity::Group: return r * groupsPerRow + c / s.groupSize;
    }
    return 0;
}

std::vector<int64_t> scaleShape(const Scheme& s, int64_t rows, int64_t cols, int64_t groupsPerRow)
{
    switch (s.granularity) {
    case Granularity::Tensor: return {1};
    case Granularity::Channel: return {rows, 1};
    case Granularity::InChannel: return {1, cols};
    case Granularity::Group: return {rows, groupsPerRow};
    }
    return {1};
}

int64_t scaleCount(const Scheme& s, int64_t rows, int64_t cols)
{
    switch (s.granularity) {
    case Granularity::Tensor: return 1;
    case Granularity::Channel: return rows;
    case Granularity::InChannel: return cols;
    case Granularity::Group: return rows * ((cols + s.groupSize - 1) / s.groupSize);
    }
    return 1;
}

core::Result<std::vector<StoredPart>> encodeScaled(const Quantized& q, const Scheme& s,
                                                   const std::vector<float>& v)
{
    const int64_t rows = q.dequant.rows, cols = q.dequant.cols;
    const bool isInt = s.family == Family::Int;
    const int64_t groups = scaleCount(s, rows, cols);
    const int64_t gpr = s.granularity == Granularity::Group ? groups / std::max<int64_t>(rows, 1) : 1;
    if (int64_t(q.scales.size()) != groups || (s.asymmetric && int64_t(q.zeroPoints.size()) != groups))
        return Error{ErrorCode::InvalidArgument, "the result has " + std::to_string(q.scales.size()) + " scales, " +
                                              s.spec() + " needs " + std::to_string(groups)};
    const float qmax = s.asymmetric ? float((1 << s.bits) - 1) : float((1 << (s.bits - 1)) - 1);
    const float qmin = s.asymmetric ? 0.0f : -qmax;
    const MiniFloat& f = s.family == Family::Fp8E5M2 ? kE5M2 : kE4M3;
    std::vector<uint8_t> codes(v.size());
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t g = groupOf(s, r, c, gpr);
            const float x = v[size_t(r * cols + c)] / q.scales[size_t(g)];
            if (!isInt) {
                codes[size_t(r * cols + c)] = encodeMiniFloat(x, f, s.overflow);
                continue;
            }
            const float zp = s.asymmetric ? float(q.zeroPoints[size_t(g)]) : 0.0f;
            const float code = isFiniteBits(x) ? std::clamp(roundHalfEven(std::clamp(x, -512.0f, 512.0f)) + zp, qmin, qmax) : 0.0f;
            codes[size_t(r * cols + c)] = uint8_t(int8_t(int(code)));
        }
    }
    std::vector<StoredPart> parts;
    if (!isInt)
        parts.push_back(partOf("", s.family == Family::Fp8E5M2 ? DType::F8_E5M2 : DType::F8_E4M3, {rows, cols}, codes));
    else if (s.bits == 8)
        parts.push_back(partOf("", s.asymmetric ? DType::U8 : DType::I8, {rows, cols}, codes));
    else
        parts.push_back(partOf("", DType::U8, {rows, (cols * s.bits + 7) / 8}, packBits(codes, rows, cols, s.bits)));
    const auto shape = scaleShape(s, rows, cols, gpr);
    if (isInt && s.granularity == Granularity::Group) {
        std::vector<uint16_t> half(q.scales.size());
        for (size_t i = 0; i < half.size(); ++i) half[i] = f32ToF16RoundNearestEven(q.scales[i]);
        parts.push_back(partOf(".scale", DType::F16, shape, half));
    } else {
        parts.push_back(partOf(".scale", DType::F32, shape, q.scales));
    }
    if (s.asymmetric) {
        std::vector<uint8_t> zp(q.zeroPoints.begin(), q.zeroPoints.end());
        parts.push_back(partOf(".zero_point", DType::U8, shape, zp));
    }
    return parts;
}

/// MX and NVFP4: per block of `block` columns an element scale and the E2M1/E4M3 elements.
core::Result<std::vector<StoredPart>> encodeBlockFloat(const Quantized& q, const Scheme& s,
                                                       const std::vector<float>& v)
{
    const int64_t rows = q.dequant.rows, cols = q.dequant.cols;
    const bool nv = s.family == Family::NvFp4;
    const int64_t block = nv ? 16 : 32;
    const int64_t gpr = (cols + block - 1) / block;
    const MiniFloat& elem = s.family == Family::MxFp8 ? kE4M3 : kE2M1;
    if (int64_t(q.clip.size()) != rows * gpr || (nv && q.scales.size() != 1))
        return Error{ErrorCode::InvalidArgument, "the result's block scales do not match " + s.spec()};
    const float ts = nv ? q.scales[0] : 1.0f;
    std::vector<uint8_t> scaleCodes(q.clip.size()), codes(v.size());
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t g = 0; g < gpr; ++g) {
            const float clip = q.clip[size_t(r * gpr + g)];
            float blockScale;
            uint8_t& sc = scaleCodes[size_t(r * gpr + g)];
            if (nv) {
                sc = encodeMiniFloat(clip / elem.maxFinite / ts, kE4M3);
                blockScale = decodeMiniFloat(sc, kE4M3) * ts;
            } else {
                blockScale = clip / elem.maxFinite; // a power of two: exact
                sc = uint8_t(std::clamp(std::ilogb(blockScale) + 127, 0, 254));
            }
            for (int64_t c = g * block; c < std::min(cols, (g + 1) * block); ++c) {
                const float x = v[size_t(r * cols + c)];
                codes[size_t(r * cols + c)] = blockScale > 0.0f && isFiniteBits(x) ? encodeMiniFloat(x / blockScale, elem) : 0;
            }
        }
    }
    std::vector<StoredPart> parts;
    if (s.family == Family::MxFp8)
        parts.push_back(partOf("", DType::F8_E4M3, {rows, cols}, codes));
    else
        parts.push_back(partOf("", DType::U8, {rows, (cols + 1) / 2}, packBits(codes, rows, cols, 4)));
    parts.push_back(partOf(".scale", nv ? DType::F8_E4M3 : DType::U8, {rows, gpr}, scaleCodes));
    if (nv) parts.push_back(partOf(".scale_2", DType::F32, {1}, q.scales));
    return parts;
}

core::Result<std::vector<StoredPart>> encodeNf4(const Quantized& q, const Scheme& s, const std::vector<float>& v)
{
    const int64_t rows = q.dequant.rows, cols = q.dequant.cols;
    const int64_t block = s.groupSize > 0 ? s.groupSize : 64;
    const int64_t gpr = (cols + block - 1) / block;
    const size_t blocks = size_t(rows * gpr);
    const size_t chunks = (blocks + 255) / 256;
    if (q.clip.size() != blocks || (s.doubleQuant && q.scales.size() != chunks + 1))
        return Error{ErrorCode::InvalidArgument, "the result's block absmax values do not match " + s.spec()};
    std::vector<uint8_t> codes(v.size());
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const float a = q.clip[size_t(r * gpr + c / block)];
            codes[size_t(r * cols + c)] = uint8_t(a > 0.0f ? nf4Index(v[size_t(r * cols + c)] / a) : 7);
        }
    }
    std::vector<StoredPart> parts;
    parts.push_back(partOf("", DType::U8, {rows, (cols + 1) / 2}, packBits(codes, rows, cols, 4)));
    if (!s.doubleQuant) {
        parts.push_back(partOf(".absmax", DType::F32, {rows, gpr}, q.clip));
        return parts;
    }
    const float mean = q.scales.back();
    std::vector<int8_t> absCodes(blocks);
    for (size_t i = 0; i < blocks; ++i)
        absCodes[i] = int8_t(std::clamp(roundHalfEven((q.clip[i] - mean) / q.scales[i / 256]), -127.0f, 127.0f));
    parts.push_back(partOf(".absmax", DType::I8, {rows, gpr}, absCodes));
    parts.push_back(partOf(".absmax_scale", DType::F32, {int64_t(chunks)},
                           std::vector<float>(q.scales.begin(), q.scales.end() - 1)));
    parts.push_back(partOf(".absmax_mean", DType::F32, {1}, std::vector<float>{mean}));
    return parts;
}

/// The fp16 outliers of LLM.int8 (whole columns) or SpQR (single positions).
std::vector<StoredPart> outlierParts(const MethodResult& r, bool columns)
{
    const Matrix& q = r.quantized.dequant;
    const auto k = int64_t(r.outlierIndex.size());
    std::vector<uint16_t> values;
    if (columns) {
        for (int64_t row = 0; row < q.rows; ++row)
            for (int64_t c : r.outlierIndex) values.push_back(f32ToF16RoundNearestEven(q.row(row)[c]));
    } else {
        for (int64_t i : r.outlierIndex) values.push_back(f32ToF16RoundNearestEven(q.data[size_t(i)]));
    }
    std::vector<StoredPart> parts;
    parts.push_back(partOf(columns ? ".outlier_columns" : ".outlier_index", DType::I64, {k}, r.outlierIndex));
    parts.push_back(partOf(columns ? ".outlier_weights" : ".outlier_values", DType::F16,
                           columns ? std::vector<int64_t>{q.rows, k} : std::vector<int64_t>{k}, values));
    return parts;
}

} // namespace

core::Result<std::vector<StoredPart>> encodeResult(const MethodResult& r, const Scheme& scheme, Method method)
{
    if (method != Method::LlmInt8 && method != Method::Spqr) return encodeStored(r.quantized, scheme, r.channelScales);
    if (!r.part) return Error{ErrorCode::InvalidArgument, "the result has no quantized part to store"};
    const bool columns = method == Method::LlmInt8;
    core::Result<std::vector<StoredPart>> parts = std::vector<StoredPart>{};
    if (r.part->dequant.cols > 0) parts = encodeStored(*r.part, scheme);
    if (!parts) return parts;
    for (auto& p : outlierParts(r, columns)) parts->push_back(std::move(p));
    return parts;
}

core::Result<std::vector<StoredPart>> encodeStored(const Quantized& q, const Scheme& scheme,
                                                   std::span<const float> smooth)
{
    const int64_t rows = q.dequant.rows, cols = q.dequant.cols;
    if (!smooth.empty() && int64_t(smooth.size()) != cols)
        return Error{ErrorCode::InvalidArgument, "smoothing scales do not match the input channels"};
    core::Result<std::vector<StoredPart>> parts = std::vector<StoredPart>{};
    if (scheme.family == Family::Ggml) {
        const auto size = core::byteSizeFor(scheme.ggmlType, uint64_t(rows * cols));
        if (!size || *size != q.packed.size())
            return Error{ErrorCode::InvalidArgument, "the result has no " + scheme.spec() + " blocks to store"};
        parts->push_back(StoredPart{"", scheme.ggmlType, {rows, cols}, q.packed});
    } else {
        const auto v = storedValues(q.dequant, smooth);
        switch (scheme.family) {
        case Family::Int:
        case Family::Fp8E4M3:
        case Family::Fp8E5M2: parts = encodeScaled(q, scheme, v); break;
        case Family::MxFp4:
        case Family::MxFp8:
        case Family::NvFp4: parts = encodeBlockFloat(q, scheme, v); break;
        case Family::Nf4: parts = encodeNf4(q, scheme, v); break;
        case Family::Ggml: break;
        }
    }
    if (parts && !smooth.empty())
        parts->push_back(partOf(".smooth", DType::F32, {cols}, std::vector<float>(smooth.begin(), smooth.end())));
    return parts;
}

} // namespace qs::quant
