// Push constants of the statistics shader (shaders/stats/).
// Shared by GLSL and C++: see push_layout.h for the rules.
#ifndef QS_PUSH_STATS_H
#define QS_PUSH_STATS_H
#include "push_layout.h"

/// stats/tensor_stats.comp: one chunk of `count` values. Element i of the chunk is element
/// g = g0 + i of the tensor; its channel along an axis of size dim and stride s is
/// (g / s) % dim = (first + (offset + i) / s) % dim with first = (g0 / s) % dim and
/// offset = g0 % s (computed on the host in 64 bits). dim 0: no vector for that axis.
QS_PUSH_BLOCK(TensorStatsPush) {
    QS_U32 count;      ///< values in this chunk
    QS_F32 shift;      ///< K S: moments are taken of y = x S - K S (K near the data, for accuracy)
    QS_F32 scale;      ///< S, a power of two: 1, or small enough that y^4 cannot overflow f32
    QS_U32 outDim;     ///< out-channel vector length (0: none)
    QS_U32 outFirst;
    QS_U32 outOffset;
    QS_U32 outStride;
    QS_U32 inDim;      ///< in-channel vector length (0: none); stored after the out vector
    QS_U32 inFirst;
    QS_U32 inOffset;
    QS_U32 inStride;
} QS_PUSH_INSTANCE;

#endif
