// The splitmix64 stream of core/random.h on 32-bit integers (a 64-bit value is uvec2(low,
// high)), for stochastic rounding: qsSplitmixAt(seed, n) == core::splitmixAt(seed, n).
#ifndef QS_QUANTIZE_RANDOM_GLSL
#define QS_QUANTIZE_RANDOM_GLSL

uvec2 qsAdd64(uvec2 a, uvec2 b)
{
    uint carry;
    uint lo = uaddCarry(a.x, b.x, carry);
    return uvec2(lo, a.y + b.y + carry);
}

// a * b modulo 2^64.
uvec2 qsMul64(uvec2 a, uvec2 b)
{
    uint hi, lo;
    umulExtended(a.x, b.x, hi, lo);
    return uvec2(lo, hi + a.x * b.y + a.y * b.x);
}

// a ^ (a >> n) for 0 < n < 32.
uvec2 qsXorShift64(uvec2 a, uint n)
{
    return a ^ uvec2((a.x >> n) | (a.y << (32u - n)), a.y >> n);
}

uvec2 qsSplitmixAt(uvec2 seed, uvec2 n)
{
    const uvec2 gamma = uvec2(0x7f4a7c15u, 0x9e3779b9u); // core::kSplitmixGamma
    uvec2 z = qsAdd64(seed, qsMul64(gamma, qsAdd64(n, uvec2(1u, 0u))));
    z = qsMul64(qsXorShift64(z, 30u), uvec2(0x1ce4e5b9u, 0xbf58476du));
    z = qsMul64(qsXorShift64(z, 27u), uvec2(0x133111ebu, 0x94d049bbu));
    return qsXorShift64(z, 31u);
}

#endif
