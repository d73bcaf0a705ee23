// The persistent thread pool: every chunk runs once, thread indices are in range and never
// shared by two threads at once, cancellation stops the hand-out, concurrent and nested passes
// complete without more threads than the pool has, and the workers are started once.
#include "core/parallel.h"
#include "core/threadpool.h"

#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace qs::core;

namespace {

/// Tracks how many bodies run at the same moment and the most ever seen.
struct Concurrency {
    std::atomic<int> now{0};
    std::atomic<int> most{0};
    void enter()
    {
        const int n = now.fetch_add(1) + 1;
        int m = most.load();
        while (n > m && !most.compare_exchange_weak(m, n)) {}
    }
    void leave() { now.fetch_sub(1); }
};

/// A little work per chunk so that helpers have time to join (no timing is asserted).
void briefWork()
{
    std::this_thread::sleep_for(std::chrono::microseconds(50));
}

/// Sum of the chunk indices of one pass: per-thread partial sums, combined by the caller.
uint64_t indexSum(ThreadPool& pool, uint64_t chunks, unsigned threads, Concurrency* c = nullptr)
{
    const unsigned participants = threads == 0 ? pool.size() : threads;
    std::vector<uint64_t> part(participants, 0);
    pool.run(chunks, threads, [&](uint64_t chunk, unsigned t) {
        if (c) c->enter();
        part.at(t) += chunk;
        if (c) c->leave();
    });
    uint64_t sum = 0;
    for (uint64_t s : part) sum += s;
    return sum;
}

uint64_t gauss(uint64_t n) { return n == 0 ? 0 : n * (n - 1) / 2; }

} // namespace

