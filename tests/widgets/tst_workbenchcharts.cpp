// The workbench charts offscreen: the outlier-channel plot (bars, flags, marks, click mapping
// through the sort order, CSV), the trade-off chart (families, Pareto front, reference line,
// picking, CSV) and the metrics table (values, differences and their colours, copies).
// With QS_WIDGET_GRABS=DIR set, each widget's grab is saved there for a visual check.
#include "channelplot.h"
#include "metricstable.h"
#include "tradeoffchart.h"

#include <qcustomplot.h>

#include <QAbstractItemModelTester>
#include <QClipboard>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <limits>

using namespace qs::widgets;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();

QList<double> keys(const QCPAbstractPlottable* p)
{
    QList<double> out;
    const auto* bars = qobject_cast<const QCPBars*>(p);
    const auto* graph = qobject_cast<const QCPGraph*>(p);
    if (bars)
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) out << it->key;
    if (graph)
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) out << it->key;
    return out;
}

QList<double> values(const QCPAbstractPlottable* p)
{
    QList<double> out;
    const auto* bars = qobject_cast<const QCPBars*>(p);
    const auto* graph = qobject_cast<const QCPGraph*>(p);
    if (bars)
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) out << it->value;
    if (graph)
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) out << it->value;
    return out;
}

// Plottables in creation order: normal bars, flagged bars, kept marks, sparse marks, threshold.
QCPAbstractPlottable* part(const ChannelPlot& p, int i) { return p.plot()->plottable(i); }

void showAndLayOut(QWidget& w, QCustomPlot* plot)
{
    w.resize(760, 420);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    plot->replot(QCustomPlot::rpImmediateRefresh);
}

void saveGrab(QWidget& w, const QString& name)
{
    const QString dir = qEnvironmentVariable("QS_WIDGET_GRABS");
    if (!dir.isEmpty()) QVERIFY(w.grab().save(dir + "/" + name + ".png"));
}

std::vector<charts::TradeoffPoint> schemes()
{
    return {{"int8 per-channel", 8.004, 48.0, "int"}, {"int4, g128", 4.125, 24.5, "int"},
            {"int4 per-channel", 4.004, 21.0, "int"}, {"fp8 e4m3", 8.0, 31.0, "fp"},
            {"nf4 g64", 4.125, 25.2, "nf"},           {"q4_K", 4.5, 26.0, "gguf"},
            {"bf16", 16.0, inf, "fp"},                {"broken", 3.0, qnan, "int"},
            {"int2 g64", 2.25, 9.0, "int"}};
}

MetricsRow rowA()
{
    return {"int8 per-channel", "RTN", 48.25, 1e-6, 0.001, 0.0061, 0.9999876, 0.0039, 8.004, 1052672, std::nullopt};
}
MetricsRow rowB()
{
    return {"int4 g128", "GPTQ", 24.5, 2.51e-4, 0.015843, 0.081, 0.99712, 0.0593, 4.125, 540672, 0.0123};
}
} // namespace

