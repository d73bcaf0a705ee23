// The queue thread that owns the Vulkan device: jobs run in order on one thread, results come
// back through futures, a tagged job replaces a queued one with its tag, and a lost device or
// a fence timeout fails only the job it hit: the device is recreated and the next job runs.
// Out-of-memory is an error value without a recreation. Shutting the queue down lets the
// running job finish and cancels the queued ones. On the installed driver (lavapipe) with validation; skipped without a driver.
#include "backends/vulkan/vk_queue.h"

#include "vulkan_helpers.h"

#include <QtTest>

#include <atomic>
#include <stdexcept>
#include <thread>

using namespace qs::backends::vulkan;
using qs::core::Result;

class TestVulkanQueue : public QObject {
    Q_OBJECT

    std::shared_ptr<const Instance> m_instance;
    std::unique_ptr<ComputeQueue> m_queue;

    /// The probe as a queue job over `words`.
    std::future<Result<uint32_t>> submitProbe(std::vector<uint32_t> words, DispatchTiming* timing = nullptr)
    {
        return m_queue->submit([words, timing](Device& d) { return vktest::probe(d, "read_bandwidth", words, 8, timing); });
    }

private slots:
    void initTestCase()
    {
        auto instance = vktest::validatedInstance();
        if (!instance && instance.error().message.starts_with("no Vulkan device"))
            QSKIP(qPrintable(QString::fromStdString(instance.error().message)));
        QVERIFY2(instance.ok(), instance.ok() ? "" : instance.error().message.c_str());
        m_instance = *instance;
        auto queue = ComputeQueue::create(m_instance, {std::nullopt, std::chrono::milliseconds(1500)});
        QVERIFY2(queue.ok(), queue.ok() ? "" : queue.error().message.c_str());
        m_queue = std::move(*queue);
    }

    void cleanupTestCase()
    {
        m_queue.reset();
        if (m_instance) {
            const std::string text = vktest::validationText(*m_instance);
            QVERIFY2(text.empty(), text.c_str());
        }
    }