class TestThreadPool : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        // Read when the process-wide pool is created, which no test below has done yet.
        qputenv("QS_THREADS", "3");
    }

    void globalPoolTakesItsSizeFromQsThreads()
    {
        QCOMPARE(ThreadPool::global().size(), 3u);
        QCOMPARE(defaultThreadCount(), 3u);
        QCOMPARE(ThreadPool::global().threadsStarted(), uint64_t(2));
        QVERIFY(!ThreadPool::setGlobalSize(7)); // too late: the pool exists with 3
        QVERIFY(ThreadPool::setGlobalSize(3));
    }

    void parseSize_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("expected"); // 0 = an error
        QTest::newRow("one") << "1" << 1;
        QTest::newRow("twelve") << "12" << 12;
        QTest::newRow("the maximum") << "1024" << 1024;
        QTest::newRow("zero") << "0" << 0;
        QTest::newRow("above the maximum") << "1025" << 0;
        QTest::newRow("negative") << "-2" << 0;
        QTest::newRow("trailing text") << "4x" << 0;
        QTest::newRow("leading space") << " 4" << 0;
        QTest::newRow("empty") << "" << 0;
        QTest::newRow("word") << "all" << 0;
    }
    void parseSize()
    {
        QFETCH(QString, text);
        QFETCH(int, expected);
        const std::string s = text.toStdString();
        const auto r = ThreadPool::parseSize(s, "--threads");
        QCOMPARE(r.ok(), expected != 0);
        if (r) {
            QCOMPARE(*r, unsigned(expected));
        } else {
            QCOMPARE(r.error().code, ErrorCode::InvalidArgument);
            QVERIFY(r.error().message.starts_with("--threads: '" + s + "'"));
        }
    }

    void sizeFromEnvironment()
    {
        const QByteArray saved = qgetenv("QS_THREADS");
        qputenv("QS_THREADS", "5");
        auto five = ThreadPool::sizeFromEnvironment();
        QVERIFY(five && *five == std::optional<unsigned>(5));
        qputenv("QS_THREADS", "many");
        auto bad = ThreadPool::sizeFromEnvironment();
        QVERIFY(!bad);
        QVERIFY(bad.error().message.starts_with("QS_THREADS: 'many'"));
        qunsetenv("QS_THREADS");
        auto unset = ThreadPool::sizeFromEnvironment();
        QVERIFY(unset && !unset->has_value());
        qputenv("QS_THREADS", saved);
    }

    void everyChunkOnce_data()
    {
        QTest::addColumn<unsigned>("size");
        QTest::addColumn<uint64_t>("chunks");
        QTest::addColumn<unsigned>("threads");
        QTest::newRow("no chunks") << 4u << uint64_t(0) << 4u;
        QTest::newRow("one chunk") << 4u << uint64_t(1) << 4u;
        QTest::newRow("fewer chunks than threads") << 8u << uint64_t(3) << 8u;
        QTest::newRow("more threads than the pool") << 2u << uint64_t(1000) << 6u;
        QTest::newRow("fewer threads than the pool") << 6u << uint64_t(1000) << 2u;
        QTest::newRow("pool size, default threads") << 4u << uint64_t(10007) << 0u;
        QTest::newRow("pool of one") << 1u << uint64_t(500) << 3u;
    }
    void everyChunkOnce()
    {
        QFETCH(unsigned, size);
        QFETCH(uint64_t, chunks);
        QFETCH(unsigned, threads);
        ThreadPool pool(size);
        const unsigned limit = threads == 0 ? size : threads;
        std::vector<std::atomic<int>> visits(chunks);
        std::atomic<unsigned> maxIndex{0};
        pool.run(chunks, threads, [&](uint64_t c, unsigned t) {
            visits[c].fetch_add(1);
            unsigned m = maxIndex.load();
            while (t > m && !maxIndex.compare_exchange_weak(m, t)) {}
        });
        for (uint64_t c = 0; c < chunks; ++c) QCOMPARE(visits[c].load(), 1);
        QVERIFY(maxIndex.load() < std::max<uint64_t>(1, std::min<uint64_t>(limit, chunks)));
        QCOMPARE(indexSum(pool, chunks, threads), gauss(chunks));
    }

    void threadIndexBelongsToOneThreadAtATime()
    {
        ThreadPool pool(4);
        std::vector<std::atomic<bool>> inUse(4);
        std::atomic<int> clashes{0};
        std::mutex m;
        std::set<unsigned> seen;
        pool.run(400, 4, [&](uint64_t, unsigned t) {
            if (inUse.at(t).exchange(true)) ++clashes;
            {
                std::lock_guard lock(m);
                seen.insert(t);
            }
            briefWork();
            inUse[t] = false;
        });
        QCOMPARE(clashes.load(), 0);
        QVERIFY(!seen.empty() && *seen.rbegin() < 4);
    }

    void stopEndsTheHandOut()
    {
        ThreadPool pool(4);
        std::atomic<uint64_t> ran{0};
        pool.run(
            100000, 4,
            [&](uint64_t, unsigned) {
                ran.fetch_add(1);
                briefWork();
            },
            [&] { return ran.load() >= 10; });
        // A thread may have passed the stop check, but not yet counted, when the count hits 10:
        // at most one per other participant.
        QVERIFY2(ran.load() >= 10 && ran.load() <= 13, qPrintable(QString::number(ran.load())));
    }

    void callerExceptionWaitsForHelpers()
    {
        ThreadPool pool(4);
        std::atomic<int> ran{0};
        bool thrown = false;
        try {
            pool.run(1000, 4, [&](uint64_t c, unsigned t) {
                ran.fetch_add(1);
                briefWork();
                if (t == 0 && c > 20) throw std::runtime_error("stop");
            });
        } catch (const std::runtime_error&) {
            thrown = true;
        }
        QVERIFY(thrown);
        QVERIFY(ran.load() < 1000); // the hand-out stopped
        QCOMPARE(indexSum(pool, 300, 4), gauss(300)); // and the pool still works
    }

    void twoConcurrentPassesShareThePool()
    {
        ThreadPool pool(4);
        Concurrency c;
        uint64_t a = 0, b = 0;
        auto pass = [&](uint64_t& out) {
            std::vector<uint64_t> part(4, 0);
            pool.run(3000, 0, [&](uint64_t chunk, unsigned t) {
                c.enter();
                part.at(t) += chunk;
                if (chunk % 64 == 0) briefWork();
                c.leave();
            });
            for (uint64_t s : part) out += s;
        };
        std::thread first([&] { pass(a); });
        std::thread second([&] { pass(b); });
        first.join();
        second.join();
        QCOMPARE(a, gauss(3000));
        QCOMPARE(b, gauss(3000));
        // Three workers and the two calling threads: never more bodies at once.
        QVERIFY2(c.most.load() <= 5, qPrintable(QString::number(c.most.load())));
        QCOMPARE(pool.threadsStarted(), uint64_t(3));
    }

    void nestedPassesComplete()
    {
        ThreadPool pool(3);
        Concurrency c;
        std::atomic<int> wrong{0};
        std::vector<uint64_t> innerSums(12, 0);
        pool.run(12, 3, [&](uint64_t outer, unsigned) {
            // A pass from inside a chunk, itself nesting one more level.
            std::vector<uint64_t> part(3, 0);
            pool.run(200, 3, [&](uint64_t inner, unsigned t) {
                c.enter();
                if (inner % 50 == 0 && indexSum(pool, 40, 2) != gauss(40)) ++wrong;
                part.at(t) += inner;
                c.leave();
            });
            for (uint64_t s : part) innerSums[outer] += s;
        });
        QCOMPARE(wrong.load(), 0);
        for (uint64_t s : innerSums) QCOMPARE(s, gauss(200));
        // Every participant is a worker or the test's thread: no pass added threads.
        QVERIFY2(c.most.load() <= 3, qPrintable(QString::number(c.most.load())));
        QCOMPARE(pool.threadsStarted(), uint64_t(2));
    }

    void workersStartOnce()
    {
        ThreadPool pool(4);
        QCOMPARE(pool.threadsStarted(), uint64_t(3));
        std::mutex m;
        std::set<std::thread::id> ids;
        for (int pass = 0; pass < 50; ++pass) {
            pool.run(64, 0, [&](uint64_t, unsigned) {
                std::lock_guard lock(m);
                ids.insert(std::this_thread::get_id());
            });
        }
        QCOMPARE(pool.threadsStarted(), uint64_t(3));
        QVERIFY(ids.size() <= 4); // three workers and this thread, whatever the pass
    }

    void globalPassesUseTheGlobalPool()
    {
        const uint64_t before = ThreadPool::global().threadsStarted();
        std::atomic<uint64_t> sum{0};
        std::atomic<int> outOfRange{0};
        for (int pass = 0; pass < 20; ++pass)
            parallelChunks(100, 0, [&](uint64_t c, unsigned t) {
                if (t >= defaultThreadCount()) ++outOfRange;
                sum += c;
            });
        QCOMPARE(sum.load(), 20 * gauss(100));
        QCOMPARE(outOfRange.load(), 0);
        QCOMPARE(ThreadPool::global().threadsStarted(), before);
    }
};

QTEST_GUILESS_MAIN(TestThreadPool)
#include "tst_threadpool.moc"
