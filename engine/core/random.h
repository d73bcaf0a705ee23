#pragma once
/// The one random stream of the engine: splitmix64 (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014). The state advances by the golden gamma and
/// every output is the mix of the new state, so output n of a seed can also be computed
/// directly (splitmixAt): stochastic rounding draws by weight position, whatever the order or
/// the thread count, and a GPU kernel can draw the same numbers.
#include <cstdint>

namespace qs::core {

inline constexpr uint64_t kSplitmixGamma = 0x9e3779b97f4a7c15ull;

/// The splitmix64 output function of a state.
[[gnu::always_inline]] inline uint64_t splitmixMix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// Output n (from 0) of the stream seeded with `seed`.
[[gnu::always_inline]] inline uint64_t splitmixAt(uint64_t seed, uint64_t n)
{
    return splitmixMix(seed + kSplitmixGamma * (n + 1));
}

/// The same stream, drawn in order: next() returns splitmixAt(seed, 0), then 1, ...
struct SplitMix64 {
    uint64_t state;
    uint64_t next() { return splitmixMix(state += kSplitmixGamma); }
};

} // namespace qs::core
