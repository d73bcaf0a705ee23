#pragma once
/// Large working buffers (a dequantized 4096 x 4096 layer is 64 MiB). On Linux a fresh
/// anonymous mapping is faulted in one 4 KiB page at a time, which costs more than the
/// quantization itself on virtual machines (measured: 180 ms for 64 MiB of 4 KiB faults,
/// about 10 ms with transparent huge pages). resizeLarge asks for huge pages before the first
/// touch; reuse (passing a previous result's buffer back in) avoids the faults entirely.
#include <cstddef>
#include <vector>

namespace qs::core {

/// Advises transparent huge pages for the whole 2 MiB pages inside [p, p + bytes). Harmless
/// where they are unavailable (the advice is ignored).
void adviseHugePages(void* p, size_t bytes);

/// v.resize(n), with huge pages advised first when the resize allocates 4 MiB or more.
/// Elements already present keep their values; new ones are value-initialised.
template <class T>
void resizeLarge(std::vector<T>& v, size_t n)
{
    constexpr size_t kThreshold = size_t{4} << 20;
    if (n > v.capacity() && n * sizeof(T) >= kThreshold) {
        v.reserve(n);
        adviseHugePages(v.data(), n * sizeof(T));
    }
    v.resize(n);
}

} // namespace qs::core
