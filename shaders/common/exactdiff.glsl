// The exact difference of two f32 values as an unevaluated pair: w - q = s + t exactly, with
// s = fl(w - q) (Knuth's TwoSum; every operation `precise`, so no contraction reorders it).
// Magnitudes then compare exactly: |e1| > |e2| iff |s1| > |s2|, or |s1| == |s2| and
// t1 sign(s1) > t2 sign(s2) (rounding is monotonic and |t| <= ulp(s) / 2).
// Holds while no operand or result is subnormal on a device that flushes them.
#ifndef QS_EXACTDIFF_GLSL
#define QS_EXACTDIFF_GLSL

#include "floatkey.glsl"

void exactDiff(float w, float q, out float s, out float t)
{
    precise float mq = -q;
    precise float sum = w + mq;
    precise float bv = sum - w;
    precise float av = sum - bv;
    precise float err = (w - av) + (mq - bv);
    s = sum;
    t = err;
}

// t with the sign of s folded in: |w - q| = |s| + tMag exactly.
float tMagnitude(float s, float t) { return s < 0.0 ? -t : t; }

// tMag as a floatKey, with -0 and +0 the same key (both mean an exact s): otherwise a tie of
// equal magnitudes would go to the pair whose tMag is +0 instead of the first one.
uint tMagnitudeKey(float s, float t)
{
    float m = tMagnitude(s, t);
    return m == 0.0 ? floatKey(0.0) : floatKey(m);
}

#endif
