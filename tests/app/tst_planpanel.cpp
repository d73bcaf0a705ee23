// The model plan panel: the table model under QAbstractItemModelTester, overrides edited and
// undone to the exact plan, plan files written and read back, Apply in the background with
// totals computed here by hand, Cancel, and the dock in the main window.
#include "gui/mainwindow.h"
#include "gui/planmodel.h"
#include "gui/planpanel.h"

#include "layererrorchart.h"
#include "modeltreemodel.h"

#include "io/modelreader.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

#include <cmath>
#include <cstring>

using namespace qs;

namespace {

struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
};

/// A safetensors file of F32 tensors, written byte by byte.
QString writeSafetensors(const QTemporaryDir& dir, const QString& file, const std::vector<Entry>& entries)
{
    std::string header = "{";
    uint64_t offset = 0;
    QByteArray data;
    for (const auto& e : entries) {
        std::string shape;
        for (auto d : e.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
        const uint64_t bytes = e.values.size() * 4;
        header += (header.size() > 1 ? "," : "") + ("\"" + e.name + "\":{\"dtype\":\"F32\",\"shape\":[" + shape +
                                                    "],\"data_offsets\":[" + std::to_string(offset) + "," +
                                                    std::to_string(offset + bytes) + "]}");
        data += QByteArray(reinterpret_cast<const char*>(e.values.data()), qsizetype(bytes));
        offset += bytes;
    }
    header += "}";
    QByteArray out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    out += QByteArray::fromStdString(header) + data;
    const QString path = dir.filePath(file);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(out) != out.size()) return {};
    return path;
}

/// Two weights and a bias whose int8 per-channel rounding errors are worked out by hand:
/// l1 row 0 [254, 3, 0]: scale 2, 3/2 = 1.5 -> 2 -> 4 (error 1); row 1 [127, -5, 1]: scale 1, exact.
/// l2 row 0 [508, 7]: scale 4, 7/4 -> 2 -> 8 (error 1); row 1 exact; row 2 [-254, 1]: scale 2,
/// 1/2 -> 0 (half to even) -> 0 (error 1).
std::shared_ptr<const core::Model> smallModel(const QTemporaryDir& dir)
{
    const QString path = writeSafetensors(dir, "small.safetensors",
                                          {{"l1.weight", {2, 3}, {254, 3, 0, 127, -5, 1}},
                                           {"l2.weight", {3, 2}, {508, 7, 127, 127, -254, 1}},
                                           {"l1.bias", {3}, {0.5f, -0.25f, 1}}});
    auto m = io::openModel(path.toStdString());
    return m ? std::make_shared<const core::Model>(std::move(*m)) : nullptr;
}

std::shared_ptr<const core::Model> bigModel(const QTemporaryDir& dir)
{
    std::vector<Entry> entries;
    for (int i = 0; i < 24; ++i) {
        Entry e{"block." + std::to_string(i) + ".weight", {256, 1024}, std::vector<float>(256 * 1024)};
        for (size_t k = 0; k < e.values.size(); ++k) e.values[k] = float((k * 7919 + size_t(i)) % 1000) / 999.0f - 0.5f;
        entries.push_back(std::move(e));
    }
    auto m = io::openModel(writeSafetensors(dir, "big.safetensors", entries).toStdString());
    return m ? std::make_shared<const core::Model>(std::move(*m)) : nullptr;
}

quant::Scheme scheme(const char* spec) { return *quant::parseScheme(spec); }

QModelIndex cell(app::PlanModel* m, const std::string& tensor, int column)
{
    for (int r = 0; r < m->rowCount(); ++r)
        if (m->tensor(r)->name == tensor) return m->index(r, column);
    return {};
}

} // namespace

