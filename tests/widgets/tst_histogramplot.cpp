// The histogram plot's bin lookup, tooltip text and exports; the channel plot's outliers.
#include "channelplot.h"
#include "histogramplot.h"

#include <qcustomplot.h>

#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

using namespace qs;

class TestHistogramPlot : public QObject {
    Q_OBJECT
private slots:
    void binsAndTooltip()
    {
        widgets::HistogramPlot plot;
        core::Histogram h;
        h.edges = {-1.0, -0.5, 0.0, 0.5, 1.0};
        h.counts = {1, 5, 7, 2};
        plot.setHistogram(h, "w");
        QCOMPARE(plot.binAt(-0.75), 0);
        QCOMPARE(plot.binAt(0.0), 2);  // edges are [lo, hi)
        QCOMPARE(plot.binAt(1.0), 3);  // the last bin is closed
        QCOMPARE(plot.binAt(1.5), -1);
        QCOMPARE(plot.binText(1), QString("[-0.5, 0): 5"));
        QCOMPARE(plot.binText(3), QString("[0.5, 1]: 2"));
        // The plotted step graph holds one point per edge with the bin's count.
        auto* graph = plot.plot()->graph(0);
        QCOMPARE(graph->dataCount(), 5);
        QCOMPARE(graph->data()->at(2)->value, 7.0);
    }
    void logCountsKeepsEmptyBinsVisible()
    {
        widgets::HistogramPlot plot;
        core::Histogram h;
        h.edges = {0, 1, 2};
        h.counts = {0, 100};
        plot.setHistogram(h, "w");
        plot.setLogCounts(true);
        QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QCOMPARE(plot.plot()->graph(0)->data()->at(0)->value, 0.5);
    }
    void followsAPaletteChange()
    {
        // A dark palette set on the widget (as View > Theme > Dark does for the application)
        // reaches the plot's background, axes and series.
        widgets::HistogramPlot plot;
        QPalette dark = plot.palette();
        dark.setColor(QPalette::Base, QColor(30, 30, 32));
        dark.setColor(QPalette::Window, QColor(45, 45, 48));
        dark.setColor(QPalette::Text, QColor(230, 230, 230));
        dark.setColor(QPalette::WindowText, QColor(230, 230, 230));
        const QColor lightSeries = plot.plot()->graph(0)->pen().color();
        plot.setPalette(dark);
        QCOMPARE(plot.plot()->axisRect()->backgroundBrush().color(), QColor(30, 30, 32));
        QCOMPARE(plot.plot()->xAxis->tickLabelColor(), QColor(230, 230, 230));
        QVERIFY(plot.plot()->graph(0)->pen().color() != lightSeries); // a lighter blue on dark
    }
    void exportsEveryFormat()
    {
        widgets::HistogramPlot plot;
        core::Histogram h;
        h.edges = {0, 1, 2, 3};
        h.counts = {3, 9, 4};
        plot.setHistogram(h, "w");
        QTemporaryDir dir;
        for (const char* suffix : {"png", "pdf", "svg", "jpg"}) {
            const QString path = dir.filePath(QString("h.") + suffix);
            QString error;
            QVERIFY2(plot.exportTo(path, &error, 640, 400), qPrintable(error));
            QVERIFY(QFileInfo(path).size() > 100);
        }
        QImage png(dir.filePath("h.png"));
        QCOMPARE(png.size(), QSize(640, 400));
        QFile svg(dir.filePath("h.svg"));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        QVERIFY(svg.readAll().contains("<svg"));
        QString error;
        QVERIFY(!plot.exportTo(dir.filePath("h.bmpx"), &error));
        QVERIFY(error.contains("unknown image type"));
    }
    void channelOutliers()
    {
        QCOMPARE(widgets::medianOf({3, 1, 2}), 2.0);
        QCOMPARE(widgets::medianOf({4, 1, 3, 2}), 2.5);
        widgets::ChannelPlot plot;
        // median 1; 7 > 6 x 1 is an outlier, 6 is not.
        plot.setChannels({1, 1, 7, 1, 6, 1, 1}, "output");
        QCOMPARE(plot.median(), 1.0);
        QCOMPARE(plot.outlierCount(), 1);
    }
};

QTEST_MAIN(TestHistogramPlot)
#include "tst_histogramplot.moc"
