// Central moments (n, mean, M2, M3, M4) of a set of values and their numerically stable
// combination, in f32. M_p = sum (x - mean)^p. Partial moments are combined around the
// combined mean (Chan, Golub & LeVeque 1979 for M2; Pebay 2008 eqs. 3.1 for M3, M4) rather
// than from raw power sums, so a large mean against a small spread costs no digits.
#ifndef QS_MOMENTS_GLSL
#define QS_MOMENTS_GLSL

struct Moments {
    float n, mean, m2, m3, m4;
};

Moments momentsEmpty() { return Moments(0.0, 0.0, 0.0, 0.0, 0.0); }

// Adds one value (Welford/Terriberry: the pairwise combination with a one-value set).
Moments momentsAdd(Moments a, float x)
{
    precise float n1 = a.n;
    precise float n = n1 + 1.0;
    precise float d = x - a.mean;
    precise float dn = d / n;
    precise float dn2 = dn * dn;
    precise float t1 = d * dn * n1;
    a.m4 += t1 * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * a.m2 - 4.0 * dn * a.m3;
    a.m3 += t1 * dn * (n - 2.0) - 3.0 * dn * a.m2;
    a.m2 += t1;
    a.mean += dn;
    a.n = n;
    return a;
}

// The pairwise combination of two partial sets (Pebay 2008, eqs. 3.1 for p = 2, 3, 4).
Moments momentsMerge(Moments a, Moments b)
{
    if (b.n == 0.0) return a;
    if (a.n == 0.0) return b;
    precise float na = a.n, nb = b.n, nn = na + nb, d = b.mean - a.mean;
    precise float d2 = d * d, d3 = d2 * d, d4 = d2 * d2;
    Moments r;
    r.m4 = a.m4 + b.m4 + d4 * na * nb * (na * na - na * nb + nb * nb) / (nn * nn * nn) +
           6.0 * d2 * (na * na * b.m2 + nb * nb * a.m2) / (nn * nn) + 4.0 * d * (na * b.m3 - nb * a.m3) / nn;
    r.m3 = a.m3 + b.m3 + d3 * na * nb * (na - nb) / (nn * nn) + 3.0 * d * (na * b.m2 - nb * a.m2) / nn;
    r.m2 = a.m2 + b.m2 + d2 * na * nb / nn;
    r.mean = a.mean + d * nb / nn;
    r.n = nn;
    return r;
}

// The moments of the whole subgroup, in every invocation: the combined mean first, then each
// invocation's moments moved to it (M3 += 3 d M2 + n d^3, M4 += 4 d M3 + 6 d^2 M2 + n d^4 with
// d = its mean - the combined mean), added with subgroupAdd. Uniform control flow only.
Moments momentsSubgroup(Moments a)
{
    float n = subgroupAdd(a.n);
    if (n == 0.0) return momentsEmpty();
    precise float mean = subgroupAdd(a.n * a.mean) / n;
    precise float d = a.n > 0.0 ? a.mean - mean : 0.0;
    precise float d2 = d * d;
    Moments r;
    r.n = n;
    r.mean = mean;
    r.m2 = subgroupAdd(a.m2 + a.n * d2);
    r.m3 = subgroupAdd(a.m3 + 3.0 * d * a.m2 + a.n * d2 * d);
    r.m4 = subgroupAdd(a.m4 + 4.0 * d * a.m3 + 6.0 * d2 * a.m2 + a.n * d2 * d2);
    return r;
}

#endif
