// Push constants of the linear-layer shaders (shaders/linear/). Shared by GLSL and C++: see
// push_layout.h for the rules.
#ifndef QS_PUSH_LINEAR_H
#define QS_PUSH_LINEAR_H
#include "push_layout.h"

/// gemv.comp / gemm.comp: y[b][rowOffset + n] = sum_k x[b][k] * W[n][k] for the `rows` weight
/// rows of binding 1 (one chunk of the layer's output rows), b < batch, k < inFeatures.
QS_PUSH_BLOCK(LinearPush) {
    QS_U32 batch;        ///< rows of x (binding 0: batch * inFeatures values)
    QS_U32 inFeatures;   ///< K
    QS_U32 rows;         ///< weight rows in this chunk
    QS_U32 rowWords;     ///< 32-bit words per weight row in binding 1 (rows padded to words)
    QS_U32 rowOffset;    ///< the chunk's first output row: y column and scale-group row
    QS_U32 outStride;    ///< y values per batch row (all output rows of the layer)
    QS_U32 bits;         ///< WINT: code width 2..8
    QS_U32 asym;         ///< WINT: 1 = unsigned codes with zero points (binding 3)
    QS_U32 granularity;  ///< WINT: 0 tensor, 1 channel, 2 input channel, 3 group
    QS_U32 groupWidth;   ///< WINT group: input channels per group
    QS_U32 groupsPerRow; ///< WINT group: groups along a row
} QS_PUSH_INSTANCE;

#endif
