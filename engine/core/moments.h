#pragma once
/// Count, mean and central moment sums M2..M4 of a set of values, merged pairwise: the one
/// definition the CPU statistics pass and the Vulkan statistics kernel's host merge share.
namespace qs::core {

struct Moments {
    double n = 0, mean = 0, m2 = 0, m3 = 0, m4 = 0;

    /// Adds the moments of another set. Pébay (2008), "Formulas for robust, one-pass parallel
    /// computation of covariances and arbitrary-order statistical moments", eqs. 3.1 for
    /// p = 2, 3, 4.
    void merge(const Moments& b)
    {
        if (b.n == 0) return;
        if (n == 0) {
            *this = b;
            return;
        }
        const double na = n, nb = b.n, nn = na + nb, d = b.mean - mean;
        const double d2 = d * d, d3 = d2 * d, d4 = d2 * d2;
        const double nm4 = m4 + b.m4 + d4 * na * nb * (na * na - na * nb + nb * nb) / (nn * nn * nn) +
                           6 * d2 * (na * na * b.m2 + nb * nb * m2) / (nn * nn) + 4 * d * (na * b.m3 - nb * m3) / nn;
        const double nm3 = m3 + b.m3 + d3 * na * nb * (na - nb) / (nn * nn) + 3 * d * (na * b.m2 - nb * m2) / nn;
        m2 = m2 + b.m2 + d2 * na * nb / nn;
        m3 = nm3;
        m4 = nm4;
        mean += d * nb / nn;
        n = nn;
    }
};

} // namespace qs::core