class TestPlanPanel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // the main window's layout and recent files
        QCoreApplication::setOrganizationName("QuantscopeTest");
        QCoreApplication::setApplicationName("tst_planpanel");
    }
    void modelTester()
    {
        QTemporaryDir dir;
        auto model = smallModel(dir);
        QVERIFY(model);
        app::PlanModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        m.setModel(model);
        QCOMPARE(m.rowCount(), 3);
        QCOMPARE(m.data(cell(&m, "l1.weight", app::PlanModel::Scheme)).toString(), QString("int8"));
        QCOMPARE(m.data(cell(&m, "l1.bias", app::PlanModel::Scheme)).toString(), QString());
        QVERIFY(!(m.flags(cell(&m, "l1.bias", app::PlanModel::Scheme)) & Qt::ItemIsEditable));
        QVERIFY(m.setData(cell(&m, "l2.weight", app::PlanModel::Scheme), "skip"));
        QCOMPARE(m.data(cell(&m, "l2.weight", app::PlanModel::Status)).toString(), QString("skipped by plan"));
        QSignalSpy refused(&m, &app::PlanModel::editRefused);
        QVERIFY(!m.setData(cell(&m, "l1.weight", app::PlanModel::Method), "gptq2"));
        QCOMPARE(refused.count(), 1);
        auto report = quant::applyPlan(*model, m.plan());
        QVERIFY(report);
        m.setReport(*report);
        QCOMPARE(m.data(cell(&m, "l1.weight", app::PlanModel::Status)).toString(), QString("quantized"));
        m.setModel(nullptr);
        QCOMPARE(m.rowCount(), 0);
    }

    void tensorEdits()
    {
        quant::Plan p;
        p.scheme = scheme("int8");
        auto a = app::planWithTensorEdit(p, "x.weight", app::PlanField::Scheme, "int4:g32");
        QVERIFY(a);
        QCOMPARE(a->overrides.size(), size_t(1));
        QVERIFY(a->overrides[0].scheme == scheme("int4:g32"));
        auto b = app::planWithTensorEdit(*a, "x.weight", app::PlanField::Method, "gptq");
        QVERIFY(b);
        QCOMPARE(b->overrides.size(), size_t(1));
        QVERIFY(b->overrides[0].method == quant::Method::Gptq);
        auto c = app::planWithTensorEdit(*b, "x.weight", app::PlanField::Scheme, "default");
        auto d = app::planWithTensorEdit(*c, "x.weight", app::PlanField::Method, "");
        QVERIFY(c && d);
        QCOMPARE(c->overrides.size(), size_t(1)); // the method is still set
        QVERIFY(*d == p);                          // nothing set: the override is gone
        auto bad = app::planWithTensorEdit(p, "x.weight", app::PlanField::Scheme, "int9");
        QVERIFY(!bad);
    }

    void undoRedoRestoresExactPlans()
    {
        QTemporaryDir dir;
        app::PlanPanel panel;
        panel.setModel(smallModel(dir));
        auto* m = panel.planModel();
        const quant::Plan p0 = panel.plan();
        QVERIFY(m->setData(cell(m, "l1.weight", app::PlanModel::Scheme), "int4:g32"));
        const quant::Plan p1 = panel.plan();
        QVERIFY(m->setData(cell(m, "l2.weight", app::PlanModel::Method), "awq"));
        const quant::Plan p2 = panel.plan();
        quant::Plan p3 = p2;
        p3.scheme = scheme("nf4");
        m->editPlan(p3, "default nf4");
        // What each step is, written out here.
        quant::Plan e1 = p0;
        e1.overrides.push_back({"l1.weight", scheme("int4:g32"), std::nullopt, std::nullopt, false});
        quant::Plan e2 = e1;
        e2.overrides.push_back({"l2.weight", std::nullopt, quant::Method::Awq, std::nullopt, false});
        QVERIFY(p1 == e1);
        QVERIFY(p2 == e2);
        QCOMPARE(panel.undoStack()->count(), 3);
        panel.undoStack()->undo();
        QVERIFY(panel.plan() == p2);
        panel.undoStack()->undo();
        QVERIFY(panel.plan() == p1);
        panel.undoStack()->undo();
        QVERIFY(panel.plan() == p0);
        panel.undoStack()->redo();
        panel.undoStack()->redo();
        QVERIFY(panel.plan() == p2);
        panel.undoStack()->redo();
        QVERIFY(panel.plan() == p3);
        QCOMPARE(m->data(cell(m, "l2.weight", app::PlanModel::Scheme)).toString(), QString("nf4"));
        QCOMPARE(m->data(cell(m, "l1.weight", app::PlanModel::Scheme)).toString(), QString("int4:g32"));
    }

    void keyboardUndoRedo()
    {
        QTemporaryDir dir;
        app::PlanPanel panel;
        panel.setModel(smallModel(dir));
        panel.show();
        QVERIFY(QTest::qWaitForWindowActive(&panel));
        const quant::Plan before = panel.plan();
        auto* m = panel.planModel();
        QVERIFY(m->setData(cell(m, "l1.weight", app::PlanModel::Scheme), "skip"));
        const quant::Plan after = panel.plan();
        QVERIFY(!(after == before));
        panel.setFocus();
        QTest::keyClick(&panel, Qt::Key_Z, Qt::ControlModifier);
        QVERIFY(panel.plan() == before);
        QTest::keyClick(&panel, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
        QVERIFY(panel.plan() == after);
    }

    void planFilesRoundTrip()
    {
        QTemporaryDir dir;
        app::PlanPanel a;
        quant::Plan p;
        p.scheme = scheme("int4:g64:asym");
        p.method = quant::Method::Gptq;
        p.options.range = *quant::parseClip("p99.5");
        p.overrides.push_back({"*.bias", std::nullopt, std::nullopt, std::nullopt, true});
        p.overrides.push_back({"l?.weight", scheme("q4_k"), quant::Method::Rtn, *quant::parseClip("mse"), false});
        a.planModel()->editPlan(p, "set");
        const QString path = dir.filePath("plan.json");
        QVERIFY(a.savePlanTo(path));
        app::PlanPanel b;
        QVERIFY(b.loadPlanFrom(path));
        QVERIFY(b.plan() == p);
        QCOMPARE(b.undoStack()->count(), 1); // loading is one undoable edit
        auto cli = quant::loadPlan(path.toStdString()); // what quantscope-cli --plan reads
        QVERIFY(cli && *cli == p);
        QFile bad(dir.filePath("bad.json"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(R"({"scheme": "int8", "colour": "red"})");
        bad.close();
        auto st = b.loadPlanFrom(bad.fileName());
        QVERIFY(!st);
        QVERIFY2(st.error().message.find("bad.json") != std::string::npos, st.error().message.c_str());
        QVERIFY(b.plan() == p); // unchanged
    }

    void applyFillsTotals()
    {
        QTemporaryDir dir;
        app::PlanPanel panel;
        panel.setModel(smallModel(dir));
        QSignalSpy done(&panel, &app::PlanPanel::jobFinished);
        panel.apply();
        QVERIFY(panel.isRunning());
        QTRY_COMPARE(done.count(), 1);
        QCOMPARE(done.at(0).at(0).toBool(), true);
        const auto& r = panel.planModel()->report();
        QVERIFY(r);
        // int8 per channel stores rows*cols codes + rows f32 scales; the bias is kept.
        const uint64_t l1 = 2 * 3 + 2 * 4, l2 = 3 * 2 + 3 * 4, bias = 3 * 4;
        QCOMPARE(r->bytesBefore, uint64_t(24 + 24 + 12));
        QCOMPARE(r->bytesAfter, l1 + l2 + bias);
        QCOMPARE(r->parameters, uint64_t(15));
        QCOMPARE(r->averageBits, 8.0 * double(l1 + l2 + bias) / 15.0);
        const double s1 = 10 * std::log10((254.0 * 254 + 9 + 127 * 127 + 25 + 1) / 1.0);
        const double s2 = 10 * std::log10((508.0 * 508 + 49 + 2 * 127 * 127 + 254 * 254 + 1) / 2.0);
        QVERIFY2(std::abs(r->weightedSqnrDb - (6 * s1 + 6 * s2) / 12) < 1e-9, qPrintable(QString::number(r->weightedSqnrDb)));
        QCOMPARE(panel.chart()->barCount(), 2);
        QVERIFY(panel.totalsText().contains(widgets::formatBytes(60) + " → " + widgets::formatBytes(l1 + l2 + bias)));
        QVERIFY(panel.totalsText().contains(QString::number((6 * s1 + 6 * s2) / 12, 'f', 2) + " dB"));
        auto* m = panel.planModel();
        QCOMPARE(m->data(cell(m, "l1.bias", app::PlanModel::Status)).toString(), QString("kept (rank 1)"));
        QCOMPARE(m->data(cell(m, "l1.weight", app::PlanModel::Sqnr)).toString(), QString::number(s1, 'f', 2));
        // An edit makes the results stale: they go.
        QVERIFY(m->setData(cell(m, "l1.weight", app::PlanModel::Scheme), "int4"));
        QVERIFY(!m->report());
        QCOMPARE(panel.chart()->barCount(), 0);
    }

    void saveModelWritesWhatCliWould()
    {
        QTemporaryDir dir;
        app::PlanPanel panel;
        panel.setModel(smallModel(dir));
        QSignalSpy done(&panel, &app::PlanPanel::jobFinished);
        const QString out = dir.filePath("q.safetensors");
        panel.saveModelTo(out);
        QTRY_COMPARE(done.count(), 1);
        QVERIFY2(done.at(0).at(0).toBool(), qPrintable(panel.statusText()));
        auto back = io::openModel(out.toStdString());
        QVERIFY(back);
        QVERIFY(panel.statusText().contains("opened back"));
    }

    void cancelStopsTheRun()
    {
        QTemporaryDir dir;
        app::PlanPanel panel;
        auto model = bigModel(dir);
        QVERIFY(model);
        panel.setModel(model);
        QSignalSpy done(&panel, &app::PlanPanel::jobFinished);
        panel.apply();
        panel.cancel();
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QVERIFY2(panel.statusText().startsWith("Cancelled"), qPrintable(panel.statusText()));
        QVERIFY(!panel.isRunning());
        QVERIFY(!panel.planModel()->report());
    }

    void dockInMainWindow()
    {
        app::MainWindow w;
        QSignalSpy loaded(&w, &app::MainWindow::modelLoaded);
        w.openFile(QS_SOURCE_DIR "/resources/demo/digits_mlp.safetensors");
        QTRY_COMPARE(loaded.count(), 1);
        QVERIFY(w.planPanel());
        QCOMPARE(w.planPanel()->planModel()->rowCount(), int(w.model()->tensors.size()));
    }
};

QTEST_MAIN(TestPlanPanel)
#include "tst_planpanel.moc"
