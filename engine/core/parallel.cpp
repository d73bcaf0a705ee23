// parallelChunks: a fixed set of threads claims chunk indices from one atomic counter.
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

namespace qs::core {

unsigned defaultThreadCount()
{
    return std::max(1u, std::thread::hardware_concurrency());
}

void parallelChunks(uint64_t chunkCount, unsigned threads,
                    const std::function<void(uint64_t chunk, unsigned thread)>& fn,
                    const std::function<bool()>& stop)
{
    if (chunkCount == 0) return;
    threads = unsigned(
        std::clamp<uint64_t>(threads == 0 ? defaultThreadCount() : threads, 1, chunkCount));
    std::atomic<uint64_t> next{0};
    auto worker = [&](unsigned thread) {
        for (;;) {
            if (stop && stop()) return;
            const uint64_t chunk = next.fetch_add(1, std::memory_order_relaxed);
            if (chunk >= chunkCount) return;
            fn(chunk, thread);
        }
    };
    std::vector<std::jthread> pool;
    pool.reserve(threads - 1);
    for (unsigned t = 1; t < threads; ++t) {
        // A thread the system refuses is no error: the chunks are shared by those that started
        // (at worst the caller's thread alone), and no exception leaves the engine.
        try {
            pool.emplace_back(worker, t);
        } catch (const std::system_error&) {
            break;
        }
    }
    worker(0); // the caller's thread is worker 0
}

} // namespace qs::core
