// The SIGBUS guard: a mapped file that shrinks under us must give Truncated errors, never a
// crash. Each case maps a real temporary file, then truncates it with ftruncate.
#include "core/faultguard.h"
#include "core/stats.h"
#include "core/storage.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace qs::core;

namespace {

constexpr uint64_t kFloats = 1u << 21; // 8 MiB of f32: two statistics chunks

/// Writes kFloats floats (value i at index i) to `path`; false on any write error.
bool writeFloats(const std::string& path)
{
    std::vector<float> v(kFloats);
    for (uint64_t i = 0; i < kFloats; ++i)
        v[i] = float(i);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return false;
    const auto n = ::write(fd, v.data(), v.size() * sizeof(float));
    return ::close(fd) == 0 && n == ssize_t(v.size() * sizeof(float));
}

bool truncateTo(const std::string& path, off_t size)
{
    const int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0) return false;
    const bool ok = ::ftruncate(fd, size) == 0;
    return ::close(fd) == 0 && ok;
}

/// Sums floats [from, to) of the mapping, one per 64-byte line, through a volatile pointer so
/// that every line is really read.
struct SumReader {
    const volatile float* data;
    uint64_t from, to;
    double sum = 0;
    void operator()()
    {
        for (uint64_t i = from; i < to; i += 16)
            sum += data[i];
    }
};

const volatile float* floatsOf(const MappedFile& f)
{
    return reinterpret_cast<const volatile float*>(f.data());
}

} // namespace

class TestFaultGuard : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::string m_path;
    std::shared_ptr<MappedFile> m_file;

    /// Fresh file of kFloats floats, mapped, then truncated to `keepBytes`.
    bool mapThenTruncate(uint64_t keepBytes)
    {
        m_file.reset();
        if (!writeFloats(m_path)) return false;
        auto f = MappedFile::open(m_path);
        if (!f) return false;
        m_file = *f;
        // Touch every page first: pages already in the mapping must fault after truncation too.
        volatile unsigned char sink = 0;
        for (uint64_t i = 0; i < m_file->size(); i += 4096)
            sink = sink + static_cast<unsigned char>(m_file->data()[i]);
        return truncateTo(m_path, off_t(keepBytes));
    }

    TensorInfo wholeFileTensor() const
    {
        TensorInfo t;
        t.name = std::string("w");
        t.dtype = DType::F32;
        t.typeName = "F32";
        t.shape = {int64_t(kFloats / 256), 256};
        t.outAxis = 0, t.inAxis = 1;
        t.storage = m_file;
        t.bytes = kFloats * sizeof(float);
        return t;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath("shrinking.bin").toStdString();
    }

    void readInsideTheFileSucceeds()
    {
        QVERIFY(mapThenTruncate(kFloats * sizeof(float))); // no shrink at all
        SumReader r{floatsOf(*m_file), 0, kFloats};
        const Status st = guarded(m_path, r);
        QVERIFY(st.ok());
        // Floats 16k for k = 0 .. 131071: 16 * 131071 * 131072 / 2 (exact in double).
        QCOMPARE(r.sum, 16.0 * 131071 * 131072 / 2);
    }

    void readPastTheNewEndIsTruncated()
    {
        QVERIFY(mapThenTruncate(4096));
        SumReader head{floatsOf(*m_file), 0, 1024}; // the first page, still in the file
        QVERIFY(guarded(m_path, head).ok());
        SumReader tail{floatsOf(*m_file), kFloats - 1024, kFloats}; // the last page, gone
        const Status st = guarded(m_path, tail);
        QVERIFY(!st.ok());
        QCOMPARE(int(st.error().code), int(ErrorCode::Truncated));
        QVERIFY2(st.error().message.rfind(m_path + ": ", 0) == 0, st.error().message.c_str());
        QVERIFY(st.error().message.find("shrank") != std::string::npos);
        // The guard is usable again after a fault, and still catches the next one.
        QVERIFY(guarded(m_path, head).ok());
        QVERIFY(!guarded(m_path, tail).ok());
    }

    void nestedGuardFaultReachesTheOuterGuard()
    {
        QVERIFY(mapThenTruncate(4096));
        SumReader tail{floatsOf(*m_file), kFloats - 1024, kFloats};
        bool innerReturned = false;
        const std::string* path = &m_path;
        auto outer = [&] {
            // The inner guard only runs the reader; the outer guard owns the jump back.
            const Status inner = guarded(*path, tail);
            innerReturned = true;
            (void)inner;
        };
        const Status st = guarded(m_path, outer);
        QVERIFY(!st.ok());
        QCOMPARE(int(st.error().code), int(ErrorCode::Truncated));
        QVERIFY(!innerReturned);
    }

    void faultOnAnotherThreadIsCaughtThere()
    {
        QVERIFY(mapThenTruncate(0));
        std::atomic<int> code{-1};
        std::thread worker([&] {
            SumReader r{floatsOf(*m_file), 0, 1024};
            const Status st = guarded(m_path, r);
            code = st.ok() ? 100 : int(st.error().code);
        });
        worker.join();
        QCOMPARE(code.load(), int(ErrorCode::Truncated));
    }

    void statisticsOverTruncatedTensorFail_data()
    {
        QTest::addColumn<uint64_t>("keepBytes");
        QTest::addColumn<unsigned>("threads");
        QTest::newRow("empty, 1 thread") << uint64_t(0) << 1u;
        QTest::newRow("half, 2 threads") << uint64_t(kFloats * 2) << 2u;
        QTest::newRow("one page short, 2 threads") << uint64_t(kFloats * 4 - 4096) << 2u;
    }
    void statisticsOverTruncatedTensorFail()
    {
        QFETCH(uint64_t, keepBytes);
        QFETCH(unsigned, threads);
        QVERIFY(mapThenTruncate(keepBytes));
        StatsOptions opt;
        opt.threads = threads;
        auto s = computeStats(wholeFileTensor(), opt);
        QVERIFY(!s.ok());
        QCOMPARE(int(s.error().code), int(ErrorCode::Truncated));
        QVERIFY2(s.error().message.rfind(m_path + ": ", 0) == 0, s.error().message.c_str());
    }

    void statisticsBeforeTruncationSucceed()
    {
        QVERIFY(mapThenTruncate(kFloats * sizeof(float)));
        auto s = computeStats(wholeFileTensor());
        QVERIFY(s.ok());
        // Values 0 .. N-1: mean (N-1)/2, max N-1, one zero; out channel r holds 256r .. 256r+255.
        QCOMPARE(s->mean, double(kFloats - 1) / 2);
        QCOMPARE(s->max, double(kFloats - 1));
        QCOMPARE(s->zeros, uint64_t(1));
        QCOMPARE(s->outChannelAbsmax[3], 1023.0f);
    }

    void faultOutsideAGuardKeepsItsDefaultAction()
    {
        QVERIFY(mapThenTruncate(0));
        SumReader warm{floatsOf(*m_file), 0, 0};
        QVERIFY(guarded(m_path, warm).ok()); // the handler is installed now
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            const rlimit noCore{0, 0};
            ::setrlimit(RLIMIT_CORE, &noCore);
            SumReader r{floatsOf(*m_file), 0, 1024};
            r(); // unguarded: must die of SIGBUS, as without our handler
            ::_exit(0);
        }
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY(WIFSIGNALED(status));
        QCOMPARE(WTERMSIG(status), SIGBUS);
    }

    void cleanupTestCase() { m_file.reset(); }
};

QTEST_GUILESS_MAIN(TestFaultGuard)
#include "tst_faultguard.moc"
