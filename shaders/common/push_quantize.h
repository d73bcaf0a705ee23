// Push constants of the quantize shaders (shaders/quantize/). Shared by GLSL and C++: see
// push_layout.h for the rules. The host side is engine/backends/vulkan/kernels/vk_quantize.cpp.
// A shader has one push-constant block: range.comp defines QS_QUANTIZE_RANGE_PUSH and
// encode.comp QS_QUANTIZE_ENCODE_PUSH before including this file; C++ sees both.
#ifndef QS_PUSH_QUANTIZE_H
#define QS_PUSH_QUANTIZE_H
#include "push_layout.h"

/// quantize_range_rows: the finite min and max of every segment of `width` columns of each of
/// `rows` rows (perRow segments a row, the last one shorter), as order-preserving keys.
/// quantize_range_cols: the same for every column over `rows` rows (width, perRow unused).
#if defined(__cplusplus) || defined(QS_QUANTIZE_RANGE_PUSH)
QS_PUSH_BLOCK(QuantizeRangePush) {
    QS_U32 rows;
    QS_U32 cols;
    QS_U32 width;
    QS_U32 perRow;
} QS_PUSH_INSTANCE;
#endif

/// Group mapping of quantize_encode_*: the group of element (r, c) of the chunk.
#define QS_QUANT_GROUP_TENSOR 0u    // 0
#define QS_QUANT_GROUP_CHANNEL 1u   // r
#define QS_QUANT_GROUP_INCHANNEL 2u // c
#define QS_QUANT_GROUP_BLOCK 3u     // r * perRow + c / width

/// Rounding of quantize_encode_int (quant::Rounding).
#define QS_QUANT_ROUND_EVEN 0u
#define QS_QUANT_ROUND_AWAY 1u
#define QS_QUANT_ROUND_STOCHASTIC 2u

/// quantize_encode_{int,fp8,nf4}: codes and decoded values of `rows` x `cols` weights.
#if defined(__cplusplus) || defined(QS_QUANTIZE_ENCODE_PUSH)
QS_PUSH_BLOCK(QuantizeEncodePush) {
    QS_U32 rows;
    QS_U32 cols;
    QS_U32 groupMode; ///< QS_QUANT_GROUP_*
    QS_U32 width;     ///< BLOCK: columns per group
    QS_U32 perRow;    ///< BLOCK: groups per row
    // Int
    QS_U32 rounding;  ///< QS_QUANT_ROUND_*
    QS_F32 qmin;
    QS_F32 qmax;
    QS_U32 seedLo;    ///< stochastic: the splitmix64 seed
    QS_U32 seedHi;
    QS_U32 baseLo;    ///< stochastic: position (row * cols + col) of the chunk's first weight
    QS_U32 baseHi;
    // FP8 (quant::MiniFloat)
    QS_U32 expBits;
    QS_U32 mantBits;
    QS_I32 bias;
    QS_F32 maxFinite;
    QS_U32 hasInf;
    QS_U32 saturate;  ///< 1: overflow saturates to maxFinite; 0: Inf (E5M2) or NaN (E4M3)
} QS_PUSH_INSTANCE;
#endif

#endif
