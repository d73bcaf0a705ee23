#pragma once
/// Dynamic parallel loop over chunks on the process-wide thread pool (core/threadpool.h): the
/// caller's thread is one of the participants, and chunks are claimed from an atomic counter,
/// so uneven chunks balance. No call starts a thread.
#include <cstdint>
#include <functional>

namespace qs::core {

/// Threads a pass uses by default: the size of the process-wide pool (QS_THREADS,
/// ThreadPool::setGlobalSize, or std::thread::hardware_concurrency()), at least 1. Calling it
/// creates the pool, which fixes its size.
unsigned defaultThreadCount();

/// Calls fn(chunkIndex, threadIndex) for every chunk in [0, chunkCount), on at most `threads`
/// threads of the process-wide pool (0 = defaultThreadCount()); threadIndex is in
/// [0, threads) and no two threads of one call share an index, so it can select per-thread
/// scratch. Stops handing out chunks once `stop()` returns true. Safe to call from inside a
/// chunk of another call and from several threads at once (see ThreadPool::run).
void parallelChunks(uint64_t chunkCount, unsigned threads,
                    const std::function<void(uint64_t chunk, unsigned thread)>& fn,
                    const std::function<bool()>& stop = {});

} // namespace qs::core
