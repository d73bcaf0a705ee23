// Exact float comparisons done in integers, so that a device that flushes subnormals still
// orders and classifies values exactly as the CPU does.
#ifndef QS_FLOATKEY_GLSL
#define QS_FLOATKEY_GLSL

// An unsigned key ordered as the float (for non-NaN x): -Inf < ... < -0 < +0 < ... < +Inf.
uint floatKey(float x)
{
    uint b = floatBitsToUint(x);
    return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}

float floatFromKey(uint k)
{
    return uintBitsToFloat((k & 0x80000000u) != 0u ? (k & 0x7fffffffu) : ~k);
}

bool isFiniteBits(uint b) { return (b & 0x7fffffffu) < 0x7f800000u; }

#endif
