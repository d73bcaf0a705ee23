// Workgroup reductions through shared memory. The includer defines QS_WG_SIZE (a power of
// two, equal to local_size_x) before including this file.
#ifndef QS_REDUCE_GLSL
#define QS_REDUCE_GLSL

shared uint qsReduceScratch[QS_WG_SIZE];

// The sum modulo 2^32 of `value` over the workgroup, valid in invocation 0 only. Every
// invocation of the workgroup must call it (it contains barriers).
uint workgroupSumU32(uint value)
{
    uint lane = gl_LocalInvocationIndex;
    qsReduceScratch[lane] = value;
    barrier();
    for (uint stride = QS_WG_SIZE / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) qsReduceScratch[lane] += qsReduceScratch[lane + stride];
        barrier();
    }
    return qsReduceScratch[0];
}

#endif
