// Push constants of metric_sums.comp (shaders/metrics/). Shared by GLSL and C++: see
// push_layout.h for the rules. One block per header: a shader has one push-constant block.
#ifndef QS_PUSH_METRIC_SUMS_H
#define QS_PUSH_METRIC_SUMS_H
#include "push_layout.h"

/// metrics/metric_sums.comp: the sums of compareValues over `count` pairs, one partial per
/// workgroup.
QS_PUSH_BLOCK(MetricSumsPush) {
    QS_U32 count;
} QS_PUSH_INSTANCE;

#endif
