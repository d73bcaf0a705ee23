#include "codec_support.h"

#include "quant/intquant.h"

namespace qs::quant::detail {

std::vector<uint8_t> packBits(std::span<const uint8_t> codes, int64_t rows, int64_t cols, int bits)
{
    const int64_t rowBytes = packedRowBytes(cols, bits);
    std::vector<uint8_t> out(size_t(rows * rowBytes), 0);
    const unsigned mask = (1u << bits) - 1u;
    for (int64_t r = 0; r < rows; ++r) {
        uint8_t* dst = out.data() + r * rowBytes;
        const uint8_t* src = codes.data() + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t bit = c * bits;
            const unsigned shifted = (src[c] & mask) << (bit % 8);
            dst[bit / 8] |= uint8_t(shifted);
            if (bit % 8 + bits > 8) dst[bit / 8 + 1] |= uint8_t(shifted >> 8);
        }
    }
    return out;
}

std::vector<int64_t> groupShape(const GroupGrid& g)
{
    switch (g.granularity) {
    case Granularity::Tensor: return {1};
    case Granularity::Channel: return {g.rows, 1};
    case Granularity::InChannel: return {1, g.cols};
    case Granularity::Group: return {g.rows, g.perRow};
    }
    return {1};
}

unsigned rowThreads() { return chunkThreads(); }

core::Status forRowBlocks(int64_t rows, int64_t cols, core::Progress* progress, uint64_t doneBefore,
                          uint64_t total, const char* what, const RowsDone& rowsDone,
                          const std::function<void(int64_t, int64_t, unsigned)>& fn)
{
    return forChunks(rows, rowChunk(cols), progress, doneBefore, total, what,
                     [&](int64_t r0, int64_t r1, unsigned t) {
        fn(r0, r1, t);
        if (rowsDone) rowsDone(r0, r1);
    });
}

} // namespace qs::quant::detail
