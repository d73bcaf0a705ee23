#version 450
// Read-bandwidth probe: every invocation reads its grid-strided share of binding 0 (adjacent
// invocations read adjacent words, so a workgroup's loads are contiguous), sums the words
// modulo 2^32, and the workgroup writes one partial sum to binding 1. The host adds the
// partials and compares them with its own sum, so a run that reads wrong data is caught.
// Variant VEC4: loads uvec4 (four words per load); `count` is then a multiple of 4.
#extension GL_GOOGLE_include_directive : require

#define QS_WG_SIZE 256
layout(local_size_x = QS_WG_SIZE) in;

#include "push_probe.h"
#include "reduce.glsl"

#ifdef VEC4
layout(std430, binding = 0) readonly buffer Source { uvec4 words[]; };
#else
layout(std430, binding = 0) readonly buffer Source { uint words[]; };
#endif
layout(std430, binding = 1) writeonly buffer Partials { uint partials[]; };

void main()
{
    uint stride = gl_NumWorkGroups.x * QS_WG_SIZE;
    uint sum = 0u;
#ifdef VEC4
    uint n = pc.count / 4u;
    for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) {
        uvec4 v = words[i];
        sum += v.x + v.y + v.z + v.w;
    }
#else
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
        sum += words[i];
#endif
    uint total = workgroupSumU32(sum);
    if (gl_LocalInvocationIndex == 0u) partials[gl_WorkGroupID.x] = total;
}
