#pragma once
/// Dynamic parallel loop over chunks with a fixed number of threads (the caller's thread is
/// one of them). Chunks are claimed from an atomic counter, so uneven chunks balance.
#include <cstdint>
#include <functional>

namespace qs::core {

/// Number of worker threads to use by default: std::thread::hardware_concurrency(), at least 1.
unsigned defaultThreadCount();

/// Calls fn(chunkIndex, threadIndex) for every chunk in [0, chunkCount), on `threads` threads
/// (threadIndex in [0, threads)). Stops handing out chunks once `stop()` returns true.
void parallelChunks(uint64_t chunkCount, unsigned threads,
                    const std::function<void(uint64_t chunk, unsigned thread)>& fn,
                    const std::function<bool()>& stop = {});

} // namespace qs::core