    void jobsRunInOrderOnOneThread()
    {
        std::vector<std::future<Result<std::thread::id>>> ids;
        std::vector<int> order;
        for (int i = 0; i < 8; ++i) {
            ids.push_back(m_queue->submit([i, &order](Device&) -> Result<std::thread::id> {
                order.push_back(i); // only the queue thread writes it
                return std::this_thread::get_id();
            }));
        }
        std::vector<std::thread::id> seen;
        for (auto& f : ids) {
            auto id = f.get();
            QVERIFY(id.ok());
            seen.push_back(*id);
        }
        QCOMPARE(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
        for (const auto& id : seen)
            QCOMPARE(id, seen.front());
        QVERIFY(seen.front() != std::this_thread::get_id());
    }

    void taggedJobReplacesTheQueuedOne()
    {
        std::promise<void> gate, started;
        std::shared_future<void> open = gate.get_future().share();
        auto blocker = m_queue->submit([open, &started](Device&) -> qs::core::Status {
            started.set_value();
            open.wait();
            return {};
        });
        started.get_future().wait(); // the blocker runs: what follows waits in the queue
        auto first = m_queue->submit("view", [](Device&) -> Result<int> { return 1; });
        auto other = m_queue->submit("other", [](Device&) -> Result<int> { return 3; });
        auto second = m_queue->submit("view", [](Device&) -> Result<int> { return 2; });
        QVERIFY(first.wait_for(std::chrono::seconds(0)) == std::future_status::ready); // replaced at once
        auto replaced = first.get();
        QVERIFY(!replaced.ok());
        QCOMPARE(replaced.error().code, qs::core::ErrorCode::Cancelled);
        gate.set_value();
        QVERIFY(blocker.get().ok());
        auto a = second.get(), b = other.get();
        QVERIFY(a.ok() && b.ok());
        QCOMPARE(*a, 2);
        QCOMPARE(*b, 3);
    }

    void shutdownCancelsQueuedJobs()
    {
        auto made = ComputeQueue::create(m_instance, {});
        QVERIFY2(made.ok(), made.ok() ? "" : made.error().message.c_str());
        std::unique_ptr<ComputeQueue> queue = std::move(*made);
        ComputeQueue* raw = queue.get();
        // Shared with the jobs, which may outlive this function if it fails: a gate the running
        // job waits on (released also when the promise dies unset), and a count of queued jobs run.
        auto gate = std::make_shared<std::promise<void>>();
        auto started = std::make_shared<std::promise<void>>();
        auto ran = std::make_shared<std::atomic<int>>(0);
        auto running = raw->submit([open = gate->get_future().share(), started](Device&) -> Result<int> {
            started->set_value();
            open.wait();
            return 7;
        });
        QVERIFY(started->get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
        std::vector<std::future<Result<int>>> queued;
        for (int i = 0; i < 3; ++i)
            queued.push_back(raw->submit([i, ran](Device&) -> Result<int> {
                ++*ran;
                return i;
            }));
        queued.push_back(raw->submit("view", [ran](Device&) -> Result<int> {
            ++*ran;
            return 9;
        }));
        // The destructor waits for the running job, so it runs on a thread of its own.
        auto destroyed = std::make_shared<std::promise<void>>();
        auto done = destroyed->get_future();
        std::thread([q = std::move(queue), destroyed]() mutable {
            q.reset();
            destroyed->set_value();
        }).detach();
        QTRY_VERIFY_WITH_TIMEOUT(raw->stopping(), 60000); // raw lives until the gate opens
        gate->set_value();
        QVERIFY(done.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
        QVERIFY(running.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
        auto result = running.get();
        QVERIFY(result.ok());
        QCOMPARE(*result, 7);
        for (auto& f : queued) {
            QVERIFY(f.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
            auto r = f.get();
            QVERIFY(!r.ok());
            QCOMPARE(int(r.error().code), int(qs::core::ErrorCode::Cancelled));
            QCOMPARE(QString::fromStdString(r.error().message), QString("Vulkan job cancelled: the queue was shut down"));
        }
        QCOMPARE(ran->load(), 0);
    }

    void probeThroughTheQueue()
    {
        const auto words = vktest::lcgWords(3 << 20);
        DispatchTiming timing;
        auto sum = submitProbe(words, &timing).get();
        QVERIFY2(sum.ok(), sum.ok() ? "" : sum.error().message.c_str());
        QCOMPARE(*sum, vktest::hostSum(words));
        QVERIFY(timing.wallSeconds > 0);
        if (m_queue->info().timestampValidBits > 0) QVERIFY(timing.gpuSeconds.has_value() && *timing.gpuSeconds > 0);
    }

    void faultFailsTheJobAndTheDeviceIsRecreated_data()
    {
        QTest::addColumn<int>("fault");
        QTest::addColumn<QString>("message");
        QTest::newRow("device lost at submit") << int(Fault::SubmitDeviceLost)
                                               << "vkQueueSubmit: VK_ERROR_DEVICE_LOST";
        QTest::newRow("fence timeout") << int(Fault::FenceTimeout)
                                       << "the fence did not signal within 1500 ms (VK_TIMEOUT)";
    }

    void faultFailsTheJobAndTheDeviceIsRecreated()
    {
        QFETCH(int, fault);
        QFETCH(QString, message);
        const auto words = vktest::lcgWords(10000);
        const int before = m_queue->recreations();
        m_queue->injectFault(Fault(fault));
        auto failed = submitProbe(words).get();
        QVERIFY(!failed.ok());
        QVERIFY2(failed.error().message.find(message.toStdString()) != std::string::npos,
                 failed.error().message.c_str());
        QCOMPARE(int(failed.error().code), int(qs::core::ErrorCode::Device));
        auto next = submitProbe(words).get(); // a fresh device runs it
        QVERIFY2(next.ok(), next.ok() ? "" : next.error().message.c_str());
        QCOMPARE(*next, vktest::hostSum(words));
        QCOMPARE(m_queue->recreations(), before + 1);
    }

    void outOfMemoryIsAnErrorWithoutRecreation()
    {
        const int before = m_queue->recreations();
        m_queue->injectFault(Fault::OutOfDeviceMemory);
        auto failed = submitProbe(vktest::lcgWords(1000)).get();
        QVERIFY(!failed.ok());
        QVERIFY2(failed.error().message.find("VK_ERROR_OUT_OF_DEVICE_MEMORY") != std::string::npos,
                 failed.error().message.c_str());
        QCOMPARE(int(failed.error().code), int(qs::core::ErrorCode::Device));
        QVERIFY(submitProbe(vktest::lcgWords(1000)).get().ok());
        QCOMPARE(m_queue->recreations(), before);
    }

    void dispatchTotalsCountEveryDispatch()
    {
        auto made = ComputeQueue::create(m_instance, {});
        QVERIFY2(made.ok(), made.ok() ? "" : made.error().message.c_str());
        ComputeQueue& queue = **made;
        const auto words = vktest::lcgWords(5000);
        // Three dispatches in one job, one more in a job that then throws: all four ran.
        auto three = queue.submit([&words](Device& d) -> Result<std::vector<DispatchTiming>> {
            std::vector<DispatchTiming> seen(3);
            for (auto& t : seen)
                if (auto sum = vktest::probe(d, "read_bandwidth", words, 8, &t); !sum) return sum.error();
            return seen;
        });
        QVERIFY(three.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
        auto timings = three.get();
        QVERIFY2(timings.ok(), timings.ok() ? "" : timings.error().message.c_str());
        DispatchTiming fourth;
        auto throws = queue.submit([&words, &fourth](Device& d) -> qs::core::Status {
            if (!vktest::probe(d, "read_bandwidth", words, 8, &fourth)) return {};
            throw std::runtime_error("after the dispatch");
        });
        QVERIFY(throws.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
        QVERIFY(!throws.get().ok());
        timings->push_back(fourth);
        // Read as soon as the futures are ready: the queue counted each job before that.
        const DispatchTotals totals = queue.dispatchTotals();
        double wall = 0, gpu = 0;
        uint64_t timed = 0;
        for (const auto& t : *timings) {
            wall += t.wallSeconds;
            if (t.gpuSeconds) {
                ++timed;
                gpu += *t.gpuSeconds;
            }
        }
        QCOMPARE(totals.dispatches, uint64_t(4));
        QCOMPARE(totals.timedDispatches, timed);
        QCOMPARE(totals.wallSeconds, wall);
        QCOMPARE(totals.gpuSeconds, gpu);
        if (queue.info().timestampValidBits > 0) QCOMPARE(timed, uint64_t(4));
    }

    void exceptionInAJobIsAnError()
    {
        auto f = m_queue->submit([](Device&) -> qs::core::Status { throw std::runtime_error("boom"); });
        auto s = f.get();
        QVERIFY(!s.ok());
        QCOMPARE(QString::fromStdString(s.error().message), QString("Vulkan job failed: boom"));
        QCOMPARE(int(s.error().code), int(qs::core::ErrorCode::Device));
        QVERIFY(submitProbe(vktest::lcgWords(100)).get().ok()); // the queue thread lives on
    }
};

QTEST_GUILESS_MAIN(TestVulkanQueue)
#include "tst_vulkan_queue.moc"
