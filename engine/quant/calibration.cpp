#include "calibration.h"

#include "core/random.h"

#include "core/bytereader.h"
#include "core/checked.h"
#include "core/faultguard.h"
#include "core/storage.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <optional>

namespace qs::quant {

namespace {

using core::ErrorCode;
using core::makeError;

/// Per-channel mean of x^2 over the rows, in double so long calibration sets do not lose the
/// small channels.
std::vector<float> meanSquares(const Matrix& x)
{
    std::vector<double> sums(static_cast<size_t>(x.cols), 0.0);
    for (int64_t r = 0; r < x.rows; ++r) {
        const float* row = x.row(r);
        for (int64_t c = 0; c < x.cols; ++c)
            sums[c] += double(row[c]) * row[c];
    }
    std::vector<float> out(sums.size(), 0.0f);
    if (x.rows == 0) return out;
    for (size_t c = 0; c < sums.size(); ++c)
        out[c] = float(sums[c] / double(x.rows));
    return out;
}

core::Result<Matrix> npyToMatrix(const std::string& where, const core::TensorInfo& t,
                                 int64_t inFeatures)
{
    if (t.shape.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         where + ": calibration array is a scalar; expected [N, " +
                             std::to_string(inFeatures) + "] layer inputs");
    }
    const int64_t features = t.shape.back();
    if (features != inFeatures) {
        return makeError(ErrorCode::InvalidArgument,
                         where + ": calibration has " + std::to_string(features) +
                             " features in its last axis, but the layer has " +
                             std::to_string(inFeatures) + " input features");
    }
    const auto total = core::checkedProduct(t.shape);
    if (!total || !t.readable() || features <= 0) {
        return makeError(ErrorCode::Unsupported, where + ": calibration array '" + t.name +
                                                     "' of type " + t.typeName +
                                                     " cannot be read as numbers");
    }
    if (core::dtypeInfo(t.dtype).isBlock) {
        return makeError(ErrorCode::Unsupported,
                         where + ": calibration array of block type " + t.typeName +
                             " is not supported; use a float or integer .npy");
    }
    const auto need = core::byteSizeFor(t.dtype, *total);
    auto bytes = t.storage->bytes();
    if (!bytes) return bytes.error();
    if (!need || *need != t.bytes || !core::rangeInside(t.offset, t.bytes, bytes->size())) {
        return makeError(ErrorCode::Format,
                         where + ": calibration array byte range does not match its shape");
    }
    if (*total == 0) {
        return makeError(ErrorCode::InvalidArgument, where + ": calibration array has no rows");
    }
    Matrix m;
    m.cols = features;
    m.rows = static_cast<int64_t>(*total / static_cast<uint64_t>(features));
    m.data.resize(*total);
    const std::byte* src = bytes->data() + t.offset;
    bool converted = false;
    auto st = core::guarded(t.storage->origin(), [&] {
        converted = core::convertToF32(t.dtype, src, *total, m.data.data());
    });
    if (!st) return st.error();
    if (!converted) {
        return makeError(ErrorCode::Unsupported,
                         where + ": calibration dtype " + t.typeName + " cannot be converted");
    }
    return m;
}

} // namespace

core::Result<Calibration> calibrationFromArray(const core::TensorInfo& array, const std::string& where,
                                               int64_t inFeatures)
{
    auto m = npyToMatrix(where, array, inFeatures);
    if (!m) return m.error();
    Calibration c;
    c.x = std::move(m.value());
    c.importance = meanSquares(c.x);
    c.source = "npy " + where + " (" + std::to_string(c.x.rows) + " rows)";
    return c;
}

