// The bindings every linear-layer shader shares (shaders/linear/): x, the weights of one chunk
// of output rows, the per-group scales and zero points, and y. With W_INT8 (the Int8
// precision) x holds the quantized activations and every sum is an exact int32.
#ifndef QS_LINEAR_IO_GLSL
#define QS_LINEAR_IO_GLSL
#include "push_linear.h"

#ifdef W_INT8
#define X_T int
#else
#define X_T float
#endif

layout(std430, binding = 0) readonly buffer Activations { X_T x[]; };
layout(std430, binding = 1) readonly buffer Weights { uint w[]; };
layout(std430, binding = 2) readonly buffer Scales { float scales[]; };
layout(std430, binding = 3) readonly buffer Zeros { float zeros[]; };
layout(std430, binding = 4) writeonly buffer Output { float y[]; };

#include "linear_weights.glsl"

// Writes the finished sum of y[b][rowOffset + n]. Int8: the exact int32 sum times the row's
// sx * sw[n] (scales[], computed on the host as the reference does), one rounding each.
void storeOutput(uint b, uint n, WEIGHT_T sum)
{
    uint row = pc.rowOffset + n;
#ifdef W_INT8
    precise float value = float(sum) * scales[row];
    y[b * pc.outStride + row] = value;
#else
    y[b * pc.outStride + row] = sum;
#endif
}

#endif
