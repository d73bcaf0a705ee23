// loadWeightMatrix: bytes -> f32 (guarded against a mapped file shrinking) in parallel chunks,
// then the output axis moved to the front. Every size comes from the tensor's shape and is
// checked against the bytes the storage really has before anything is allocated or read.
#include "matrix.h"

#include "core/checked.h"
#include "core/faultguard.h"
#include "core/largebuffer.h"
#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

namespace qs::quant {

namespace {

core::Error loadError(const core::TensorInfo& t, core::ErrorCode code, const std::string& what)
{
    const std::string origin = t.storage ? t.storage->origin() : std::string("(no storage)");
    return core::makeError(code, origin + ": tensor '" + t.name + "' " + what);
}

/// The element count, checked against overflow, the dtype's block size and the byte range.
core::Result<uint64_t> checkedElementCount(const core::TensorInfo& t, uint64_t storageSize)
{
    const auto elems = core::checkedProduct(t.shape);
    if (!elems) {
        return loadError(t, core::ErrorCode::Format,
                         "has an invalid shape (a negative dimension or an element count past "
                         "2^64)");
    }
    const auto bytes = core::byteSizeFor(t.dtype, *elems);
    if (!bytes) {
        return loadError(t, core::ErrorCode::Format,
                         "has " + std::to_string(*elems) + " elements, not a whole number of " +
                             std::string(core::dtypeName(t.dtype)) + " blocks");
    }
    if (*bytes > t.bytes || !core::rangeInside(t.offset, *bytes, storageSize)) {
        return loadError(t, core::ErrorCode::Truncated,
                         "needs " + std::to_string(*bytes) + " bytes at offset " +
                             std::to_string(t.offset) + ", past its data (" +
                             std::to_string(t.bytes) + " bytes) or the storage (" +
                             std::to_string(storageSize) + " bytes)");
    }
    return *elems;
}

/// Converts `elems` elements in chunks of whole blocks, each chunk inside the SIGBUS guard
/// when the bytes are a file mapping. Cancellation is checked between chunks.
core::Status convertAll(const core::TensorInfo& t, const std::byte* src, uint64_t elems,
                        float* dst, core::Progress* progress)
{
    const core::DTypeInfo& info = core::dtypeInfo(t.dtype);
    const uint64_t blocksPerChunk = std::max<uint64_t>(1, (uint64_t{1} << 20) / info.blockElems);
    const uint64_t blocks = elems / info.blockElems;
    const uint64_t chunks = (blocks + blocksPerChunk - 1) / blocksPerChunk;
    const bool mapped = t.storage->isMapped();
    std::atomic<bool> faulted{false};
    std::atomic<uint64_t> done{0};
    core::parallelChunks(
        chunks, core::defaultThreadCount(),
        [&](uint64_t chunk, unsigned) {
            const uint64_t first = chunk * blocksPerChunk;
            const uint64_t count = std::min(blocksPerChunk, blocks - first);
            const std::byte* from = src + first * info.blockBytes;
            float* to = dst + first * info.blockElems;
            const uint64_t n = count * info.blockElems;
            if (mapped) {
                const auto st = core::guarded(t.storage->origin(),
                                              [&] { core::convertToF32(t.dtype, from, n, to); });
                if (!st) faulted = true;
            } else {
                core::convertToF32(t.dtype, from, n, to);
            }
            const uint64_t total = done.fetch_add(count) + count;
            if (progress && progress->report) progress->report(total, blocks);
        },
        [&] { return faulted.load() || (progress && progress->cancelled()); });
    if (faulted) {
        return loadError(t, core::ErrorCode::Truncated,
                         "could not be read: the file shrank while it was being read");
    }
    if (progress && progress->cancelled())
        return loadError(t, core::ErrorCode::Cancelled, "loading was cancelled");
    return core::Status::success();
}

/// Moves axis k of a row-major [outer, k-extent, inner] array to the front:
/// dst[o][a][b] = src[a][o][b]. Runs of `inner` values stay contiguous; with inner == 1 (an
/// ONNX [in, out] matrix) it is a 2-D transpose, done in tiles so both sides stay in cache.
void moveAxisToFront(const float* src, float* dst, int64_t outer, int64_t extent, int64_t inner)
{
    if (inner == 1) {
        constexpr int64_t kTile = 32;
        for (int64_t a0 = 0; a0 < outer; a0 += kTile) {
            for (int64_t o0 = 0; o0 < extent; o0 += kTile) {
                const int64_t a1 = std::min(outer, a0 + kTile);
                const int64_t o1 = std::min(extent, o0 + kTile);
                for (int64_t o = o0; o < o1; ++o)
                    for (int64_t a = a0; a < a1; ++a) dst[o * outer + a] = src[a * extent + o];
            }
        }
        return;
    }
    for (int64_t o = 0; o < extent; ++o) {
        for (int64_t a = 0; a < outer; ++a) {
            std::memcpy(dst + (o * outer + a) * inner, src + (a * extent + o) * inner,
                        static_cast<size_t>(inner) * sizeof(float));
        }
    }
}

} // namespace

core::Result<Matrix> loadWeightMatrix(const core::TensorInfo& tensor, core::Progress* progress)
{
    if (!tensor.readable()) {
        return loadError(tensor, core::ErrorCode::Unsupported,
                         "has type " + tensor.typeName + ", which cannot be read as numbers");
    }
    const auto bytes = tensor.storage->bytes();
    if (!bytes) return bytes.error();
    const auto elems = checkedElementCount(tensor, bytes->size());
    if (!elems) return elems.error();

    std::vector<float> flat(*elems);
    const std::byte* src = bytes->data() + tensor.offset;
    if (auto st = convertAll(tensor, src, *elems, flat.data(), progress); !st) return st.error();

    const int rank = static_cast<int>(tensor.shape.size());
    Matrix m;
    if (tensor.outAxis < 0 || tensor.outAxis >= rank) {
        m.rows = 1;
        m.cols = static_cast<int64_t>(*elems);
        m.data = std::move(flat);
        return m;
    }
    const int k = tensor.outAxis;
    m.rows = tensor.shape[k];
    if (*elems == 0) {
        // The other axes' product may be anything (even past int64) when one of them is 0.
        m.cols = 0;
        return m;
    }
    int64_t outer = 1;
    int64_t inner = 1;
    for (int i = 0; i < k; ++i) outer *= tensor.shape[i];
    for (int i = k + 1; i < rank; ++i) inner *= tensor.shape[i];
    m.cols = outer * inner;
    if (k == 0 || outer == 1 || m.rows == 1) {
        m.data = std::move(flat); // moving the axis changes no element's position
        return m;
    }
    core::resizeLarge(m.data, flat.size());
    moveAxisToFront(flat.data(), m.data.data(), outer, m.rows, inner);
    return m;
}

} // namespace qs::quant
