// The real main window, offscreen: open a file written here, select a tensor, see its
// statistics; a bad file gives an error dialog and the window stays usable.
#include "gui/mainwindow.h"
#include "gui/statsexport.h"

#include "channelplot.h"
#include "histogramplot.h"
#include "modeltreemodel.h"
#include "statspanel.h"
#include "errorheatmap.h"
#include "metricstable.h"
#include "quanthistogramplot.h"
#include "tradeoffchart.h"

#include <QComboBox>
#include <QFile>
#include <QHeaderView>
#include <qcustomplot.h>
#include <QLineEdit>
#include <QSpinBox>
#include <QStatusBar>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTreeView>
#include "gui/quantpanel.h"
#include "metricstable.h"
#include "quanthistogramplot.h"
#include "errorheatmap.h"
#include <QtTest>

#include <cstring>
#include <optional>

using namespace qs;

namespace {

/// A safetensors file with w = [[1, 2, 3], [4, 5, 6]] (F32) and b = [0.5, -0.5] (F32).
QString writeModel(const QTemporaryDir& dir)
{
    const QByteArray header = R"({"layer.w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                              R"("layer.b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})";
    QByteArray file(8, '\0');
    const uint64_t n = uint64_t(header.size());
    std::memcpy(file.data(), &n, 8);
    file += header;
    const float values[] = {1, 2, 3, 4, 5, 6, 0.5f, -0.5f};
    file += QByteArray(reinterpret_cast<const char*>(values), sizeof(values));
    const QString path = dir.filePath("tiny.safetensors");
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(file) != file.size()) return {};
    return path;
}

/// One value of the window's metrics table (MetricsModel::ValueRole).
QVariant metricValue(app::MainWindow& w, widgets::MetricsModel::Metric m, int column)
{
    const auto* model = w.metricsTable()->metricsModel();
    return model->index(model->rowOf(m), column).data(widgets::MetricsModel::ValueRole);
}

