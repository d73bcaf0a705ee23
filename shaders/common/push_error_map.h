// Push constants of error_map.comp (shaders/metrics/). Shared by GLSL and C++: see
// push_layout.h for the rules. One block per header: a shader has one push-constant block.
#ifndef QS_PUSH_ERROR_MAP_H
#define QS_PUSH_ERROR_MAP_H
#include "push_layout.h"

/// metrics/error_map.comp: one workgroup per map cell of a band of cell rows. The cell edges
/// are computed on the host (quant::errorMapEdge) and passed in a buffer.
QS_PUSH_BLOCK(ErrorMapPush) {
    QS_U32 cols;       ///< matrix columns (row stride of the uploaded rows)
    QS_U32 gridCols;   ///< cells per map row
    QS_U32 kind;       ///< quant::ErrorKind: 0 Absolute, 1 Signed, 2 Relative
    QS_U32 pooling;    ///< quant::Pooling: 0 Max, 1 Mean
} QS_PUSH_INSTANCE;

#endif
