#pragma once
/// The one thread that owns a Vulkan device and performs every vkQueueSubmit. Callers submit
/// jobs (functions of Device&) and get a std::future of the job's own Result/Status. Jobs run
/// one at a time, in submission order. When a job leaves the device unusable (device lost, a
/// fence timed out: Device::lost()), the job's error is what the caller sees and the device
/// is destroyed; the next job runs on a freshly created device.
///
/// A job creates and frees its own buffers: nothing of a device outlives the job that made it,
/// so recreating the device never leaves a caller with dead handles. The one exception,
/// buffers kept across jobs (prepared linear weights), are owned by the Device itself
/// (Device::keepResident) and die with it; their holder keeps an id and Device::serial(), and
/// a later job on a recreated device sees another serial and refuses the stale id.
#include "vk_device.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

namespace qs::backends::vulkan {

class ComputeQueue {
public:
    /// Creates the device now (so that "no Vulkan device" and other creation errors come back
    /// here) and starts the queue thread.
    static core::Result<std::unique_ptr<ComputeQueue>> create(std::shared_ptr<const Instance> instance,
                                                              const DeviceOptions& options = {});
    ComputeQueue(const ComputeQueue&) = delete;
    ComputeQueue& operator=(const ComputeQueue&) = delete;
    /// Runs the job in progress to its end; jobs still queued fail with Cancelled.
    ~ComputeQueue();

    /// Queues `job` (a copyable callable `R(Device&)` where R is core::Status or
    /// core::Result<T>). The future holds the job's R; a device that cannot be (re)created or
    /// an exception thrown by the job arrive as an error R.
    template <class F>
    auto submit(F job) -> std::future<std::invoke_result_t<F&, Device&>>
    {
        return submit(std::string(), std::move(job));
    }

    /// As submit(job), tagged: a job with the same non-empty tag still waiting in the queue is
    /// replaced by this one (its future gets a Cancelled error), so that a view asking again
    /// for newer data never queues stale work behind the job that is running.
    template <class F>
    auto submit(std::string tag, F job) -> std::future<std::invoke_result_t<F&, Device&>>
    {
        using R = std::invoke_result_t<F&, Device&>;
        auto promise = std::make_shared<std::promise<R>>();
        auto future = promise->get_future();
        enqueue(std::move(tag), [this, promise, job](Device* device, const core::Error* error) mutable {
            if (error) return promise->set_value(R(*error));
            std::optional<R> result;
            try {
                result.emplace(job(*device));
            } catch (const std::exception& e) {
                result.emplace(core::Error{core::ErrorCode::Device, std::string("Vulkan job failed: ") + e.what()});
            }
            finishJob(*device); // before the caller can see the result
            promise->set_value(std::move(*result));
        });
        return future;
    }

    /// The physical device the queue runs on.
    const PhysicalDeviceInfo& info() const { return m_info; }
    const Instance& instance() const { return *m_instance; }
    /// How many times the device was recreated after a loss or a timeout.
    int recreations() const { return m_recreations.load(); }
    /// The device's Device::pipelineCacheNote() and pipelineCacheWarning(), as of its creation
    /// or its last job (a job that created kernels saves the cache before its future is ready).
    std::string pipelineCacheNote() const;
    std::string pipelineCacheWarning() const;
    /// True once the destructor has begun: jobs still queued then fail with Cancelled. (What a
    /// test waits for before letting the running job end.)
    bool stopping() const;
    /// The timings of every dispatch of the jobs that have finished, on every device the
    /// queue had (a job's dispatches are counted before its future is ready).
    DispatchTotals dispatchTotals() const;
    /// Test hook: the device meets `fault` in the next job (Device::injectFault).
    void injectFault(Fault fault) { m_fault.store(fault); }

private:
    /// A queued job: called with the device, or with the error that replaces running it.
    struct Task {
        std::string tag;
        std::function<void(Device*, const core::Error*)> run;
    };
    ComputeQueue() = default;
    void enqueue(std::string tag, std::function<void(Device*, const core::Error*)> run);
    void loop();
    core::Status ensureDevice();
    void finishJob(Device& device);
    void keepCacheNotes(const Device& device);

    std::shared_ptr<const Instance> m_instance;
    DeviceOptions m_options;
    PhysicalDeviceInfo m_info;
    std::unique_ptr<Device> m_device; // touched only by the queue thread once it runs
    std::atomic<int> m_recreations{0};
    std::atomic<Fault> m_fault{Fault::None};
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Task> m_tasks;
    bool m_stop = false;
    std::string m_cacheNote;          // guarded by m_mutex
    std::string m_cacheWarning;       // guarded by m_mutex
    DispatchTotals m_dispatchTotals;  // guarded by m_mutex
    std::thread m_thread; // last: started once everything above exists
};

} // namespace qs::backends::vulkan