/// A safetensors file of `count` one-element F32 tensors "block.<i>.w" (value i): a header of
/// about 60 bytes per tensor, so that opening it takes a moment.
QString writeManyTensors(const QTemporaryDir& dir, int count)
{
    QByteArray header = "{";
    for (int i = 0; i < count; ++i) {
        header += QString(R"(%1"block.%2.w":{"dtype":"F32","shape":[1],"data_offsets":[%3,%4]})")
                      .arg(i ? "," : "")
                      .arg(i)
                      .arg(4 * i)
                      .arg(4 * i + 4)
                      .toUtf8();
    }
    header += "}";
    QByteArray file(8, '\0');
    const uint64_t n = uint64_t(header.size());
    std::memcpy(file.data(), &n, 8);
    file += header;
    for (int i = 0; i < count; ++i) {
        const float v = float(i);
        file += QByteArray(reinterpret_cast<const char*>(&v), 4);
    }
    const QString path = dir.filePath("many.safetensors");
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(file) != file.size()) return {};
    return path;
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("QuantscopeTest");
        QCoreApplication::setApplicationName("tst_mainwindow");
        QSettings().clear();
    }
    void opensSelectsAndShowsStatistics()
    {
        QTemporaryDir dir;
        const QString path = writeModel(dir);
        QVERIFY(!path.isEmpty());
        app::MainWindow w;
        w.show();
        QSignalSpy loaded(&w, &app::MainWindow::modelLoaded);
        QSignalSpy shown(&w, &app::MainWindow::statsShown);
        w.openFile(path);
        QTRY_COMPARE(loaded.count(), 1);
        QVERIFY(w.totalsText().startsWith("2 tensors, 8 parameters"));
        w.selectTensor("layer.w");
        QTRY_COMPARE(shown.count(), 1);
        // mean of 1..6 = 3.5; population std = sqrt(35/12) = 1.70783
        QCOMPARE(w.statsPanel()->value("mean"), QString("3.5"));
        QCOMPARE(w.statsPanel()->value("std"), QString("1.70783"));
        QCOMPARE(w.statsPanel()->value("count"), QString("6"));
        uint64_t total = 0;
        for (auto c : w.histogramPlot()->histogram().counts) total += c;
        QCOMPARE(total, uint64_t(6));
        QCOMPARE(w.recentFiles().value(0), QFileInfo(path).absoluteFilePath());
    }
    void folderOpensLikeItsModel()
    {
        // File > Open Folder and a dropped folder both go through openFile(folder).
        QTemporaryDir dir;
        QVERIFY(!writeModel(dir).isEmpty());
        app::MainWindow w;
        QSignalSpy loaded(&w, &app::MainWindow::modelLoaded);
        w.openFile(dir.path());
        QTRY_COMPARE(loaded.count(), 1);
        QVERIFY(w.totalsText().startsWith("2 tensors, 8 parameters"));
    }
    void themeAndTreeColumnsAreRemembered()
    {
        {
            app::MainWindow w;
            w.show();
            // A first run shows the quantized state beside the names, not op/parameters/bytes.
            auto* header = w.treeView()->header();
            QVERIFY(header->isSectionHidden(widgets::ModelTreeModel::Parameters));
            QVERIFY(!header->isSectionHidden(widgets::ModelTreeModel::Sqnr));
            w.setTheme(app::Theme::Dark);
            QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 100);
            // Every plot follows the application palette.
            QTRY_COMPARE(w.histogramPlot()->plot()->axisRect()->backgroundBrush().color(),
                         QApplication::palette().color(QPalette::Base));
            header->showSection(widgets::ModelTreeModel::Parameters);
            w.close(); // saves the layout
        }
        app::MainWindow again;
        QVERIFY(!again.treeView()->header()->isSectionHidden(widgets::ModelTreeModel::Parameters));
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 100);
        again.setTheme(app::Theme::System);
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 150);
        QSettings().clear();
    }
    void workbenchRunsOnTheChosenBackend()
    {
        // Backend "vulkan" in the panel: the same codes as the reference (so the same metrics,
        // computed from them on the CPU), and the choice's tooltip names the device -- or, with
        // no Vulkan device here, says so and the work runs on the reference.
        app::MainWindow w;
        w.show();
        QSignalSpy updated(&w, &app::MainWindow::workbenchUpdated);
        w.openFile(QS_DEMO_MODEL);
        QTRY_VERIFY_WITH_TIMEOUT(updated.count() > 0, 30000);
        auto sqnr = [&w] { return metricValue(w, widgets::MetricsModel::Sqnr, widgets::MetricsModel::AColumn).toDouble(); };
        const double reference = sqnr();
        QSignalSpy chosen(w.workbench(), &app::Workbench::backendChosen);
        updated.clear();
        auto* box = w.quantPanel()->backendBox();
        box->setCurrentIndex(box->findData("vulkan")); // the default device, listed or not yet
        auto vulkanChosen = [&chosen]() -> std::optional<QList<QVariant>> {
            for (const auto& args : chosen)
                if (args.at(0).toString() == "vulkan") return args;
            return std::nullopt;
        };
        QTRY_VERIFY_WITH_TIMEOUT(vulkanChosen() && updated.count() > 0, 30000);
        QCOMPARE(sqnr(), reference);
        const QString tip = w.quantPanel()->backendBox()->toolTip();
        if (vulkanChosen()->at(2).toBool()) QVERIFY2(tip.startsWith("no Vulkan device: "), qPrintable(tip));
        else QVERIFY2(tip.startsWith("vulkan: Vulkan ") && tip.contains(" ("), qPrintable(tip));
        // On the device, the result says how long its dispatches took there, and so does the
        // status bar (from the GPU timestamps; lavapipe has them).
        const auto a = w.workbench()->result(app::Slot::A);
        QVERIFY(a);
        if (!vulkanChosen()->at(2).toBool()) {
            QVERIFY(a->measured.deviceTime && a->measured.deviceTime->dispatches > 0);
            const QString status = w.statusBar()->currentMessage();
            QVERIFY2(status.contains(" dispatches ("), qPrintable(status));
        } else {
            QVERIFY(!a->measured.deviceTime);
        }
    }
    void backendChoiceListsTheDevices()
    {
        // The backend choice lists every Vulkan device backends::listDevices finds (the default
        // as "vulkan", the others as "vulkan:N"), or keeps "vulkan" with why there is none.
        app::MainWindow w;
        QSignalSpy listed(&w, &app::MainWindow::devicesListed);
        QTRY_VERIFY_WITH_TIMEOUT(listed.count() > 0, 30000);
        auto list = backends::listDevices();
        QVERIFY2(list.ok(), list.ok() ? "" : list.error().message.c_str());
        auto* box = w.quantPanel()->backendBox();
        QStringList specs;
        for (int i = 0; i < box->count(); ++i) specs << box->itemData(i).toString();
        QStringList expected{"reference", "onednn"};
        for (const auto& d : list->devices) expected << (d.isDefault ? QString("vulkan") : QString("vulkan:%1").arg(d.index));
        if (list->devices.empty()) expected << "vulkan";
        QCOMPARE(specs, expected);
        const int vk = box->findData("vulkan");
        const QString tip = box->itemData(vk, Qt::ToolTipRole).toString();
        if (list->devices.empty()) {
            QVERIFY2(tip.startsWith("no Vulkan device: ") && tip.endsWith("runs on the reference backend"), qPrintable(tip));
        } else {
            QVERIFY2(box->itemText(vk).contains(QString::fromStdString(list->devices.front().name)) ||
                         list->devices.size() > 1, qPrintable(box->itemText(vk)));
            QVERIFY2(tip.contains(", the default"), qPrintable(tip));
        }
    }
    void pipelineCacheProblemIsShown()
    {
        // A pipeline-cache file the Vulkan backend had to ignore is said where the device is
        // named (the backend choice's tooltip), and the work still runs on the device.
        auto list = backends::listDevices();
        QVERIFY(list.ok());
        if (list->devices.empty()) QSKIP("no Vulkan device here");
        QTemporaryDir dir;
        QFile garbage(dir.filePath("pipelines.qspc"));
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write(QByteArray(100, 'x'));
        garbage.close();
        const QByteArray saved = qgetenv("QS_VULKAN_PIPELINE_CACHE");
        qputenv("QS_VULKAN_PIPELINE_CACHE", garbage.fileName().toUtf8());
        app::MainWindow w;
        w.show();
        QSignalSpy updated(&w, &app::MainWindow::workbenchUpdated);
        w.openFile(QS_DEMO_MODEL);
        QTRY_VERIFY_WITH_TIMEOUT(updated.count() > 0, 30000);
        QSignalSpy chosen(w.workbench(), &app::Workbench::backendChosen);
        updated.clear();
        auto* box = w.quantPanel()->backendBox();
        box->setCurrentIndex(box->findData("vulkan"));
        QTRY_VERIFY_WITH_TIMEOUT(!chosen.isEmpty() && updated.count() > 0, 30000);
        qputenv("QS_VULKAN_PIPELINE_CACHE", saved);
        const QString about = chosen.first().at(1).toString();
        QVERIFY2(about.startsWith("vulkan: Vulkan ") && about.contains("; Vulkan pipeline cache: ") &&
                     about.contains("ignored"), qPrintable(about));
        QCOMPARE(box->toolTip(), about);
    }
    void deviceIndexIsHonouredOrRefused()
    {
        // A device given by index (saved settings, a device not listed yet) is used as given;
        // one that is not there is a clear error in the panel, not a silent switch.
        app::MainWindow w;
        w.show();
        QSignalSpy updated(&w, &app::MainWindow::workbenchUpdated);
        w.openFile(QS_DEMO_MODEL);
        QTRY_VERIFY_WITH_TIMEOUT(updated.count() > 0, 30000);
        auto list = backends::listDevices();
        QVERIFY(list.ok());
        if (list->devices.empty()) QSKIP("no Vulkan device here");
        QSignalSpy chosen(w.workbench(), &app::Workbench::backendChosen);
        QSignalSpy failed(w.workbench(), &app::Workbench::failed);
        auto s = w.quantPanel()->settings();
        s.backend = "vulkan:0";
        w.quantPanel()->setSettings(s);
        w.workbench()->request(app::Slot::A, w.quantPanel()->settings());
        QTRY_VERIFY_WITH_TIMEOUT(!chosen.isEmpty(), 30000);
        QCOMPARE(chosen.first().at(0).toString(), QString("vulkan:0"));
        QVERIFY2(chosen.first().at(1).toString().contains(QString::fromStdString(list->devices.front().name)),
                 qPrintable(chosen.first().at(1).toString()));
        s.backend = QString("vulkan:%1").arg(list->devices.size() + 6);
        w.quantPanel()->setSettings(s);
        w.workbench()->request(app::Slot::A, w.quantPanel()->settings());
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 30000);
        QVERIFY2(failed.last().at(1).toString().contains("device"), qPrintable(failed.last().at(1).toString()));
    }
    void workbenchRecomputesAsTheSchemeChanges()
    {
        // The real window on the demo model: the first weight layer is selected and quantized
        // at once; changing the scheme changes the metrics and the plots' data; B is compared.
        app::MainWindow w;
        w.show();
        QSignalSpy updated(&w, &app::MainWindow::workbenchUpdated);
        w.openFile(QS_DEMO_MODEL);
        QTRY_VERIFY_WITH_TIMEOUT(updated.count() > 0, 30000);
        auto* model = w.metricsTable()->metricsModel();
        auto value = [&w](widgets::MetricsModel::Metric m, int column) { return metricValue(w, m, column); };
        QCOMPARE(value(widgets::MetricsModel::Scheme, widgets::MetricsModel::AColumn).toString(), QString("int4"));
        // int4 per channel on fc1 [128, 64]: 4 bits + an F32 scale per 64 weights = 4.5 bits.
        QCOMPARE(value(widgets::MetricsModel::BitsPerWeight, widgets::MetricsModel::AColumn).toDouble(), 4.5);
        QCOMPARE(w.quantHistogram()->data().levels.size(), size_t(15)); // -7..7 x scale
        const double sqnr4 = value(widgets::MetricsModel::Sqnr, widgets::MetricsModel::AColumn).toDouble();

        // int8: 255 levels, about 6 dB per extra bit.
        updated.clear();
        w.quantPanel()->bitsBox()->setValue(8);
        QTRY_VERIFY_WITH_TIMEOUT(updated.count() > 0 &&
                                     value(widgets::MetricsModel::Scheme, widgets::MetricsModel::AColumn).toString() == "int8",
                                 30000);
        const double sqnr8 = value(widgets::MetricsModel::Sqnr, widgets::MetricsModel::AColumn).toDouble();
        QVERIFY2(sqnr8 > sqnr4 + 20.0, qPrintable(QString("int8 %1 dB vs int4 %2 dB").arg(sqnr8).arg(sqnr4)));
        QCOMPARE(w.quantHistogram()->data().levels.size(), size_t(255));
        // Pin int8 as B, then int4 with groups of 32 as A: both columns, A's own bits per weight.
        w.quantPanel()->pinRequested();
        w.quantPanel()->bitsBox()->setValue(4);
        w.quantPanel()->granularityBox()->setCurrentText("group");
        w.quantPanel()->groupBox()->setCurrentText("32");
        QTRY_VERIFY_WITH_TIMEOUT(model->hasB() && value(widgets::MetricsModel::Scheme, widgets::MetricsModel::AColumn)
                                                          .toString() == "int4:g32",
                                 30000);
        QCOMPARE(value(widgets::MetricsModel::Scheme, widgets::MetricsModel::BColumn).toString(), QString("int8"));
        // 4 bits + an F16 scale per 32 weights = 4.5 bits per weight.
        QCOMPARE(value(widgets::MetricsModel::BitsPerWeight, widgets::MetricsModel::AColumn).toDouble(), 4.5);
        QCOMPARE(value(widgets::MetricsModel::Sqnr, widgets::MetricsModel::BColumn).toDouble(), sqnr8);
        // The heatmap holds the engine's pooled map of A.
        QVERIFY(!w.errorHeatmap()->data().cells.empty());
        QCOMPARE(w.errorHeatmap()->data().groupColumns, (std::vector<int64_t>{32}));
        // The trade-off chart: every RTN scheme that fits a [128, 64] layer (the 256-blocks of
        // q4_k, q5_k and q6_k do not), A and B marked; a click on a point makes it A.
        QTRY_COMPARE_WITH_TIMEOUT(w.tradeoffChart()->points().size(), size_t(app::tradeoffSchemes().size() - 3), 30000);
        const auto& pts = w.tradeoffChart()->points();
        const auto at = [&](const QString& spec) {
            for (size_t i = 0; i < pts.size(); ++i)
                if (pts[i].scheme == spec) return int(i);
            return -1;
        };
        QTRY_COMPARE(w.tradeoffChart()->selectionA(), at("int4:g32"));
        QCOMPARE(w.tradeoffChart()->selectionB(), at("int8"));
        // int8 per channel on the chart is the same computation as B.
        QCOMPARE(pts[size_t(at("int8"))].sqnrDb, sqnr8);
        emit w.tradeoffChart()->pointClicked(at("nf4"));
        QTRY_VERIFY_WITH_TIMEOUT(value(widgets::MetricsModel::Scheme, widgets::MetricsModel::AColumn).toString() == "nf4", 30000);
        QCOMPARE(w.quantPanel()->formatBox()->currentText(), QString("nf4"));
        // Zooming the heatmap into a 16 x 16 window asks the engine for that window at one
        // element per cell: each cell is then |w - q| of its element.
        // (The widget may ask for other windows of its own as its view settles, so the test
        // catches the engine's answer for this window.)
        std::optional<quant::Matrix> window;
        auto conn = connect(w.workbench(), &app::Workbench::windowMapReady, this,
                            [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1, const quant::Matrix& map) {
                                if (r0 == 8 && r1 == 24 && c0 == 4 && c1 == 20) window = map;
                            });
        emit w.errorHeatmap()->viewChanged(8, 24, 4, 20);
        QTRY_VERIFY_WITH_TIMEOUT(window.has_value(), 30000);
        disconnect(conn);
        {
            QCOMPARE(window->rows, 16);
            QCOMPARE(window->cols, 16);
            const auto* wt = w.workbench()->weights();
            const auto& dq = w.workbench()->result(app::Slot::A)->dequant();
            for (int i = 0; i < 16; ++i)
                for (int j = 0; j < 16; ++j)
                    QCOMPARE(window->data[size_t(i * 16 + j)], std::fabs(wt->row(8 + i)[4 + j] - dq.row(8 + i)[4 + j]));
        }
        // SpQR's sparse fp16 outliers are counted per output channel in the outlier plot: 1%
        // of fc1's 8192 weights = 82 (rounded), all of them somewhere in the 128 rows.
        w.quantPanel()->methodBox()->setCurrentText("spqr");
        QTRY_VERIFY_WITH_TIMEOUT(value(widgets::MetricsModel::Method, widgets::MetricsModel::AColumn).toString() == "spqr", 30000);
        const QStringList csv = w.channelPlot()->csvText().split('\n', Qt::SkipEmptyParts);
        QCOMPARE(csv.size(), 1 + 128);
        int sparse = 0;
        for (int i = 1; i < csv.size(); ++i) sparse += csv[i].section(',', 4, 4).toInt();
        QCOMPARE(sparse, 82);
        w.workbench()->waitForIdle();
    }
    void filterHidesOtherTensors()
    {
        QTemporaryDir dir;
        app::MainWindow w;
        QSignalSpy loaded(&w, &app::MainWindow::modelLoaded);
        w.openFile(writeModel(dir));
        QTRY_COMPARE(loaded.count(), 1);
        w.filterEdit()->setText("layer.b");
        auto* model = w.treeView()->model();
        QCOMPARE(model->rowCount(), 1);
        QCOMPARE(model->rowCount(model->index(0, 0)), 1);
    }
    void selectingWhileAModelOpensKeepsTheOpen()
    {
        QTemporaryDir dir;
        const QString tiny = writeModel(dir);
        const QString many = writeManyTensors(dir, 50000);
        QVERIFY(!tiny.isEmpty() && !many.isEmpty());
        app::MainWindow w;
        QSignalSpy loaded(&w, &app::MainWindow::modelLoaded);
        QSignalSpy shown(&w, &app::MainWindow::statsShown);
        w.openFile(tiny);
        QTRY_COMPARE(loaded.count(), 1);
        w.openFile(many);
        QVERIFY(w.isBusy());
        // The open's result can only arrive through the event loop, so these run during it:
        // a statistics job on the tiny model still in the tree, then a filter change.
        w.selectTensor("layer.w");
        w.filterEdit()->setText("layer");
        w.selectTensor("layer.b");
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, 30000);
        QCOMPARE(loaded.at(1).at(0).toString(), many);
        QVERIFY(w.model() != nullptr);
        QCOMPARE(w.model()->tensors.size(), size_t(50000));
        QTRY_VERIFY(!w.isBusy());
        // A statistics result of the old model never lands on the new one.
        for (const auto& args : shown) QVERIFY(args.at(0).toString().startsWith("layer."));
        w.filterEdit()->setText("block.49999.");
        w.selectTensor("block.49999.w");
        QTRY_COMPARE(shown.count() > 0 ? shown.last().at(0).toString() : QString(), QString("block.49999.w"));
        QCOMPARE(w.statsPanel()->value("mean"), QString("49999"));
    }
    void badFileShowsErrorAndWindowStaysUsable()
    {
        QTemporaryDir dir;
        const QString bad = dir.filePath("bad.safetensors");
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray("\xff\xff\xff\xff\xff\xff\x00\x00{}", 10));
        f.close();
        app::MainWindow w;
        QSignalSpy errors(&w, &app::MainWindow::errorShown);
        QSignalSpy loaded(&w, &app::MainWindow::modelLoaded);
        w.openFile(bad);
        QTRY_COMPARE(errors.count(), 1);
        QVERIFY(errors.at(0).at(0).toString().startsWith(bad));
        QVERIFY(errors.at(0).at(0).toString().contains("100 MB"));
        w.openFile(writeModel(dir)); // still usable
        QTRY_COMPARE(loaded.count(), 1);
    }
    void missingRecentFileIsReported()
    {
        app::MainWindow w;
        QSignalSpy errors(&w, &app::MainWindow::errorShown);
        w.openFile("/nonexistent/model.safetensors");
        QTRY_COMPARE(errors.count(), 1);
        QVERIFY(errors.at(0).at(0).toString().contains("no such file"));
    }
    void statisticsExport()
    {
        core::TensorInfo t;
        t.name = "w";
        t.dtype = core::DType::F32;
        t.shape = {2};
        core::TensorStats s;
        s.count = 2, s.min = -1, s.max = 1, s.mean = 0, s.std = 1, s.absmax = 1, s.kurtosis = -2;
        s.histogram.edges = {-1, 0, 1};
        s.histogram.counts = {1, 1};
        const QString csv = QString::fromUtf8(app::statsCsv(t, s));
        QVERIFY(csv.contains("mean,0\n"));
        QVERIFY(csv.contains("bin_lo,bin_hi,count\n-1,0,1\n0,1,1\n"));
        const auto json = QJsonDocument::fromJson(app::statsJson(t, s)).object();
        QCOMPARE(json["stats"].toObject()["kurtosis"].toDouble(), -2.0);
        QCOMPARE(json["histogram"].toObject()["counts"].toArray().size(), 2);
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
