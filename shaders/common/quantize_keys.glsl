// Order-preserving keys of floats for the quantize range reductions: key(a) < key(b) exactly
// when a < b (with -0 below +0), computed on the bits so that min and max are exact integer
// operations (a float min may flush a subnormal). The host turns keys back into floats.
#ifndef QS_QUANTIZE_KEYS_GLSL
#define QS_QUANTIZE_KEYS_GLSL

const uint kQsNoKeyLo = 0xffffffffu; // the min identity: no finite value seen
const uint kQsNoKeyHi = 0u;          // the max identity

uint qsKey(uint bits) { return (bits & 0x80000000u) != 0u ? ~bits : bits | 0x80000000u; }

#endif
