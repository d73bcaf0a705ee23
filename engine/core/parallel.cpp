// parallelChunks: a pass on the process-wide pool.
#include "parallel.h"

#include "threadpool.h"

namespace qs::core {

unsigned defaultThreadCount()
{
    return ThreadPool::global().size();
}

void parallelChunks(uint64_t chunkCount, unsigned threads,
                    const std::function<void(uint64_t chunk, unsigned thread)>& fn,
                    const std::function<bool()>& stop)
{
    ThreadPool::global().run(chunkCount, threads, fn, stop);
}

} // namespace qs::core
