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
    QS_U32 groupWidth;   ///< W_INT group: input channels per group
    QS_U32 groupsPerRow; ///< W_INT group: groups along a row
} QS_PUSH_INSTANCE;

/// The W_INT variants' specialisation constants: constant_id N is word N of the constant data
/// (KernelDesc::constants), QS_LINEAR_SPEC_COUNT words in all.
#define QS_LINEAR_SPEC_BITS 0        // code width 2..8
#define QS_LINEAR_SPEC_ASYM 1        // 1 = unsigned codes with zero points (binding 3)
#define QS_LINEAR_SPEC_GRANULARITY 2 // 0 tensor, 1 channel, 2 input channel, 3 group
#define QS_LINEAR_SPEC_GROUP_SHIFT 3 // group: log2(groupWidth) for a power of two, else QS_LINEAR_NO_SHIFT
#define QS_LINEAR_SPEC_COUNT 4
#define QS_LINEAR_NO_SHIFT 32u       // groupWidth is no power of two (or not a group scheme): divide

#endif
