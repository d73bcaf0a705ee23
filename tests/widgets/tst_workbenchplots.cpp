// The quantization histogram and the error heatmap built offscreen on small hand-made data:
// what they plot, the clipped count, level lines, colour map cells, hover texts at known
// pixels, signals and exports. Set QS_SHOT_DIR to also save a screenshot of each widget.
#include "errorheatmap.h"
#include "quanthistogramplot.h"

#include <qcustomplot.h>

#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <limits>

using namespace qs::widgets;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// Levels -1, -0.5, 0, 0.5, 1 (a 5-level grid of step 0.5), clip [-1, 1]. The dequantized values
/// are the nearest level of each weight, clamped: -1.3 -> -1, -0.6 -> -0.5, -0.2 -> 0, 0.1 -> 0,
/// 0.3 -> 0.5, 0.4 -> 0.5, 0.8 -> 1, 1.2 -> 1; -1.3 and 1.2 are outside the clip range.
QuantHistogramData smallHistogram()
{
    QuantHistogramData d;
    d.weights = {-1.3f, -0.6f, -0.2f, 0.1f, 0.3f, 0.4f, 0.8f, 1.2f, kNaN};
    d.dequant = {-1, -0.5f, 0, 0, 0.5f, 0.5f, 1, 1, kNaN};
    d.levels = {1, 0.5f, 0, -0.5f, -1, 0.5f}; // unsorted, one duplicate
    d.clipLo = -1;
    d.clipHi = 1;
    d.title = "row 3";
    return d;
}

/// 7 x 10 matrix pooled to 3 x 4: row edges 0 2 4 7, column edges 0 2 5 7 10; cell (i, j)
/// holds 10 i + j, except cell (1, 1) which has no value.
HeatmapData smallHeatmap()
{
    HeatmapData d;
    d.rows = 7;
    d.cols = 10;
    d.gridRows = 3;
    d.gridCols = 4;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) d.cells.push_back(float(10 * i + j));
    d.cells[1 * 4 + 1] = kNaN;
    d.kind = "|w-q|";
    d.groupColumns = {0, 4, 8, 10};
    return d;
}

QString readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

/// Shows the widget (offscreen) so its layout gives the plot a real size, then lays out the plot.
bool showAndLayout(QWidget& w, QCustomPlot* plot)
{
    w.resize(800, 500);
    w.show();
    if (!QTest::qWaitForWindowExposed(&w)) return false;
    plot->replot();
    return plot->axisRect()->width() > 500;
}

void shoot(QWidget& w, const char* name)
{
    const QString dir = qEnvironmentVariable("QS_SHOT_DIR");
    if (!dir.isEmpty()) w.grab().save(dir + "/" + name);
}

} // namespace