namespace {

struct ImatrixEntry {
    std::string name;
    int32_t ncall = 0;
    std::vector<float> values;
};

/// Reads one entry at the reader's position. `index` and the file name go into every error.
core::Result<ImatrixEntry> readImatrixEntry(core::ByteReader& in, const std::string& where,
                                            int32_t index, const std::string& wanted)
{
    const std::string at = where + ": imatrix entry " + std::to_string(index);
    const int32_t len = in.read<int32_t>();
    if (!in.ok()) return makeError(ErrorCode::Truncated, at + ": file ends before its name length");
    if (len < 0 || uint64_t(len) > in.remaining()) {
        return makeError(in.remaining() < uint64_t(std::max(len, 0)) ? ErrorCode::Truncated
                                                                     : ErrorCode::Format,
                         at + ": name length " + std::to_string(len) + " exceeds the " +
                             std::to_string(in.remaining()) + " bytes left in the file");
    }
    ImatrixEntry e;
    e.name = std::string(in.chars(uint64_t(len)));
    e.ncall = in.read<int32_t>();
    const int32_t nval = in.read<int32_t>();
    if (!in.ok()) {
        return makeError(ErrorCode::Truncated,
                         at + " ('" + e.name + "'): file ends before its ncall and nval");
    }
    const auto valueBytes = core::checkedMul(uint64_t(std::max(nval, 0)), sizeof(float));
    if (nval < 0 || !valueBytes || *valueBytes > in.remaining()) {
        return makeError(nval < 0 ? ErrorCode::Format : ErrorCode::Truncated,
                         at + " ('" + e.name + "'): " + std::to_string(nval) +
                             " values do not fit in the " + std::to_string(in.remaining()) +
                             " bytes left in the file");
    }
    auto raw = in.bytes(*valueBytes);
    // Only the wanted entry is decoded; the others are skipped without allocating.
    if (e.name == wanted) {
        e.values.resize(size_t(nval));
        if (!raw.empty()) std::memcpy(e.values.data(), raw.data(), raw.size());
    }
    return e;
}

core::Result<Calibration> parseImatrix(std::span<const std::byte> bytes, const std::string& where,
                                       const std::string& tensorName, int64_t inFeatures)
{
    core::ByteReader in(bytes);
    const int32_t count = in.read<int32_t>();
    if (!in.ok()) return makeError(ErrorCode::Truncated, where + ": imatrix file too short");
    // Each entry takes at least 12 bytes (name length, ncall, nval), which bounds the count.
    if (count < 1 || uint64_t(count) > in.remaining() / 12) {
        return makeError(ErrorCode::Format, where + ": imatrix entry count " +
                                                std::to_string(count) +
                                                " is impossible for a file of " +
                                                std::to_string(bytes.size()) + " bytes");
    }
    std::optional<ImatrixEntry> found;
    for (int32_t i = 0; i < count; ++i) {
        auto e = readImatrixEntry(in, where, i, tensorName);
        if (!e) return e.error();
        if (e->name == tensorName && !found) found = std::move(e.value());
    }
    if (!found) {
        return makeError(ErrorCode::InvalidArgument, where + ": no imatrix entry named '" +
                                                         tensorName + "' among " +
                                                         std::to_string(count) + " entries");
    }
    if (int64_t(found->values.size()) != inFeatures) {
        return makeError(ErrorCode::InvalidArgument,
                         where + ": imatrix entry '" + tensorName + "' has " +
                             std::to_string(found->values.size()) + " values, but the layer has " +
                             std::to_string(inFeatures) + " input features");
    }
    Calibration c;
    c.importance = std::move(found->values);
    // The file stores sums of x^2 scaled to ncall calls; llama.cpp divides by ncall on load.
    if (found->ncall > 0) {
        for (float& v : c.importance)
            v /= float(found->ncall);
    }
    c.source = "imatrix " + where + " entry " + tensorName;
    // Optional trailer (newer files): i32 chunk count, then the dataset name.
    const int32_t chunks = in.read<int32_t>();
    const int32_t nameLen = in.read<int32_t>();
    if (in.ok() && nameLen > 0 && uint64_t(nameLen) <= in.remaining()) {
        c.source +=
            " (" + std::to_string(chunks) + " chunks of " + std::string(in.chars(nameLen)) + ")";
    }
    return c;
}

} // namespace

core::Result<Calibration> loadImatrix(const std::filesystem::path& path,
                                      const std::string& tensorName, int64_t inFeatures)
{
    const std::string where = path.string();
    auto file = core::MappedFile::open(path);
    if (!file) return file.error();
    // Copied out first: parsing allocates, which a guarded read must not do. Imatrix files are
    // small (4 bytes per input channel per tensor).
    std::vector<std::byte> bytes(file.value()->size());
    const std::byte* src = file.value()->data();
    auto st = core::guarded(where, [&] { std::memcpy(bytes.data(), src, bytes.size()); });
    if (!st) return st.error();
    return parseImatrix(bytes, where, tensorName, inFeatures);
}

Calibration syntheticCalibration(int64_t rows, int64_t inFeatures, uint64_t seed,
                                 int outlierChannels, float outlierScale)
{
    Calibration c;
    rows = std::max<int64_t>(rows, 0);
    inFeatures = std::max<int64_t>(inFeatures, 0);
    c.x.rows = rows;
    c.x.cols = inFeatures;
    c.x.data.resize(size_t(rows * inFeatures));
    // splitmix64 (core/random.h) + Box-Muller: reproducible on every standard library, unlike
    // std::normal_distribution.
    core::SplitMix64 stream{seed};
    auto uniform = [&] { return (double(stream.next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
    for (size_t i = 0; i < c.x.data.size(); i += 2) {
        const double radius = std::sqrt(-2.0 * std::log(uniform()));
        const double angle = 2.0 * std::numbers::pi * uniform();
        c.x.data[i] = float(radius * std::cos(angle));
        if (i + 1 < c.x.data.size()) c.x.data[i + 1] = float(radius * std::sin(angle));
    }
    const int64_t outliers = std::clamp<int64_t>(outlierChannels, 0, inFeatures);
    if (outliers > 0) {
        const int64_t stride = inFeatures / outliers;
        for (int64_t k = 0; k < outliers; ++k) {
            for (int64_t r = 0; r < rows; ++r)
                c.x.row(r)[k * stride] *= outlierScale;
        }
    }
    c.importance = meanSquares(c.x);
    c.source = "synthetic N(0,1) " + std::to_string(rows) + "x" + std::to_string(inFeatures) +
               " seed " + std::to_string(seed);
    if (outliers > 0) {
        c.source +=
            ", " + std::to_string(outliers) + " outlier channels x" + std::to_string(outlierScale);
    }
    return c;
}

} // namespace qs::quant
