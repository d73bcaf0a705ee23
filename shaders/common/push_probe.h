// Push constants of the probe shaders (shaders/probe/). Shared by GLSL and C++: see
// push_layout.h for the rules.
#ifndef QS_PUSH_PROBE_H
#define QS_PUSH_PROBE_H
#include "push_layout.h"

/// read_bandwidth.comp: sums `count` 32-bit words of binding 0 (modulo 2^32), one partial
/// sum per workgroup into binding 1.
QS_PUSH_BLOCK(ReadBandwidthPush) {
    QS_U32 count;  ///< words to read (the _vec4 variant: a multiple of 4)
} QS_PUSH_INSTANCE;

#endif
