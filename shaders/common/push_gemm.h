// Push constants of the f32 GEMM shader (shaders/gemm/). Shared by GLSL and C++: see
// push_layout.h for the rules.
#ifndef QS_PUSH_GEMM_H
#define QS_PUSH_GEMM_H
#include "push_layout.h"

/// sgemm.comp: P = op(A) op(B) over one chunk, P of m x n (row stride n, binding 2),
/// op(A) of m x k from binding 0, op(B) of k x n from binding 1, both row-major with the
/// given row strides as the host stored the chunk (A is k x m when transposed, B is n x k).
QS_PUSH_BLOCK(SgemmPush) {
    QS_U32 m;      ///< rows of P (rows of C in this chunk)
    QS_U32 n;      ///< columns of P (columns of C in this chunk)
    QS_U32 k;      ///< the summed dimension
    QS_U32 lda;    ///< row stride of A as stored in binding 0
    QS_U32 ldb;    ///< row stride of B as stored in binding 1
    QS_U32 transA; ///< 1: binding 0 holds A^T (k x m)
    QS_U32 transB; ///< 1: binding 1 holds B^T (n x k)
} QS_PUSH_INSTANCE;

#endif
