// ThreadPool: workers wait for published jobs; a job is a chunk counter that its caller and any
// number of helpers (at most its thread count) drain together.
#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <string>
#include <system_error>

namespace qs::core {

struct ThreadPool::Job {
    uint64_t count;
    unsigned threads;
    const std::function<void(uint64_t, unsigned)>& fn;
    const std::function<bool()>& stop;
    std::atomic<uint64_t> next{0};
    unsigned slots = 1;  ///< thread indices handed out (0 is the caller's); under m_mutex
    unsigned active = 0; ///< helpers inside work(); under m_mutex

    void work(unsigned thread)
    {
        for (;;) {
            if (stop && stop()) return;
            const uint64_t chunk = next.fetch_add(1, std::memory_order_relaxed);
            if (chunk >= count) return;
            fn(chunk, thread);
        }
    }
    /// No helper could do anything more: every index or every chunk is taken.
    bool exhausted() const
    {
        return slots >= threads || next.load(std::memory_order_relaxed) >= count;
    }
};

ThreadPool::ThreadPool(unsigned size)
{
    const unsigned workers = std::clamp(size, 1u, kMaxThreads) - 1;
    m_workers.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) {
        // A thread the system refuses is no error: passes run on those that started (at worst
        // the caller alone), and no exception leaves the engine.
        try {
            m_workers.emplace_back([this] { workerLoop(); });
            ++m_threadsStarted;
        } catch (const std::system_error&) {
            break;
        }
    }
}

ThreadPool::~ThreadPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    for (auto& t : m_workers) t.join();
}

ThreadPool::Job* ThreadPool::pickJob()
{
    std::erase_if(m_jobs, [](const Job* j) { return j->exhausted(); });
    Job* best = nullptr;
    for (Job* j : m_jobs)
        if (best == nullptr || j->active < best->active) best = j;
    return best;
}

void ThreadPool::retire(Job& job)
{
    std::erase(m_jobs, &job);
}

void ThreadPool::workerLoop()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
        if (m_stopping) return;
        Job* job = pickJob();
        if (job == nullptr) continue;
        const unsigned slot = job->slots++;
        ++job->active;
        if (job->exhausted()) retire(*job);
        lock.unlock();
        job->work(slot);
        lock.lock();
        if (--job->active == 0) m_done.notify_all();
    }
}

void ThreadPool::run(uint64_t chunkCount, unsigned threads,
                     const std::function<void(uint64_t chunk, unsigned thread)>& fn,
                     const std::function<bool()>& stop)
{
    if (chunkCount == 0) return;
    threads = unsigned(std::clamp<uint64_t>(threads == 0 ? size() : threads, 1, chunkCount));
    Job job{chunkCount, threads, fn, stop};
    const auto helpers = std::min<size_t>(threads - 1, m_workers.size());
    if (helpers == 0) return job.work(0);
    {
        std::lock_guard lock(m_mutex);
        m_jobs.push_back(&job);
    }
    if (helpers == m_workers.size()) {
        m_wake.notify_all();
    } else {
        for (size_t i = 0; i < helpers; ++i) m_wake.notify_one();
    }
    // Runs on every exit, an exception from fn included: no helper may still hold `job`.
    struct Finish {
        ThreadPool& pool;
        Job& job;
        ~Finish()
        {
            job.next.store(job.count, std::memory_order_relaxed);
            std::unique_lock lock(pool.m_mutex);
            pool.retire(job);
            pool.m_done.wait(lock, [this] { return job.active == 0; });
        }
    } finish{*this, job};
    job.work(0);
}

namespace {

std::mutex g_globalMutex;
unsigned g_requestedSize = 0; ///< from setGlobalSize; 0 = not set
unsigned g_globalSize = 0;    ///< the global pool's size once it exists

unsigned hardwareThreads()
{
    return std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

ThreadPool& ThreadPool::global()
{
    // Never destroyed: a pass still running in a detached thread at exit must not find its
    // workers joined under it.
    static ThreadPool* const pool = [] {
        std::lock_guard lock(g_globalMutex);
        unsigned n = g_requestedSize;
        if (n == 0) {
            const auto env = sizeFromEnvironment();
            if (env && env->has_value()) n = **env;
        }
        g_globalSize = n == 0 ? hardwareThreads() : n;
        return new ThreadPool(g_globalSize);
    }();
    return *pool;
}

bool ThreadPool::setGlobalSize(unsigned size)
{
    std::lock_guard lock(g_globalMutex);
    const unsigned wanted = size == 0 ? hardwareThreads() : std::min(size, kMaxThreads);
    if (g_globalSize != 0) return wanted == g_globalSize;
    g_requestedSize = wanted;
    return true;
}

Result<unsigned> ThreadPool::parseSize(std::string_view text, std::string_view source)
{
    unsigned value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < 1 || value > kMaxThreads) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string(source) + ": '" + std::string(text) +
                             "' is not a thread count (a whole number from 1 to " +
                             std::to_string(kMaxThreads) + ")");
    }
    return value;
}

Result<std::optional<unsigned>> ThreadPool::sizeFromEnvironment()
{
    const char* text = std::getenv("QS_THREADS");
    if (text == nullptr) return std::optional<unsigned>{};
    auto n = parseSize(text, "QS_THREADS");
    if (!n) return n.error();
    return std::optional<unsigned>{*n};
}

} // namespace qs::core