class TestWorkbenchPlots : public QObject {
    Q_OBJECT
private slots:
    void histogramSeriesAndLevels()
    {
        QuantHistogramPlot plot;
        plot.setData(smallHistogram());
        QVERIFY(showAndLayout(plot, plot.plot())); // the axis rect's width sets the bin count
        plot.setViewRange(-1.5, 1.5);
        const auto& bins = plot.bins();
        QVERIFY(bins.weights.bins() >= 8);
        // One step point per edge, both series on the same edges.
        QCOMPARE(plot.plot()->graph(0)->dataCount(), bins.weights.bins() + 1);
        QCOMPARE(plot.plot()->graph(1)->dataCount(), bins.dequant.bins() + 1);
        // All 8 finite weights lie in [-1.5, 1.5]; the NaN is ignored.
        uint64_t total = 0;
        for (auto c : bins.weights.counts) total += c;
        QCOMPARE(total, quint64(8));
        QCOMPARE(bins.weights.nonFinite, quint64(1));
        // Two weights (0.3, 0.4) decode to 0.5: a spike of 2 in 0.5's bin.
        const int at05 = viewmath::binOf(0.5, bins.dequant.lo, bins.dequant.hi, bins.dequant.bins());
        QCOMPARE(bins.dequant.counts[size_t(at05)], quint64(2));
        // 5 distinct levels, all in view: 5 thin lines, plus 2 clip lines and 2 clip bands.
        QCOMPARE(int(plot.levelLines().values.size()), 5);
        QCOMPARE(plot.plot()->itemCount(), 5 + 2 + 2);
        // Clipped: -1.3 and 1.2, of 9 weights.
        QCOMPARE(plot.clippedCount(), quint64(2));
        QVERIFY2(plot.titleText().contains("2 of 9 weights clipped"), qPrintable(plot.titleText()));
        QVERIFY(plot.titleText().startsWith("row 3"));
        QCOMPARE(plot.plot()->legend->itemCount(), 4); // weights, dequantized, levels, clip
        QCOMPARE(plot.plot()->graph(3)->name(), QString("clip [-1, 1]: 2 clipped"));
        QCOMPARE(plot.plot()->graph(2)->name(), QString("levels: 5"));
        // Outside the clip range the plot is shaded red; inside, where no bar is, it is not.
        plot.plot()->replot();
        const QImage shot = plot.plot()->toPixmap().toImage();
        const int y = int(plot.plot()->yAxis->coordToPixel(0.5));
        const QColor outside = shot.pixelColor(int(plot.pixelOf(-1.45)), y);
        const QColor inside = shot.pixelColor(int(plot.pixelOf(0.2)), y);
        QVERIFY2(outside.red() > outside.green() + 10, qPrintable(outside.name()));
        QCOMPARE(inside.red(), inside.green());
        // Zoom to [-0.2, 0.7]: only the levels 0 and 0.5 remain.
        plot.setViewRange(-0.2, 0.7);
        QCOMPARE(plot.levelLines().values, (std::vector<double>{0, 0.5}));
        QCOMPARE(plot.plot()->itemCount(), 2 + 2 + 2);
    }
    void histogramZoomRebins()
    {
        QuantHistogramPlot plot;
        plot.setData(smallHistogram());
        QVERIFY(showAndLayout(plot, plot.plot()));
        const int bins = plot.bins().weights.bins();
        const double wide = plot.bins().weights.edge(1) - plot.bins().weights.edge(0);
        QSignalSpy spy(&plot, &QuantHistogramPlot::viewRangeChanged);
        plot.plot()->xAxis->setRange(-0.05, 0.25); // what a wheel zoom does
        QCOMPARE(spy.count(), 1);
        // Same bin count over the visible range only: bins get finer.
        const auto& b = plot.bins();
        QCOMPARE(b.weights.bins(), bins);
        QCOMPARE(b.weights.lo, -0.05);
        QVERIFY(b.weights.edge(1) - b.weights.edge(0) < wide / 5);
        // -0.2 and 0.1 both decode to 0: a dequantized spike of 2 in 0's bin; the float weight
        // 0.1 alone in its own bin, with no dequantized value there.
        const int at0 = viewmath::binOf(0, b.dequant.lo, b.dequant.hi, b.dequant.bins());
        QCOMPARE(b.dequant.counts[size_t(at0)], quint64(2));
        QCOMPARE(b.weights.counts[size_t(at0)], quint64(0));
        const int at01 = viewmath::binOf(0.1f, b.weights.lo, b.weights.hi, b.weights.bins());
        QCOMPARE(b.weights.counts[size_t(at01)], quint64(1));
        QCOMPARE(b.dequant.counts[size_t(at01)], quint64(0));
        // Hover: on the level 0 (3rd of 5) and on the weight 0.1, 0.1 away from any level.
        QCOMPARE(plot.hoverText(plot.pixelOf(0.0)), QString("level 3 of 5: 0"));
        QCOMPARE(plot.valueAt(plot.pixelOf(0.1)), 0.1);
        const QString bin = plot.hoverText(plot.pixelOf(0.1f));
        QVERIFY2(bin.startsWith("[") && bin.endsWith("float: 1\ndequantized: 0"), qPrintable(bin));
        QCOMPARE(plot.hoverText(plot.pixelOf(0.5)), QString()); // outside the view's bins
        plot.resetView();
        QVERIFY(plot.bins().weights.lo < -1.3);
    }
    void histogramThinsDenseLevels()
    {
        // int8: 256 levels -128..127 in view of an ~800 px plot: thinned to 1 line per 4 px.
        QuantHistogramData d;
        for (int k = -128; k <= 127; ++k) d.levels.push_back(float(k));
        d.weights = {-100, 0, 100};
        d.dequant = d.weights;
        QuantHistogramPlot plot;
        plot.setData(d);
        QVERIFY(showAndLayout(plot, plot.plot()));
        const int width = plot.plot()->axisRect()->width();
        QVERIFY(plot.levelLines().thinned());
        QVERIFY(int(plot.levelLines().values.size()) <= width / QuantHistogramPlot::pixelsPerLevelLine);
        QCOMPARE(plot.plot()->itemCount() - 4, int(plot.levelLines().values.size()));
        const QString key = plot.plot()->graph(2)->name();
        QVERIFY2(key.startsWith("levels: 256, 1 in "), qPrintable(key));
        // No clip range: nothing clipped, no clip text.
        QCOMPARE(plot.clippedCount(), quint64(0));
        QVERIFY(!plot.titleText().contains("clipped"));
        // Zoomed to [-3.5, 3.5]: 7 levels, all drawn.
        plot.setViewRange(-3.5, 3.5);
        QVERIFY(!plot.levelLines().thinned());
        QCOMPARE(plot.levelLines().values, (std::vector<double>{-3, -2, -1, 0, 1, 2, 3}));
    }
    void histogramExports()
    {
        QuantHistogramPlot plot;
        plot.setData(smallHistogram());
        QVERIFY(showAndLayout(plot, plot.plot()));
        plot.setViewRange(-1.5, 1.5);
        shoot(plot, "quanthistogram.png");
        QTemporaryDir dir;
        QString error;
        for (const char* suffix : {"png", "svg", "pdf"}) {
            const QString path = dir.filePath(QString("h.") + suffix);
            QVERIFY2(plot.exportTo(path, &error, 640, 400), qPrintable(error));
            QVERIFY(QFileInfo(path).size() > 100);
        }
        QCOMPARE(QImage(dir.filePath("h.png")).size(), QSize(640, 400));
        QVERIFY(readAll(dir.filePath("h.svg")).contains("<svg"));
        QVERIFY2(plot.exportCsv(dir.filePath("h.csv"), &error), qPrintable(error));
        const QStringList lines = readAll(dir.filePath("h.csv")).split('\n');
        QCOMPARE(lines.first(), QString("bin_lo,bin_hi,float_count,dequant_count"));
        const int bins = plot.bins().weights.bins();
        QCOMPARE(lines[1].section(',', 0, 0).toDouble(), -1.5);
        QCOMPARE(lines[bins].section(',', 1, 1).toDouble(), 1.5);
        uint64_t floats = 0, dequants = 0;
        for (int i = 1; i <= bins; ++i) {
            floats += lines[i].section(',', 2, 2).toULongLong();
            dequants += lines[i].section(',', 3, 3).toULongLong();
        }
        QCOMPARE(floats, quint64(8));
        QCOMPARE(dequants, quint64(8));
        QCOMPARE(lines[bins + 1], QString());
        QCOMPARE(lines.mid(bins + 2, 6), (QStringList{"level", "-1", "-0.5", "0", "0.5", "1"}));
        QVERIFY(!plot.exportCsv(dir.filePath("missing/h.csv"), &error));
        QVERIFY(error.contains("missing/h.csv"));
    }
    void heatmapCells()
    {
        ErrorHeatmap map;
        QString error;
        QVERIFY2(map.setData(smallHeatmap(), &error), qPrintable(error));
        QVERIFY(showAndLayout(map, map.plot()));
        // Drawn per element (small window): image cell (x = col, y = row) holds the value of the
        // map cell that pooled it. (5, 6) -> cell (2, 2) = 22; (2, 4) -> cell (1, 1) = NaN;
        // (0, 9) -> cell (0, 3) = 3; (6, 0) -> cell (2, 0) = 20.
        auto* data = map.colorMap()->data();
        QCOMPARE(data->keySize(), 10);
        QCOMPARE(data->valueSize(), 7);
        QCOMPARE(data->cell(6, 5), 22.0);
        QVERIFY(std::isnan(data->cell(4, 2)));
        QCOMPARE(data->cell(9, 0), 3.0);
        QCOMPARE(data->cell(0, 6), 20.0);
        // Column edges 2 | 5: element columns 4 and 5 fall in different cells.
        QCOMPARE(data->cell(4, 0), 1.0);
        QCOMPARE(data->cell(5, 0), 2.0);
        // Absolute error: colour range [0, max] = [0, 23].
        QCOMPARE(map.colorRange().lo, 0.0);
        QCOMPARE(map.colorRange().hi, 23.0);
        QCOMPARE(map.colorScale()->dataRange(), QCPRange(0, 23));
        // Group boundaries 4 and 8 are inside (0, 10); 0 and 10 are the matrix edges.
        QCOMPARE(map.groupLineCount(), 2);
        map.setGroupLinesVisible(false);
        QCOMPARE(map.groupLineCount(), 0);
        map.setGroupLinesVisible(true);
        QCOMPARE(map.groupLineCount(), 2);
    }
    void heatmapHoverAndClick()
    {
        ErrorHeatmap map;
        QVERIFY(map.setData(smallHeatmap()));
        map.elementInfo = [](int64_t r, int64_t c) { return QString("w = %1, q = %2").arg(r).arg(c); };
        QVERIFY(showAndLayout(map, map.plot()));
        shoot(map, "errorheatmap.png");
        const QPointF p = map.pixelOfElement(5, 6);
        const auto e = map.elementAt(p);
        QCOMPARE(e.row, qint64(5));
        QCOMPARE(e.col, qint64(6));
        QCOMPARE(map.hoverText(p),
                 QString("element (5, 6)\n|w-q| = 22 (pooled over rows [4, 7) x columns [5, 7))\nw = 5, q = 6"));
        QCOMPARE(map.hoverText(map.pixelOfElement(2, 4)).section('\n', 1, 1).left(11), QString("|w-q| = nan"));
        QCOMPARE(map.hoverText(map.pixelOfElement(-1, 3)), QString());
        QSignalSpy clicked(&map, &ErrorHeatmap::elementClicked);
        QTest::mouseClick(map.plot(), Qt::LeftButton, {}, map.pixelOfElement(1, 8).toPoint());
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.first().at(0).value<int64_t>(), qint64(1));
        QCOMPARE(clicked.first().at(1).value<int64_t>(), qint64(8));
    }
    void heatmapSignedAndBadInput()
    {
        ErrorHeatmap map;
        HeatmapData d = smallHeatmap();
        d.cells[0] = -40; // |-40| is the largest magnitude
        d.signedValues = true;
        d.kind = "w-q";
        QVERIFY(map.setData(d));
        QCOMPARE(map.colorRange().lo, -40.0);
        QCOMPARE(map.colorRange().hi, 40.0);
        QCOMPARE(map.colorScale()->axis()->label(), QString("w-q"));
        QString error;
        HeatmapData bad = smallHeatmap();
        bad.cells.pop_back();
        QVERIFY(!map.setData(bad, &error));
        QVERIFY2(error.contains("11 cells given for a 3 x 4 map"), qPrintable(error));
        bad = smallHeatmap();
        bad.gridRows = 8; // more grid rows than the 7 matrix rows
        bad.cells.resize(8 * 4);
        QVERIFY(!map.setData(bad, &error));
        QVERIFY2(error.contains("does not fit"), qPrintable(error));
        bad = smallHeatmap();
        bad.rowLo = 5;
        bad.rowHi = 9;
        QVERIFY(!map.setData(bad, &error));
        QVERIFY2(error.contains("not inside"), qPrintable(error));
        // The old (signed) map is kept.
        QCOMPARE(map.data().kind, QString("w-q"));
    }
    void heatmapAsksForFinerMap()
    {
        // 4096 x 4096 pooled to 256 x 256: 16 elements per cell.
        HeatmapData d;
        d.rows = d.cols = 4096;
        d.gridRows = d.gridCols = 256;
        d.cells.assign(256 * 256, 1.f);
        ErrorHeatmap map;
        QVERIFY(map.setData(d));
        QVERIFY(showAndLayout(map, map.plot()));
        // Zoomed out, a cell spans under 4 px (axis rect under 800 x 500 px): no request.
        QSignalSpy spy(&map, &ErrorHeatmap::viewChanged);
        QTest::qWait(300);
        QCOMPARE(spy.count(), 0);
        // Rows [1000, 1500.5] x columns [200, 700]: a 16-element cell now spans over 10 px.
        map.setView(1000, 1500.5, 200, 700);
        QTRY_COMPARE(spy.count(), 1);
        const auto args = spy.first();
        QCOMPARE(args.at(0).value<int64_t>(), qint64(1000));
        QCOMPARE(args.at(1).value<int64_t>(), qint64(1501));
        QCOMPARE(args.at(2).value<int64_t>(), qint64(200));
        QCOMPARE(args.at(3).value<int64_t>(), qint64(700));
        // The app answers with a map of that window, one cell per element: nothing more to ask,
        // and the view is kept. Hover maps through the window offset.
        HeatmapData w = d;
        w.rowLo = 1000;
        w.rowHi = 1501;
        w.colLo = 200;
        w.colHi = 700;
        w.gridRows = 501;
        w.gridCols = 500;
        w.cells.assign(501 * 500, 2.f);
        w.cells[size_t((1200 - 1000) * 500 + (300 - 200))] = 7.f;
        QVERIFY(map.setData(w));
        QCOMPARE(map.plot()->xAxis->range().lower, 200.0);
        QCOMPARE(map.valueAt(1200, 300), 7.f);
        QVERIFY(std::isnan(map.valueAt(10, 10)));
        QTest::qWait(300);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(map.hoverText(map.pixelOfElement(1200, 300)), QString("element (1200, 300)\n|w-q| = 7"));
        QCOMPARE(map.hoverText(map.pixelOfElement(1200, 100)),
                 QString("element (1200, 100)\n(outside the current map)"));
        // Zooming back out: the window map no longer covers the view.
        map.resetView();
        QTRY_COMPARE(spy.count(), 2);
        QCOMPARE(spy.last().at(1).value<int64_t>(), qint64(4096));
    }
    void heatmapExports()
    {
        ErrorHeatmap map;
        map.resize(700, 500);
        QVERIFY(map.setData(smallHeatmap()));
        QTemporaryDir dir;
        QString error;
        for (const char* suffix : {"png", "svg"}) {
            const QString path = dir.filePath(QString("m.") + suffix);
            QVERIFY2(map.exportTo(path, &error, 600, 400), qPrintable(error));
            QVERIFY(QFileInfo(path).size() > 100);
        }
        QCOMPARE(QImage(dir.filePath("m.png")).size(), QSize(600, 400));
        QVERIFY(map.exportCsv(dir.filePath("m.csv"), &error));
        const QStringList lines = readAll(dir.filePath("m.csv")).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 1 + 12);
        QCOMPARE(lines[0], QString("row_lo,row_hi,col_lo,col_hi,value"));
        QCOMPARE(lines[1], QString("0,2,0,2,0"));       // cell (0, 0)
        QCOMPARE(lines[6], QString("2,4,2,5,nan"));     // cell (1, 1)
        QCOMPARE(lines[12], QString("4,7,7,10,23"));    // cell (2, 3)
    }
};

QTEST_MAIN(TestWorkbenchPlots)
#include "tst_workbenchplots.moc"
