#pragma once
// Internal to the codecs: stored-part builders, bit packing and the row-block driver.
#include "quant/codec.h"
#include "quant/intquant.h"

#include <cstring>
#include <span>

namespace qs::quant::detail {

/// A stored part holding a copy of `values`.
template <class T>
StoredPart partOf(std::string suffix, core::DType dtype, std::vector<int64_t> shape, std::span<const T> values)
{
    StoredPart p{std::move(suffix), dtype, std::move(shape), {}};
    p.data.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(p.data.data(), values.data(), p.data.size());
    return p;
}

template <class T>
StoredPart partOf(std::string suffix, core::DType dtype, std::vector<int64_t> shape, const std::vector<T>& values)
{
    return partOf(std::move(suffix), dtype, std::move(shape), std::span<const T>(values));
}

/// Bytes of one row of `cols` codes of `bits` bits packed as a little-endian bit stream.
inline int64_t packedRowBytes(int64_t cols, int bits) { return (cols * bits + 7) / 8; }

/// Packs the low `bits` bits of every code, row by row, into little-endian bit streams (code c
/// of a row at bits [c*bits, c*bits + bits)); each row starts on a byte.
std::vector<uint8_t> packBits(std::span<const uint8_t> codes, int64_t rows, int64_t cols, int bits);

/// The shape of a per-group part under grid g: [1] tensor, [R,1] channel, [1,C] inchannel,
/// [R,G] groups and blocks.
std::vector<int64_t> groupShape(const GroupGrid& g);

/// Rows per parallel chunk: about 64 Ki weights.
inline int64_t rowChunk(int64_t cols) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1)); }

/// Runs fn(r0, r1, thread) over row blocks in parallel with progress units
/// [doneBefore, doneBefore + rows) of `total`, then rowsDone(r0, r1) for each block.
core::Status forRowBlocks(int64_t rows, int64_t cols, core::Progress* progress, uint64_t doneBefore,
                          uint64_t total, const char* what, const RowsDone& rowsDone,
                          const std::function<void(int64_t, int64_t, unsigned)>& fn);

/// Threads forRowBlocks uses (for per-thread scratch).
unsigned rowThreads();

} // namespace qs::quant::detail
