// Push constants of the block quantizers (shaders/quantize_blocks/). Shared by GLSL and C++:
// see push_layout.h for the rules.
#ifndef QS_PUSH_QUANTIZE_BLOCKS_H
#define QS_PUSH_QUANTIZE_BLOCKS_H
#include "push_layout.h"

/// Every block quantizer: `blocks` blocks to quantize. ggml_legacy.comp / q4_k.comp: blocks of
/// 32 / 256 consecutive values of binding 0 (cols, perRow and tensorScale unused).
/// block_float.comp: blocks of a row-major matrix of `cols` columns with `perRow` blocks per
/// row (the last of a row may be shorter), and NVFP4's F32 tensor scale (1 for MX).
QS_PUSH_BLOCK(QuantizeBlocksPush) {
    QS_U32 blocks;
    QS_U32 cols;
    QS_U32 perRow;
    QS_F32 tensorScale;
} QS_PUSH_INSTANCE;

#endif