class TestWorkbenchCharts : public QObject {
    Q_OBJECT
private slots:
    void channelBarsAndFlagsInIndexOrder()
    {
        ChannelPlot plot;
        plot.setChannels({1, 1, 7, 1, 6, 1, 1}, "output"); // median 1, 7 > 6 x 1, 6 is not
        QCOMPARE(plot.median(), 1.0);
        QCOMPARE(plot.outlierCount(), 1);
        QCOMPARE(plot.flaggedChannels(), std::vector<int>{2});
        QCOMPARE(keys(part(plot, 0)), (QList<double>{0, 1, 3, 4, 5, 6}));
        QCOMPARE(keys(part(plot, 1)), QList<double>{2});
        QCOMPARE(values(part(plot, 1)), QList<double>{7});
        QCOMPARE(values(part(plot, 4)), (QList<double>{6, 6})); // the 6 x median line
        QVERIFY(plot.setFactorThreshold(0.9)); // every channel is > 0.9 x median 1
        QCOMPARE(plot.flaggedChannels(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
        QVERIFY(plot.setFactorThreshold(5));
        QCOMPARE(plot.flaggedCount(), 2);
        QVERIFY(!plot.setFactorThreshold(0));
        QVERIFY(!plot.setFactorThreshold(qnan));
        QCOMPARE(plot.factor(), 5.0);
        QVERIFY(!plot.setTopKThreshold(-1));
        QCOMPARE(plot.thresholdMode(), ChannelPlot::Threshold::Factor);
    }
    void channelSortedTopK()
    {
        ChannelPlot plot;
        plot.setChannels({3, 9, 1, 9, 5, 2}, "input");
        plot.setOrder(ChannelPlot::Order::Descending);
        QVERIFY(plot.setTopKThreshold(2));
        QCOMPARE(plot.barOrder(), (std::vector<int>{1, 3, 4, 0, 5, 2}));
        QCOMPARE(plot.positionOf(0), 3);
        QCOMPARE(plot.flaggedChannels(), (std::vector<int>{1, 3}));
        QCOMPARE(keys(part(plot, 1)), (QList<double>{0, 1}));
        QCOMPARE(values(part(plot, 0)), (QList<double>{5, 3, 2, 1}));
        QVERIFY(!part(plot, 4)->visible()); // no k x median line in top-k mode
    }
    void channelClickMapsThroughTheSortOrder()
    {
        ChannelPlot plot;
        plot.setChannels({3, 9, 1, 9, 5, 2}, "input");
        showAndLayOut(plot, plot.plot());
        QSignalSpy clicked(&plot, &ChannelPlot::channelClicked);
        const QRect rect = plot.plot()->axisRect()->rect();
        const int x = int(std::lround(plot.plot()->xAxis->coordToPixel(2))); // the third bar
        QCOMPARE(plot.channelAtPixel(x), 2);
        QTest::mouseClick(plot.plot(), Qt::LeftButton, {}, QPoint(x, rect.center().y()));
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.at(0).at(0).toInt(), 2);
        plot.setOrder(ChannelPlot::Order::Descending); // position 2 now shows channel 4 (absmax 5)
        plot.plot()->replot(QCustomPlot::rpImmediateRefresh);
        QCOMPARE(plot.channelAtPixel(x), 4);
        QTest::mouseClick(plot.plot(), Qt::LeftButton, {}, QPoint(x, rect.center().y()));
        QCOMPARE(clicked.count(), 2);
        QCOMPARE(clicked.at(1).at(0).toInt(), 4);
        // Bars are 0.8 wide with 6 channels: the gap between bars 2 and 3 maps to nothing.
        QCOMPARE(plot.channelAtPixel(plot.plot()->xAxis->coordToPixel(2.5)), -1);
        // A drag is a pan, not a click.
        QTest::mousePress(plot.plot(), Qt::LeftButton, {}, QPoint(x, rect.center().y()));
        QTest::mouseRelease(plot.plot(), Qt::LeftButton, {}, QPoint(x + 40, rect.center().y()));
        QCOMPARE(clicked.count(), 2);
        plot.plot()->xAxis->setRange(1, 3);
        QVERIFY(plot.setTopKThreshold(1)); // a new threshold keeps the zoom
        QCOMPARE(plot.plot()->xAxis->range().lower, 1.0);
        plot.resetView();
        QCOMPARE(plot.plot()->xAxis->range().lower, -0.5);
        QCOMPARE(plot.plot()->xAxis->range().upper, 5.5);
    }
    void channelMarks()
    {
        ChannelPlot plot;
        QString error;
        QVERIFY2(plot.setChannelData({{1, 2, 3, 4}, "input", {2}, {0, 2, 0, 5}}, &error), qPrintable(error));
        // Kept mark above the bar: absmax + 0.04 x the largest absmax (4).
        QCOMPARE(keys(part(plot, 2)), QList<double>{2});
        QCOMPARE(values(part(plot, 2)), QList<double>{3.16});
        QCOMPARE(keys(part(plot, 3)), (QList<double>{1, 3}));
        QCOMPARE(values(part(plot, 3)), (QList<double>{2, 5}));
        plot.setOrder(ChannelPlot::Order::Descending); // order 3, 2, 1, 0
        QCOMPARE(keys(part(plot, 2)), QList<double>{1});
        QCOMPARE(keys(part(plot, 3)), (QList<double>{0, 2}));
        QCOMPARE(values(part(plot, 3)), (QList<double>{5, 2}));
        // median of {1, 2, 3, 4} = 2.5; 3 / 2.5 = 1.20
        const QString tip = plot.tooltipText(2);
        QVERIFY2(tip.contains("input channel 2") && tip.contains("absmax 3 (1.20 x median)")
                     && tip.contains("kept in 16 bit") && tip.contains("0 sparse outliers"),
                 qPrintable(tip));
        QVERIFY(!tip.contains("flagged"));
    }
    void channelRefusesBadMarks_data()
    {
        QTest::addColumn<std::vector<int>>("kept");
        QTest::addColumn<std::vector<int>>("sparse");
        QTest::addColumn<QString>("message");
        QTest::newRow("kept past the end") << std::vector<int>{4} << std::vector<int>{} << "kept channel 4 is outside 0..3";
        QTest::newRow("kept negative") << std::vector<int>{-1} << std::vector<int>{} << "kept channel -1 is outside 0..3";
        QTest::newRow("sparse length") << std::vector<int>{} << std::vector<int>{1, 2} << "2 sparse outlier counts for 4 channels";
        QTest::newRow("sparse negative") << std::vector<int>{} << std::vector<int>{0, 0, -2, 0}
                                         << "channel 2 has a negative sparse outlier count (-2)";
    }
    void channelRefusesBadMarks()
    {
        QFETCH(std::vector<int>, kept);
        QFETCH(std::vector<int>, sparse);
        QFETCH(QString, message);
        ChannelPlot plot;
        QString error;
        QVERIFY(!plot.setChannelData({{1, 2, 3, 40}, "input", kept, sparse}, &error));
        QCOMPARE(error, message);
        QCOMPARE(plot.flaggedCount(), 0);
        QVERIFY(keys(part(plot, 0)).isEmpty());
        const auto* title = static_cast<QCPTextElement*>(plot.plot()->plotLayout()->element(0, 0));
        QVERIFY(title->text().contains(message));
    }
    void channelCsvAndExports()
    {
        ChannelPlot plot;
        // median of {0.5, 1, 1, 8} = 1; 8 > 6 x 1 is flagged.
        QVERIFY(plot.setChannelData({{1, 0.5f, 8, 1}, "output", {2}, {0, 1, 3, 0}}));
        plot.setOrder(ChannelPlot::Order::Descending); // the CSV stays in index order
        QCOMPARE(plot.csvText(), QString("channel,absmax,flagged,kept,sparse\n"
                                         "0,1,0,0,0\n1,0.5,0,0,1\n2,8,1,1,3\n3,1,0,0,0\n"));
        plot.setChannels({2, 4}, "output");
        QCOMPARE(plot.csvText(), QString("channel,absmax,flagged,kept,sparse\n0,2,0,0,\n1,4,0,0,\n"));
        QTemporaryDir dir;
        QString error;
        QVERIFY2(plot.exportCsv(dir.filePath("c.csv"), &error), qPrintable(error));
        QFile csv(dir.filePath("c.csv"));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(csv.readAll()), plot.csvText());
        QVERIFY(!plot.exportCsv(dir.filePath("missing/c.csv"), &error));
        QVERIFY(error.contains("could not write"));
        for (const char* suffix : {"png", "svg", "pdf"}) {
            QVERIFY2(plot.exportTo(dir.filePath(QString("c.") + suffix), &error), qPrintable(error));
            QVERIFY(QFileInfo(dir.filePath(QString("c.") + suffix)).size() > 100);
        }
    }

