#include "ggml_blocks.h"

#include <cstring>

// Every function below follows the block layout of ggml-common.h and evaluates each value with
// the same float operations in the same order as ggml's dequantize_row_* reference code, so
// the results are bit-identical to what llama.cpp computes on a CPU without FMA contraction.
// Blocks are read byte-wise through memcpy: GGUF data is only aligned to the file's
// alignment, and block sizes such as 18 or 110 bytes leave most fields unaligned.

namespace qs::core {

namespace {

constexpr int kSuperBlock = 256; // QK_K
constexpr int kLegacyBlock = 32; // QK4_0, QK4_1, QK5_0, QK5_1, QK8_0

inline uint8_t byteAt(const std::byte* p, int i)
{
    return static_cast<uint8_t>(p[i]);
}

inline float halfAt(const std::byte* p)
{
    uint16_t bits = 0;
    std::memcpy(&bits, p, sizeof bits);
    return f16ToF32(bits);
}

inline uint32_t u32At(const std::byte* p)
{
    uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// ---- legacy 32-value blocks ---------------------------------------------------------------

/// Q4_0 {f16 d; u8 qs[16]}: value j from the low nibble of qs[j], j+16 from the high nibble.
void q4_0(const std::byte* b, float* y)
{
    const float d = halfAt(b);
    const std::byte* qs = b + 2;
    for (int j = 0; j < kLegacyBlock / 2; ++j) {
        const int x0 = (byteAt(qs, j) & 0x0F) - 8;
        const int x1 = (byteAt(qs, j) >> 4) - 8;
        y[j] = static_cast<float>(x0) * d;
        y[j + kLegacyBlock / 2] = static_cast<float>(x1) * d;
    }
}

/// Q4_1 {f16 d, m; u8 qs[16]}: q*d + m with unsigned nibbles.
void q4_1(const std::byte* b, float* y)
{
    const float d = halfAt(b);
    const float m = halfAt(b + 2);
    const std::byte* qs = b + 4;
    for (int j = 0; j < kLegacyBlock / 2; ++j) {
        const int x0 = byteAt(qs, j) & 0x0F;
        const int x1 = byteAt(qs, j) >> 4;
        y[j] = static_cast<float>(x0) * d + m;
        y[j + kLegacyBlock / 2] = static_cast<float>(x1) * d + m;
    }
}

/// The 5th bit of value j (j < 16) is bit j of qh; of value j+16 it is bit j+16.
inline int fifthBitLow(uint32_t qh, int j)
{
    return static_cast<int>(((qh >> j) << 4) & 0x10);
}
inline int fifthBitHigh(uint32_t qh, int j)
{
    return static_cast<int>((qh >> (j + 12)) & 0x10);
}

/// Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: (q - 16)*d.
void q5_0(const std::byte* b, float* y)
{
    const float d = halfAt(b);
    const uint32_t qh = u32At(b + 2);
    const std::byte* qs = b + 6;
    for (int j = 0; j < kLegacyBlock / 2; ++j) {
        const int x0 = ((byteAt(qs, j) & 0x0F) | fifthBitLow(qh, j)) - 16;
        const int x1 = ((byteAt(qs, j) >> 4) | fifthBitHigh(qh, j)) - 16;
        y[j] = static_cast<float>(x0) * d;
        y[j + kLegacyBlock / 2] = static_cast<float>(x1) * d;
    }
}

/// Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}: q*d + m.
void q5_1(const std::byte* b, float* y)
{
    const float d = halfAt(b);
    const float m = halfAt(b + 2);
    const uint32_t qh = u32At(b + 4);
    const std::byte* qs = b + 8;
    for (int j = 0; j < kLegacyBlock / 2; ++j) {
        const int x0 = (byteAt(qs, j) & 0x0F) | fifthBitLow(qh, j);
        const int x1 = (byteAt(qs, j) >> 4) | fifthBitHigh(qh, j);
        y[j] = static_cast<float>(x0) * d + m;
        y[j + kLegacyBlock / 2] = static_cast<float>(x1) * d + m;
    }
}

/// Q8_0 {f16 d; i8 qs[32]}: q*d.
void q8_0(const std::byte* b, float* y)
{
    const float d = halfAt(b);
    for (int j = 0; j < kLegacyBlock; ++j)
        y[j] = static_cast<float>(static_cast<int8_t>(byteAt(b + 2, j))) * d;
}

// ---- K-quants (256-value super-blocks) ----------------------------------------------------

/// Q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}. Sixteen groups of 16 values; group g
/// has scale (scales[g] & 15) and min (scales[g] >> 4). Each 32-byte half of qs holds four
/// 2-bit planes; plane p of bytes l..l+15 (and l+16..l+31) feeds consecutive groups.
void q2K(const std::byte* b, float* y)
{
    const std::byte* scales = b;
    const std::byte* q = b + 16;
    const float d = halfAt(b + 80);
    const float dmin = halfAt(b + 82);
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
        for (int shift = 0; shift < 8; shift += 2) {
            for (int part = 0; part < 2; ++part) {
                const uint8_t sc = byteAt(scales, is++);
                const float dl = d * static_cast<float>(sc & 0xF);
                const float ml = dmin * static_cast<float>(sc >> 4);
                for (int l = 0; l < 16; ++l) {
                    const int v = (byteAt(q, l + 16 * part) >> shift) & 3;
                    *y++ = dl * static_cast<float>(v) - ml;
                }
            }
        }
    }
}

/// Unpacks the twelve bytes of Q3_K scales into sixteen 6-bit values: the low four bits of
/// scale i come from byte i%8 (low nibble for i < 8, high nibble after), the top two bits
/// from byte 8 + i%4, bit pair i/4.
void unpackQ3Scales(const std::byte* packed, int scales[16])
{
    for (int i = 0; i < 16; ++i) {
        const uint8_t lowByte = byteAt(packed, i % 8);
        const int low = i < 8 ? (lowByte & 0xF) : (lowByte >> 4);
        const int high = (byteAt(packed, 8 + i % 4) >> (2 * (i / 4))) & 3;
        scales[i] = low | (high << 4);
    }
}

/// Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: value = d*(scale - 32)*(q - 4*!h),
/// q the 2-bit plane as in Q2_K and h the matching bit of hmask.
void q3K(const std::byte* b, float* y)
{
    const std::byte* hm = b;
    const std::byte* q = b + 32;
    int scales[16];
    unpackQ3Scales(b + 96, scales);
    const float dAll = halfAt(b + 108);
    int is = 0;
    uint8_t mask = 1;
    for (int half = 0; half < 2; ++half, q += 32) {
        for (int shift = 0; shift < 8; shift += 2, mask = static_cast<uint8_t>(mask << 1)) {
            for (int part = 0; part < 2; ++part) {
                const float dl = dAll * static_cast<float>(scales[is++] - 32);
                for (int l = 0; l < 16; ++l) {
                    const int i = l + 16 * part;
                    const int low = (byteAt(q, i) >> shift) & 3;
                    const int v = low - ((byteAt(hm, i) & mask) ? 0 : 4);
                    *y++ = dl * static_cast<float>(v);
                }
            }
        }
    }
}

/// The 6-bit scale and min j (0..7) of Q4_K/Q5_K's twelve packed bytes (get_scale_min_k4).
void scaleMinK4(int j, const std::byte* q, uint8_t& sc, uint8_t& m)
{
    if (j < 4) {
        sc = byteAt(q, j) & 63;
        m = byteAt(q, j + 4) & 63;
    } else {
        sc = static_cast<uint8_t>((byteAt(q, j + 4) & 0xF) | ((byteAt(q, j - 4) >> 6) << 4));
        m = static_cast<uint8_t>((byteAt(q, j + 4) >> 4) | ((byteAt(q, j) >> 6) << 4));
    }
}

// Eight lanes (GCC vector extension); lane by lane the same IEEE operations as scalar code.
// Only inside always-inline helpers of this file, so the vector-ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
using F8 = float __attribute__((vector_size(32)));
using I8 = int32_t __attribute__((vector_size(32)));
using U8x8 = uint8_t __attribute__((vector_size(8)));

[[gnu::always_inline]] inline I8 eightBytes(const std::byte* p)
{
    U8x8 b;
    std::memcpy(&b, p, sizeof b);
    return __builtin_convertvector(b, I8);
}

/// y[l] = dl * float(q_l) - ml for the 32 values of one Q4_K/Q5_K sub-block: q_l is the low
/// (shift 0) or high (shift 4) nibble of qs[l], plus 16 when Q5 and bit `hbit` of qh[l] is set.
template <bool Q5>
[[gnu::always_inline]] inline void q45Run(const std::byte* qs, const std::byte* qh, int shift, int hbit, float dl,
                                          float ml, float* y)
{
    for (int l = 0; l < 32; l += 8) {
        I8 q = (eightBytes(qs + l) >> shift) & 0xF;
        if constexpr (Q5) q |= ((eightBytes(qh + l) >> hbit) & 1) << 4;
        const F8 v = dl * __builtin_convertvector(q, F8) - ml;
        std::memcpy(y + l, &v, sizeof v);
    }
}

/// Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}: chunk c of 64 values uses the low nibbles
/// of qs[32c..] with scale/min 2c, then the high nibbles with 2c+1; v = d*sc*q - dmin*m.
/// Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]} adds 16 when bit 2c (low
/// nibbles) or 2c+1 (high nibbles) of qh[l] is set. Q5 selects Q5_K (a template argument, so
/// the loops carry no test of qh).
template <bool Q5>
[[gnu::always_inline]] inline void q45K(const std::byte* b, const std::byte* qh, const std::byte* qs, float* y)
{
    const float d = halfAt(b);
    const float dmin = halfAt(b + 2);
    const std::byte* scales = b + 4;
    for (int c = 0; c < 4; ++c, qs += 32, y += 64) {
        uint8_t sc = 0, m = 0;
        scaleMinK4(2 * c, scales, sc, m);
        q45Run<Q5>(qs, qh, 0, 2 * c, d * static_cast<float>(sc), dmin * static_cast<float>(m), y);
        scaleMinK4(2 * c + 1, scales, sc, m);
        q45Run<Q5>(qs, qh, 4, 2 * c + 1, d * static_cast<float>(sc), dmin * static_cast<float>(m), y + 32);
    }
}

// The K-quant decoders run on every recompute of the workbench: compiled for AVX-512 and AVX2
// too (integer unpacking and single float products: the same values on every clone).
[[gnu::target_clones("avx512f", "avx2", "default")]] void q4K(const std::byte* b, float* y)
{
    q45K<false>(b, nullptr, b + 16, y);
}
[[gnu::target_clones("avx512f", "avx2", "default")]] void q5K(const std::byte* b, float* y)
{
    q45K<true>(b, b + 16, b + 48, y);
}

/// Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: each 128-value half uses 64 bytes of
/// ql, 32 of qh and 8 scales; v = d*scale*(q - 32) with q = 4 low bits | 2 high bits << 4.
[[gnu::target_clones("avx512f", "avx2", "default")]] void q6K(const std::byte* b, float* y)
{
    const std::byte* ql = b;
    const std::byte* qh = b + 128;
    const std::byte* sc = b + 192;
    const float d = halfAt(b + 208);
    // Value l + 32k of a half (k = 0..3) takes the low (k < 2) or high nibble of
    // ql[l + 32 (k & 1)] and bits 2k, 2k + 1 of qh[l], with scale (l / 16) + 2k. One loop per
    // (k, 16 values) has one scale: two 8-lane steps; each value is (d * scale) * q as before.
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
        for (int k = 0; k < 4; ++k) {
            const int shiftLow = 4 * (k >> 1);
            const std::byte* low = ql + 32 * (k & 1);
            for (int h = 0; h < 2; ++h) {
                const float ds = d * static_cast<float>(static_cast<int8_t>(byteAt(sc, h + 2 * k)));
                for (int l = 16 * h; l < 16 * h + 16; l += 8) {
                    const I8 q = (((eightBytes(low + l) >> shiftLow) & 0xF) | (((eightBytes(qh + l) >> (2 * k)) & 3) << 4)) - 32;
                    const F8 v = ds * __builtin_convertvector(q, F8);
                    std::memcpy(y + l + 32 * k, &v, sizeof v);
                }
            }
        }
    }
}

/// Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}: q*d (bsums only serve dot products).
void q8K(const std::byte* b, float* y)
{
    float d = 0;
    std::memcpy(&d, b, sizeof d);
    for (int j = 0; j < kSuperBlock; ++j)
        y[j] = d * static_cast<float>(static_cast<int8_t>(byteAt(b + 4, j)));
}

using BlockFn = void (*)(const std::byte*, float*);

BlockFn blockFunction(DType t)
{
    switch (t) {
    case DType::Q4_0:
        return q4_0;
    case DType::Q4_1:
        return q4_1;
    case DType::Q5_0:
        return q5_0;
    case DType::Q5_1:
        return q5_1;
    case DType::Q8_0:
        return q8_0;
    case DType::Q2_K:
        return q2K;
    case DType::Q3_K:
        return q3K;
    case DType::Q4_K:
        return q4K;
    case DType::Q5_K:
        return q5K;
    case DType::Q6_K:
        return q6K;
    case DType::Q8_K:
        return q8K;
    default:
        return nullptr;
    }
}

} // namespace

bool dequantizeGgmlBlocks(DType t, const std::byte* src, uint64_t blocks, float* dst)
{
    const BlockFn fn = blockFunction(t);
    if (!fn) return false;
    const DTypeInfo& info = dtypeInfo(t);
    for (uint64_t i = 0; i < blocks; ++i)
        fn(src + i * info.blockBytes, dst + i * info.blockElems);
    return true;
}

} // namespace qs::core
