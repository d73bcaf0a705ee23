#include "vk_queue.h"

#include <algorithm>

namespace qs::backends::vulkan {

core::Result<std::unique_ptr<ComputeQueue>> ComputeQueue::create(std::shared_ptr<const Instance> instance,
                                                                 const DeviceOptions& options)
{
    auto device = Device::create(instance, options);
    if (!device) return device.error();
    std::unique_ptr<ComputeQueue> q(new ComputeQueue);
    q->m_instance = std::move(instance);
    q->m_info = (*device)->info();
    // Later devices are made on the same physical device, even when it was chosen by rank.
    q->m_options = options;
    q->m_options.index = q->m_info.index;
    q->m_device = std::move(*device);
    q->keepCacheNotes(*q->m_device);
    q->m_thread = std::thread([raw = q.get()] { raw->loop(); });
    return q;
}

ComputeQueue::~ComputeQueue()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

std::string ComputeQueue::pipelineCacheNote() const
{
    std::lock_guard lock(m_mutex);
    return m_cacheNote;
}

std::string ComputeQueue::pipelineCacheWarning() const
{
    std::lock_guard lock(m_mutex);
    return m_cacheWarning;
}

void ComputeQueue::keepCacheNotes(const Device& device)
{
    std::string note = device.pipelineCacheNote(), warning = device.pipelineCacheWarning();
    std::lock_guard lock(m_mutex);
    m_cacheNote = std::move(note);
    m_cacheWarning = std::move(warning);
}

DispatchTotals ComputeQueue::dispatchTotals() const
{
    std::lock_guard lock(m_mutex);
    return m_dispatchTotals;
}

void ComputeQueue::finishJob(Device& device)
{
    device.savePipelineCache(); // when the job made kernels; a failure becomes part of the note
    keepCacheNotes(device);
    const DispatchTotals job = device.takeDispatchTotals();
    std::lock_guard lock(m_mutex);
    m_dispatchTotals.add(job);
}

bool ComputeQueue::stopping() const
{
    std::lock_guard lock(m_mutex);
    return m_stop;
}

void ComputeQueue::enqueue(std::string tag, std::function<void(Device*, const core::Error*)> run)
{
    std::function<void(Device*, const core::Error*)> replaced;
    {
        std::lock_guard lock(m_mutex);
        auto same = tag.empty() ? m_tasks.end()
                                : std::find_if(m_tasks.begin(), m_tasks.end(), [&](const Task& t) { return t.tag == tag; });
        if (same != m_tasks.end()) {
            replaced = std::exchange(same->run, std::move(run));
        } else {
            m_tasks.push_back(Task{std::move(tag), std::move(run)});
        }
    }
    if (replaced) {
        const core::Error superseded{core::ErrorCode::Cancelled, "Vulkan job replaced by a newer one with its tag"};
        replaced(nullptr, &superseded);
    }
    m_wake.notify_one();
}

core::Status ComputeQueue::ensureDevice()
{
    if (m_device) return {};
    auto device = Device::create(m_instance, m_options);
    if (!device) {
        return core::Error{device.error().code,
                           "the Vulkan device could not be recreated after a failure: " + device.error().message};
    }
    m_device = std::move(*device);
    ++m_recreations;
    keepCacheNotes(*m_device);
    return {};
}

void ComputeQueue::loop()
{
    for (;;) {
        Task task;
        bool cancel = false;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stop || !m_tasks.empty(); });
            if (m_tasks.empty()) break;
            task = std::move(m_tasks.front());
            m_tasks.pop_front();
            cancel = m_stop;
        }
        if (cancel) {
            const core::Error cancelled{core::ErrorCode::Cancelled, "Vulkan job cancelled: the queue was shut down"};
            task.run(nullptr, &cancelled);
            continue;
        }
        if (auto s = ensureDevice(); !s) {
            task.run(nullptr, &s.error());
            continue;
        }
        if (Fault f = m_fault.exchange(Fault::None); f != Fault::None) m_device->injectFault(f);
        task.run(m_device.get(), nullptr);
        if (!m_device->lost().empty()) m_device.reset(); // waits for the device, then frees it
    }
    m_device.reset();
}

} // namespace qs::backends::vulkan
