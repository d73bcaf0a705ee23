#version 450
// The finite minimum and maximum of scale groups, the reduction every min-max fit starts
// from (quant's finiteRange: NaN and +-Inf are skipped). Results are order-preserving keys
// (quantize_keys.glsl); a group without a finite value keeps the identities (lo > hi).
// Variant ROWS: one workgroup per segment of `width` columns of a row (grid-stride over the
// rows * perRow segments), the lanes striding through it and reducing in shared memory.
// Variant COLS: one invocation per column, walking down the rows (adjacent lanes read
// adjacent words).
#extension GL_GOOGLE_include_directive : require

#define QS_WG_SIZE 64
layout(local_size_x = QS_WG_SIZE) in;

#define QS_QUANTIZE_RANGE_PUSH
#include "push_quantize.h"
#include "quantize_keys.glsl"
#include "quantize_exact.glsl"

layout(std430, binding = 0) readonly buffer Weights { uint weights[]; };
layout(std430, binding = 1) writeonly buffer Keys { uvec2 keys[]; }; // (min key, max key)

#ifdef ROWS
shared uint lows[QS_WG_SIZE];
shared uint highs[QS_WG_SIZE];

void main()
{
    uint lane = gl_LocalInvocationIndex;
    uint segments = pc.rows * pc.perRow;
    for (uint seg = gl_WorkGroupID.x; seg < segments; seg += gl_NumWorkGroups.x) {
        uint r = seg / pc.perRow;
        uint c0 = (seg % pc.perRow) * pc.width;
        uint c1 = min(c0 + pc.width, pc.cols);
        uint lo = kQsNoKeyLo, hi = kQsNoKeyHi;
        for (uint c = c0 + lane; c < c1; c += QS_WG_SIZE) {
            uint bits = weights[r * pc.cols + c];
            if (!qsIsFinite(bits)) continue;
            uint k = qsKey(bits);
            lo = min(lo, k);
            hi = max(hi, k);
        }
        lows[lane] = lo;
        highs[lane] = hi;
        barrier();
        for (uint stride = QS_WG_SIZE / 2u; stride > 0u; stride >>= 1u) {
            if (lane < stride) {
                lows[lane] = min(lows[lane], lows[lane + stride]);
                highs[lane] = max(highs[lane], highs[lane + stride]);
            }
            barrier();
        }
        if (lane == 0u) keys[seg] = uvec2(lows[0], highs[0]);
        barrier(); // lane 0 reads the scratch before the next segment overwrites it
    }
}
#else
void main()
{
    for (uint c = gl_GlobalInvocationID.x; c < pc.cols; c += gl_NumWorkGroups.x * QS_WG_SIZE) {
        uint lo = kQsNoKeyLo, hi = kQsNoKeyHi;
        for (uint r = 0u; r < pc.rows; ++r) {
            uint bits = weights[r * pc.cols + c];
            if (!qsIsFinite(bits)) continue;
            uint k = qsKey(bits);
            lo = min(lo, k);
            hi = max(hi, k);
        }
        keys[c] = uvec2(lo, hi);
    }
}
#endif