    void tradeoffFamiliesFrontAndReference()
    {
        TradeoffChart chart;
        chart.setPoints(schemes(), "layers.0.mlp");
        QCOMPARE(chart.families(), (QStringList{"int", "fp", "nf", "gguf"}));
        // int: 8.004, 4.125, 4.004, 2.25 (the NaN point is not drawn), sorted by bits.
        QCOMPARE(keys(chart.familyGraph(0)), (QList<double>{2.25, 4.004, 4.125, 8.004}));
        // fp: fp8 at 31 and bf16 (exact) on the ceiling 48 + 6.020599913279624.
        QCOMPARE(keys(chart.familyGraph(1)), (QList<double>{8.0, 16.0}));
        QCOMPARE(values(chart.familyGraph(1)), (QList<double>{31.0, 54.020599913279624}));
        QVERIFY(!chart.familyGraph(4));
        // By bits: int2 9, int4pc 21, nf4 25.2 (int4 g128 24.5 is not), q4_K 26, fp8 31, int8 48, bf16.
        QCOMPARE(chart.paretoIndices(), (std::vector<int>{8, 2, 4, 5, 3, 0, 6}));
        // Anchor: the best point within 8 +- 0.5 bits is int8 (48 dB at 8.004 bits):
        // offset = 48 - 6.020599913279624 * 8.004 = 48 - 48.188881705890110 = -0.188881705890110.
        QCOMPARE(chart.referenceLine().anchor, 0);
        QVERIFY(std::abs(chart.referenceLine().offset + 0.188881705890110) < 1e-12);
        QVERIFY(chart.setReferenceAnchorBits(4)); // best within 3.5 .. 4.5: q4_K, 26 dB at 4.5 bits
        QCOMPARE(chart.referenceLine().anchor, 5);
        QVERIFY(!chart.setReferenceAnchorBits(qnan));
    }
    void tradeoffPickingAndSelection()
    {
        TradeoffChart chart;
        chart.setPoints(schemes());
        showAndLayOut(chart, chart.plot());
        QSignalSpy clicked(&chart, &TradeoffChart::pointClicked);
        const QPointF q4 = chart.pixelOf(5);
        QCOMPARE(chart.pointAtPixel(q4.x() + 3, q4.y() - 3), 5);
        QCOMPARE(chart.pointAtPixel(q4.x() + 30, q4.y() + 30), -1);
        QVERIFY(std::isnan(chart.pixelOf(7).x())); // NaN SQNR is not drawn
        QTest::mouseClick(chart.plot(), Qt::LeftButton, {}, q4.toPoint());
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.at(0).at(0).toInt(), 5);
        chart.setSelection(0, 4);
        QCOMPARE(chart.selectionA(), 0);
        QCOMPARE(chart.selectionB(), 4);
        QVERIFY(chart.tooltipText(4).contains("nf4 g64 (nf)"));
        QVERIFY(chart.tooltipText(4).endsWith("\nB"));
        QVERIFY(chart.tooltipText(6).contains("+Inf dB (exact)"));
        // 25.2 - (6.020599913279624 * 4.125 - 0.188881705890110) = 25.2 - 24.646092936388339 = 0.55
        QVERIFY2(chart.tooltipText(4).contains("0.55 dB against the 6.02 dB/bit line"), qPrintable(chart.tooltipText(4)));
        chart.setSelection(99, -5);
        QCOMPARE(chart.selectionA(), -1);
        QCOMPARE(chart.selectionB(), -1);
        chart.setSelection(0, 4);
        chart.plot()->replot(QCustomPlot::rpImmediateRefresh); // the chart queues its replots
        saveGrab(chart, "tradeoffchart");
    }
    void tradeoffCsv()
    {
        TradeoffChart chart;
        chart.setPoints(schemes());
        chart.setSelection(0, 0);
        const QStringList lines = chart.csvText().split('\n');
        QCOMPARE(lines.size(), 11); // header, 9 points, empty after the last newline
        QCOMPARE(lines[0], QString("index,scheme,family,bits_per_weight,sqnr_db,reference_sqnr_db,pareto,selected"));
        QCOMPARE(lines[1], QString("0,int8 per-channel,int,8.004,48,48,1,AB")); // the line passes through its anchor
        QVERIFY2(lines[2].startsWith("1,\"int4, g128\",int,4.125,24.5,24.6460929"), qPrintable(lines[2]));
        QVERIFY(lines[2].endsWith(",0,"));
        QVERIFY2(lines[7].startsWith("6,bf16,fp,16,inf,"), qPrintable(lines[7]));
        QVERIFY(lines[7].endsWith(",1,"));
        QVERIFY2(lines[8].startsWith("7,broken,int,3,nan,"), qPrintable(lines[8]));
        QTemporaryDir dir;
        QString error;
        QVERIFY2(chart.exportCsv(dir.filePath("t.csv"), &error), qPrintable(error));
        QVERIFY2(chart.exportTo(dir.filePath("t.svg"), &error), qPrintable(error));
    }

    void metricsModelValues()
    {
        MetricsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRows(rowA(), rowB());
        QCOMPARE(model.rowCount(), 11);
        QCOMPARE(model.columnCount(), 4);
        auto cell = [&](MetricsModel::Metric m, int column, int role = Qt::DisplayRole) {
            return model.data(model.index(model.rowOf(m), column), role);
        };
        QCOMPARE(cell(MetricsModel::Scheme, 1).toString(), QString("int8 per-channel"));
        QCOMPARE(cell(MetricsModel::Scheme, 2).toString(), QString("int4 g128"));
        QCOMPARE(cell(MetricsModel::Scheme, 3).toString(), QString());
        QCOMPARE(cell(MetricsModel::Sqnr, 1).toString(), QString("48.25"));
        QCOMPARE(cell(MetricsModel::Sqnr, 2).toString(), QString("24.50"));
        QCOMPARE(cell(MetricsModel::Sqnr, 3).toString(), QString("-23.75"));
        QCOMPARE(cell(MetricsModel::Mse, 1).toString(), QString("1e-06"));
        QCOMPARE(cell(MetricsModel::Mse, 3).toString(), QString("+0.00025"));
        QCOMPARE(cell(MetricsModel::Cosine, 1).toString(), QString("0.999988"));
        QCOMPARE(cell(MetricsModel::Cosine, 3).toString(), QString("-0.00287")); // 0.99712 - 0.9999876
        QCOMPARE(cell(MetricsModel::BitsPerWeight, 3).toString(), QString("-3.879"));
        // 540672 - 1052672 = -512000, -512000 / 1052672 = -48.6 %
        QCOMPARE(cell(MetricsModel::Bytes, 1).toString(), QString("1,052,672"));
        QCOMPARE(cell(MetricsModel::Bytes, 3).toString(), QString("-512,000 (-48.6%)"));
        QCOMPARE(cell(MetricsModel::OutputError, 1).toString(), QString("-"));
        QCOMPARE(cell(MetricsModel::OutputError, 2).toString(), QString("0.0123"));
        QCOMPARE(cell(MetricsModel::OutputError, 3).toString(), QString());
        QCOMPARE(cell(MetricsModel::Bytes, 3, MetricsModel::ValueRole).toLongLong(), -512000);
        QVERIFY(cell(MetricsModel::Sqnr, 0, Qt::ToolTipRole).toString().contains("10 log10(sum w^2 / sum (w - q)^2)"));
        QVERIFY(cell(MetricsModel::RelFro, 2, Qt::ToolTipRole).toString().contains("||w - q||_F / ||w||_F"));
        // Colours by role: worse SQNR, MSE and cosine are red; fewer bits and bytes are green.
        const QColor red(220, 60, 50, 80), green(40, 170, 80, 80);
        QCOMPARE(cell(MetricsModel::Sqnr, 3, Qt::BackgroundRole).value<QColor>(), red);
        QCOMPARE(cell(MetricsModel::Mse, 3, Qt::BackgroundRole).value<QColor>(), red);
        QCOMPARE(cell(MetricsModel::Cosine, 3, Qt::BackgroundRole).value<QColor>(), red);
        QCOMPARE(cell(MetricsModel::BitsPerWeight, 3, Qt::BackgroundRole).value<QColor>(), green);
        QCOMPARE(cell(MetricsModel::Bytes, 3, Qt::BackgroundRole).value<QColor>(), green);
        QVERIFY(!cell(MetricsModel::Bytes, 1, Qt::BackgroundRole).isValid());
        QVERIFY(!cell(MetricsModel::OutputError, 3, Qt::BackgroundRole).isValid());
        QCOMPARE(cell(MetricsModel::Bytes, 0, MetricsModel::ComparisonRole).toInt(), 1);
        model.setRows(rowA()); // no B, no output error anywhere
        QCOMPARE(model.rowCount(), 10);
        QCOMPARE(model.rowOf(MetricsModel::OutputError), -1);
        QCOMPARE(cell(MetricsModel::Sqnr, 3).toString(), QString());
        QCOMPARE(cell(MetricsModel::Sqnr, 3, MetricsModel::ComparisonRole).toInt(), 0);
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }
    void metricsDifference_data()
    {
        QTest::addColumn<int>("metric");
        QTest::addColumn<double>("a");
        QTest::addColumn<double>("b");
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("comparison");
        QTest::newRow("SQNR up") << int(MetricsModel::Sqnr) << 20.0 << 30.5 << "+10.50" << 1;
        QTest::newRow("SQNR equal") << int(MetricsModel::Sqnr) << 20.0 << 20.0 << "0" << 0;
        QTest::newRow("both exact") << int(MetricsModel::Sqnr) << inf << inf << "0" << 0;
        QTest::newRow("A exact") << int(MetricsModel::Sqnr) << inf << 30.0 << "-Inf" << -1;
        QTest::newRow("SQNR unknown") << int(MetricsModel::Sqnr) << qnan << 30.0 << "n/a" << 0;
        QTest::newRow("MSE down") << int(MetricsModel::Mse) << 0.004 << 0.001 << "-0.003" << 1;
        QTest::newRow("max err up") << int(MetricsModel::MaxAbsErr) << 0.5 << 0.75 << "+0.25" << -1;
        QTest::newRow("cosine up") << int(MetricsModel::Cosine) << 0.5 << 0.75 << "+0.25" << 1;
        QTest::newRow("bits up") << int(MetricsModel::BitsPerWeight) << 4.125 << 4.5 << "+0.375" << -1;
        QTest::newRow("bytes up") << int(MetricsModel::Bytes) << 1000.0 << 1250.0 << "+250 (+25.0%)" << -1;
    }
    void metricsDifference()
    {
        QFETCH(int, metric);
        QFETCH(double, a);
        QFETCH(double, b);
        QFETCH(QString, text);
        QFETCH(int, comparison);
        MetricsRow ra = rowA(), rb = rowB();
        auto set = [metric](MetricsRow& r, double v) {
            switch (metric) {
            case MetricsModel::Sqnr: r.sqnrDb = v; break;
            case MetricsModel::Mse: r.mse = v; break;
            case MetricsModel::MaxAbsErr: r.maxAbsErr = v; break;
            case MetricsModel::Cosine: r.cosine = v; break;
            case MetricsModel::BitsPerWeight: r.bitsPerWeight = v; break;
            case MetricsModel::Bytes: r.bytes = qulonglong(v); break;
            default: QFAIL("metric not in the table");
            }
        };
        set(ra, a);
        set(rb, b);
        MetricsModel model;
        model.setRows(ra, rb);
        const QModelIndex diff = model.index(model.rowOf(MetricsModel::Metric(metric)), MetricsModel::DiffColumn);
        QCOMPARE(diff.data().toString(), text);
        QCOMPARE(diff.data(MetricsModel::ComparisonRole).toInt(), comparison);
        QCOMPARE(model.comparison(MetricsModel::Metric(metric)), comparison);
    }
    void metricsTableCopies()
    {
        MetricsTable table;
        table.setRows(rowA(), rowB());
        const QString csv = table.metricsModel()->toDelimited(',');
        const QStringList lines = csv.split('\n');
        QCOMPARE(lines[0], QString("metric,A,B,B - A"));
        QCOMPARE(lines[1], QString("scheme,int8 per-channel,int4 g128,"));
        QCOMPARE(lines[3], QString("SQNR (dB),48.25,24.5,-23.75"));
        QCOMPARE(lines[10], QString("bytes,1052672,540672,-512000"));
        QCOMPARE(lines[11], QString("output error,,0.0123,"));
        QCOMPARE(lines.size(), 13);
        table.copyAsCsv();
        QCOMPARE(QGuiApplication::clipboard()->text(), csv);
        QGuiApplication::clipboard()->clear();
        QTest::keyClick(&table, Qt::Key_C, Qt::ControlModifier);
        QCOMPARE(QGuiApplication::clipboard()->text(), table.metricsModel()->toDelimited('\t'));
        QVERIFY(QGuiApplication::clipboard()->text().startsWith("metric\tA\tB\tB - A\n"));
        QTemporaryDir dir;
        QString error;
        QVERIFY2(table.exportCsv(dir.filePath("m.csv"), &error), qPrintable(error));
        QVERIFY(!table.isColumnHidden(MetricsModel::DiffColumn));
        table.resize(560, 380);
        table.show();
        QVERIFY(QTest::qWaitForWindowExposed(&table));
        saveGrab(table, "metricstable");
        table.setRows(rowA());
        QVERIFY(table.isColumnHidden(MetricsModel::BColumn));
        QVERIFY(table.isColumnHidden(MetricsModel::DiffColumn));
    }

    void chartsFollowThePalette()
    {
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(35, 35, 38));
        dark.setColor(QPalette::Base, QColor(25, 25, 28));
        dark.setColor(QPalette::WindowText, QColor(225, 225, 225));
        dark.setColor(QPalette::Text, QColor(225, 225, 225));
        ChannelPlot channels;
        channels.setChannels({1, 1, 7, 1}, "output");
        TradeoffChart chart;
        chart.setPoints(schemes());
        for (QWidget* w : {static_cast<QWidget*>(&channels), static_cast<QWidget*>(&chart)}) w->setPalette(dark);
        for (QCustomPlot* plot : {channels.plot(), chart.plot()}) {
            QCOMPARE(plot->xAxis->tickLabelColor(), QColor(225, 225, 225));
            QCOMPARE(plot->yAxis->labelColor(), QColor(225, 225, 225));
        }
        // The flagged bars take the dark palette's warning colour, lighter than the light one.
        const auto* flagged = static_cast<QCPBars*>(channels.plot()->plottable(1));
        QCOMPARE(flagged->brush().color(), QColor(255, 120, 70));
        chart.setSelection(0, 4);
        showAndLayOut(chart, chart.plot());
        saveGrab(chart, "tradeoffchart_dark");
    }
    void doubleClickResets()
    {
        TradeoffChart chart;
        chart.setPoints(schemes());
        showAndLayOut(chart, chart.plot());
        const QCPRange x = chart.plot()->xAxis->range(), y = chart.plot()->yAxis->range();
        chart.plot()->xAxis->setRange(3, 5);
        chart.plot()->yAxis->setRange(20, 30);
        QTest::mouseDClick(chart.plot(), Qt::LeftButton, {}, chart.plot()->axisRect()->rect().center());
        QCOMPARE(chart.plot()->xAxis->range(), x);
        QCOMPARE(chart.plot()->yAxis->range(), y);
    }

    void grabChannelPlot()
    {
        // A realistic outlier picture for the visual check: 64 channels, three outliers, marks.
        std::vector<float> absmax(64);
        for (size_t i = 0; i < absmax.size(); ++i) absmax[i] = 0.05f + 0.01f * float((i * 37) % 11);
        absmax[5] = 1.2f, absmax[40] = 0.9f, absmax[41] = 0.7f;
        std::vector<int> sparse(64, 0);
        sparse[5] = 6, sparse[40] = 3, sparse[12] = 1;
        ChannelPlot plot;
        QVERIFY(plot.setChannelData({absmax, "input", {5, 40}, sparse}));
        // (4i mod 11) takes each value 0..10 five or six times; without the three overridden channels
        // the 32nd and 33rd of the 64 sorted values are both 0.05 + 0.01 x 5: median 0.1, threshold 0.6.
        QVERIFY(std::abs(plot.median() - 0.1) < 1e-6);
        QCOMPARE(plot.flaggedChannels(), (std::vector<int>{5, 40, 41}));
        showAndLayOut(plot, plot.plot());
        saveGrab(plot, "channelplot_index");
        plot.setOrder(ChannelPlot::Order::Descending);
        plot.plot()->replot(QCustomPlot::rpImmediateRefresh);
        saveGrab(plot, "channelplot_sorted");
    }
};

QTEST_MAIN(TestWorkbenchCharts)
#include "tst_workbenchcharts.moc"
