#pragma once
/// One persistent set of worker threads shared by every parallel pass of the process.
///
/// A pass (`run`) publishes a job; idle workers join it and claim chunks from the job's atomic
/// counter while the calling thread claims chunks too. A pool of size N has N - 1 workers, so a
/// pass on an otherwise idle pool runs on N threads. Two passes started at once (two GUI jobs)
/// share the workers instead of starting a full set each, and a pass started from inside a
/// chunk of another (nested) is run by its caller, helped by whichever workers are idle: no
/// call waits for a worker to become free, so nesting cannot deadlock and the number of
/// running threads stays at the pool size plus the callers that are not workers.
///
/// The size of the process-wide pool (`global()`) is, in order of precedence: the value given
/// to `setGlobalSize` before first use, the environment variable QS_THREADS (a whole number in
/// [1, kMaxThreads]), std::thread::hardware_concurrency(). It is fixed once the pool exists.
#include "result.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace qs::core {

class ThreadPool {
public:
    static constexpr unsigned kMaxThreads = 1024;

    /// A pool of `size` threads in all (the caller included): starts size - 1 workers. A worker
    /// the system refuses to start is no error; the pool runs with those that started.
    explicit ThreadPool(unsigned size);
    ~ThreadPool(); ///< waits for the workers to leave; no pass may be running
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Threads a pass uses by default (workers + the caller); at least 1.
    unsigned size() const { return unsigned(m_workers.size()) + 1; }
    /// Worker threads this pool has started over its lifetime (they are never restarted).
    uint64_t threadsStarted() const { return m_threadsStarted; }

    /// Calls fn(chunk, threadIndex) for every chunk in [0, chunkCount). At most `threads`
    /// threads take part (0 = size()); each gets its own threadIndex in [0, threads), so the
    /// index can select per-thread scratch. The caller takes part as index 0 and returns when
    /// every chunk handed out has finished. Once `stop()` returns true no further chunk is
    /// handed out. An exception from fn on the caller's thread stops the pass and is rethrown
    /// after the helpers finish; fn must not throw on a worker (std::terminate).
    void run(uint64_t chunkCount, unsigned threads,
             const std::function<void(uint64_t chunk, unsigned thread)>& fn,
             const std::function<bool()>& stop = {});

    /// The process-wide pool, created on first use.
    static ThreadPool& global();
    /// Sets the size of the process-wide pool. Returns false (and changes nothing) once the pool
    /// exists with another size; size 0 means hardware_concurrency().
    static bool setGlobalSize(unsigned size);
    /// Parses a thread count as given in QS_THREADS or --threads: a whole number in
    /// [1, kMaxThreads]; anything else is an InvalidArgument error naming `source`.
    static Result<unsigned> parseSize(std::string_view text, std::string_view source);
    /// The size QS_THREADS asks for: nullopt when it is unset, an error when it is not a valid
    /// count (the global pool then ignores it; front ends should report the error).
    static Result<std::optional<unsigned>> sizeFromEnvironment();

private:
    struct Job;
    void workerLoop();
    Job* pickJob(); ///< under m_mutex: the published job with the fewest helpers
    void retire(Job& job);

    std::vector<std::thread> m_workers;
    uint64_t m_threadsStarted = 0;
    std::mutex m_mutex;
    std::condition_variable m_wake; ///< a job was published, or the pool is stopping
    std::condition_variable m_done; ///< a helper left a job
    std::vector<Job*> m_jobs;       ///< published jobs that still accept helpers
    bool m_stopping = false;
};

} // namespace qs::core
