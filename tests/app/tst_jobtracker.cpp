// JobTracker: a new job outdates only the previous job of its own kind.
#include "gui/jobtracker.h"

#include <QtTest>

using namespace qs::app;

class TestJobTracker : public QObject {
    Q_OBJECT
private slots:
    void otherKindsStayCurrent()
    {
        JobTracker jobs;
        const auto open = jobs.start(JobKind::Open, "open");
        const auto stats = jobs.start(JobKind::Stats, "stats");
        QVERIFY(jobs.isCurrent(JobKind::Open, open.generation));
        const auto stats2 = jobs.start(JobKind::Stats, "stats again");
        QVERIFY(stats.progress->cancelled());
        QVERIFY(!jobs.isCurrent(JobKind::Stats, stats.generation));
        QVERIFY(!open.progress->cancelled());
        QVERIFY(jobs.finish(JobKind::Open, open.generation));
        QVERIFY(!jobs.finish(JobKind::Stats, stats.generation)); // stale: dropped
        QVERIFY(jobs.finish(JobKind::Stats, stats2.generation));
        QVERIFY(!jobs.anyRunning());
    }
    void finishedJobIsNoLongerCurrent()
    {
        JobTracker jobs;
        const auto t = jobs.start(JobKind::Quantize, "q");
        QVERIFY(jobs.finish(JobKind::Quantize, t.generation));
        QVERIFY(!jobs.finish(JobKind::Quantize, t.generation));
        jobs.setProgress(JobKind::Quantize, t.generation, 500); // a late report is ignored
        QCOMPARE(jobs.progress(JobKind::Quantize), -1);
    }
    void cancelAllOutdatesEveryKind()
    {
        JobTracker jobs;
        const auto a = jobs.start(JobKind::Open, "a");
        const auto b = jobs.start(JobKind::Profile, "b");
        jobs.cancelAll();
        QVERIFY(a.progress->cancelled() && b.progress->cancelled());
        QVERIFY(!jobs.isCurrent(JobKind::Open, a.generation));
        QVERIFY(!jobs.isCurrent(JobKind::Profile, b.generation));
        QVERIFY(!jobs.anyRunning());
    }
    void progressBarShowsTheLatestRunningJob()
    {
        JobTracker jobs;
        QVERIFY(!jobs.latestRunning());
        const auto open = jobs.start(JobKind::Open, "opening");
        const auto stats = jobs.start(JobKind::Stats, "statistics");
        jobs.setProgress(JobKind::Stats, stats.generation, 250);
        QCOMPARE(jobs.latestRunning(), std::optional<JobKind>(JobKind::Stats));
        QCOMPARE(jobs.progress(JobKind::Stats), 250);
        QCOMPARE(jobs.progress(JobKind::Open), -1);
        QVERIFY(jobs.finish(JobKind::Stats, stats.generation));
        QCOMPARE(jobs.latestRunning(), std::optional<JobKind>(JobKind::Open));
        QCOMPARE(jobs.label(JobKind::Open), QString("opening"));
        QVERIFY(jobs.finish(JobKind::Open, open.generation));
        QVERIFY(!jobs.latestRunning());
    }
};

QTEST_GUILESS_MAIN(TestJobTracker)
#include "tst_jobtracker.moc"
