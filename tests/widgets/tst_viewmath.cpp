// The view arithmetic of the quantization histogram and the error heatmap (widgets/viewmath).
// Every expected value is worked out by hand in the comment beside it.
#include "viewmath.h"

#include <QtTest>

#include <cmath>
#include <limits>

using namespace qs::widgets;
using U64List = QList<quint64>;

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
std::vector<float> vec(const QList<float>& l) { return {l.begin(), l.end()}; }
} // namespace

class TestViewMath : public QObject {
    Q_OBJECT
private slots:
    void binCounts_data()
    {
        QTest::addColumn<QList<float>>("values");
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::addColumn<int>("bins");
        QTest::addColumn<U64List>("counts");
        QTest::addColumn<quint64>("nonFinite");
        QTest::addColumn<quint64>("outside");
        // Edges 0, .25, .5, .75, 1: each value on an edge goes right, 1.0 into the closed last bin.
        QTest::newRow("edges go right, last bin closed")
            << QList<float>{0, 0.25f, 0.5f, 0.75f, 1} << 0.0 << 1.0 << 4 << U64List{1, 1, 1, 2} << quint64(0)
            << quint64(0);
        // Edges -1, -.75, ..., 1 (exact in binary): -1 -> 0, -.75 -> 1, -.25 -> 3, 0 -> 4, .5 -> 6, 1 -> 7.
        QTest::newRow("negative range")
            << QList<float>{-0.75f, -0.25f, 0, 0.5f, 1, -1} << -1.0 << 1.0 << 8
            << U64List{1, 1, 0, 1, 1, 0, 1, 1} << quint64(0) << quint64(0);
        // NaN, +Inf, -Inf ignored; -0.1 and 1.1 outside; 0.1 -> bin 0, 0.9 -> bin 1.
        QTest::newRow("nan inf outside")
            << QList<float>{kNaN, 0.1f, kInf, -kInf, -0.1f, 1.1f, 0.9f} << 0.0 << 1.0 << 2 << U64List{1, 1}
            << quint64(3) << quint64(2);
        QTest::newRow("no bins") << QList<float>{1, 2, kNaN} << 0.0 << 4.0 << 0 << U64List{} << quint64(1)
                                 << quint64(2);
        QTest::newRow("empty range") << QList<float>{1, 2} << 3.0 << 3.0 << 4 << U64List{} << quint64(0)
                                     << quint64(2);
    }
    void binCounts()
    {
        QFETCH(QList<float>, values);
        QFETCH(double, lo);
        QFETCH(double, hi);
        QFETCH(int, bins);
        QFETCH(U64List, counts);
        QFETCH(quint64, nonFinite);
        QFETCH(quint64, outside);
        const auto v = vec(values);
        const auto b = viewmath::binCounts(v, lo, hi, bins);
        QCOMPARE(U64List(b.counts.begin(), b.counts.end()), counts);
        QCOMPARE(b.nonFinite, nonFinite);
        QCOMPARE(b.outside, outside);
        if (b.bins() > 0) {
            QCOMPARE(b.edge(0), lo);
            QCOMPARE(b.edge(b.bins()), hi);
        }
    }
    void binOf()
    {
        QCOMPARE(viewmath::binOf(0.5, 0, 1, 4), 2);  // edge .5 opens bin 2
        QCOMPARE(viewmath::binOf(1.0, 0, 1, 4), 3);  // closed last bin
        QCOMPARE(viewmath::binOf(0.24, 0, 1, 4), 0);
        QCOMPARE(viewmath::binOf(1.0001, 0, 1, 4), -1);
        QCOMPARE(viewmath::binOf(-0.0001, 0, 1, 4), -1);
        QCOMPARE(viewmath::binOf(std::nan(""), 0, 1, 4), -1);
        QCOMPARE(viewmath::binOf(0.5, 0, 1, 0), -1);
    }
    void rebinUsesOneSetOfEdges()
    {
        // Zoomed to [0, 1] with 4 bins: weights .1 .3 .35 .9 -> 1 2 0 1; their levels 0 .5 .5 1 ->
        // 0 -> bin 0, .5 -> bin 2 (twice), 1 -> bin 3 (closed): the spikes sit at the levels.
        const std::vector<float> w{0.1f, 0.3f, 0.35f, 0.9f, 5.0f}, q{0, 0.5f, 0.5f, 1, 4.0f};
        const auto p = viewmath::rebin(w, q, 0, 1, 4);
        QCOMPARE(U64List(p.weights.counts.begin(), p.weights.counts.end()), (U64List{1, 2, 0, 1}));
        QCOMPARE(U64List(p.dequant.counts.begin(), p.dequant.counts.end()), (U64List{1, 0, 2, 1}));
        QCOMPARE(p.weights.outside, quint64(1));
        QCOMPARE(p.dequant.outside, quint64(1));
        // Zooming in halves the bin width with the same bin count: [0, .5] in 4 bins of .125.
        const auto z = viewmath::rebin(w, q, 0, 0.5, 4);
        QCOMPARE(z.weights.edge(1), 0.125);
        QCOMPARE(U64List(z.weights.counts.begin(), z.weights.counts.end()), (U64List{1, 0, 2, 0}));
        QCOMPARE(U64List(z.dequant.counts.begin(), z.dequant.counts.end()), (U64List{1, 0, 0, 2}));
    }
    void binsForWidth()
    {
        QCOMPARE(viewmath::binsForWidth(800), 200); // 800 / 4
        QCOMPARE(viewmath::binsForWidth(100, 2), 50);
        QCOMPARE(viewmath::binsForWidth(10), 8);     // at least 8
        QCOMPARE(viewmath::binsForWidth(4000), 512); // at most 512
    }
    void countOutside_data()
    {
        QTest::addColumn<QList<float>>("values");
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::addColumn<quint64>("expected");
        // -2, 2, +Inf, -Inf are outside [-1, 1]; the bounds themselves are inside; NaN not counted.
        QTest::newRow("symmetric") << QList<float>{-2, -1, 0, 1, 2, kNaN, kInf, -kInf} << -1.0 << 1.0
                                   << quint64(4);
        // Asymmetric clip [-0.5, 1.5]: -1 and 1.6 are outside.
        QTest::newRow("asymmetric") << QList<float>{-1, -0.5f, 1.5f, 1.6f} << -0.5 << 1.5 << quint64(2);
        QTest::newRow("none") << QList<float>{} << 0.0 << 1.0 << quint64(0);
    }
    void countOutside()
    {
        QFETCH(QList<float>, values);
        QFETCH(double, lo);
        QFETCH(double, hi);
        QFETCH(quint64, expected);
        QCOMPARE(viewmath::countOutside(vec(values), lo, hi), expected);
    }
    void histogramRange_data()
    {
        QTest::addColumn<QList<float>>("values");
        QTest::addColumn<QList<float>>("levels");
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        // Width 2, 3% pad = 0.06 each side.
        QTest::newRow("values") << QList<float>{-1, 1, kNaN} << QList<float>{} << -1.06 << 1.06;
        // The levels reach further: [-2, 2], pad 0.12.
        QTest::newRow("levels") << QList<float>{0, 1} << QList<float>{-2, 2, kInf} << -2.12 << 2.12;
        // One value 3: pad max(1.5, 0.5) = 1.5.
        QTest::newRow("single") << QList<float>{3, 3} << QList<float>{} << 1.5 << 4.5;
        QTest::newRow("nothing finite") << QList<float>{kNaN} << QList<float>{} << -1.0 << 1.0;
    }
    void histogramRange()
    {
        QFETCH(QList<float>, values);
        QFETCH(QList<float>, levels);
        QFETCH(double, lo);
        QFETCH(double, hi);
        const auto v = vec(values), l = vec(levels);
        const auto r = viewmath::histogramRange(v, {}, l);
        QCOMPARE(r.lo, lo);
        QCOMPARE(r.hi, hi);
        // The dequantized values count as well.
        const std::vector<float> far{10};
        QCOMPARE(viewmath::histogramRange(v, far, l).hi >= 10, true);
    }
    void visibleLevels_data()
    {
        QTest::addColumn<QList<float>>("levels");
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::addColumn<int>("maxLines");
        QTest::addColumn<int>("visible");
        QTest::addColumn<int>("stride");
        QTest::addColumn<QList<double>>("drawn");
        QList<float> int4, int8, ten;
        for (int k = -8; k <= 7; ++k) int4 << float(k) * 0.125f;
        for (int k = -128; k <= 127; ++k) int8 << float(k);
        for (int k = 0; k <= 9; ++k) ten << float(k);
        QTest::newRow("int4 zoomed") << int4 << -0.3 << 0.3 << 100 << 5 << 1
                                     << QList<double>{-0.25, -0.125, 0, 0.125, 0.25};
        // 256 visible, cap 100 -> stride ceil(2.56) = 3: indices 0, 3, ..., 255 -> 86 lines.
        QList<double> every3;
        for (int i = 0; i <= 255; i += 3) every3 << -128.0 + i;
        QTest::newRow("int8 thinned") << int8 << -1000.0 << 1000.0 << 100 << 256 << 3 << every3;
        // Index 0 (-128) scrolled out: 255 visible, stride 3, lines stay at indices 3, 6, ... 255.
        every3.removeFirst();
        QTest::newRow("int8 panned") << int8 << -127.5 << 1000.0 << 100 << 255 << 3 << every3;
        // Levels 3..9 visible (7), cap 3 -> stride 3: indices 3, 6, 9.
        QTest::newRow("stride on global index") << ten << 2.5 << 9.0 << 3 << 7 << 3 << QList<double>{3, 6, 9};
        // Duplicates merged, NaN and Inf dropped.
        QTest::newRow("duplicates") << QList<float>{0.5f, kNaN, 0.5f, -0.5f, kInf} << -1.0 << 1.0 << 10 << 2
                                    << 1 << QList<double>{-0.5, 0.5};
        // maxLines 0 is taken as 1: 4 visible, stride 4, only index 0.
        QTest::newRow("cap of zero") << QList<float>{3, 2, 1, 0} << 0.0 << 3.0 << 0 << 4 << 4 << QList<double>{0};
        QTest::newRow("none visible") << int4 << 5.0 << 6.0 << 10 << 0 << 1 << QList<double>{};
    }
    void visibleLevels()
    {
        QFETCH(QList<float>, levels);
        QFETCH(double, lo);
        QFETCH(double, hi);
        QFETCH(int, maxLines);
        QFETCH(int, visible);
        QFETCH(int, stride);
        QFETCH(QList<double>, drawn);
        const auto l = vec(levels);
        const auto r = viewmath::visibleLevels(l, lo, hi, maxLines);
        QCOMPARE(r.visible, visible);
        QCOMPARE(r.stride, stride);
        QCOMPARE(r.thinned(), stride > 1);
        QCOMPARE(QList<double>(r.values.begin(), r.values.end()), drawn);
    }
    void nearestLevel_data()
    {
        QTest::addColumn<double>("x");
        QTest::addColumn<double>("tolerance");
        QTest::addColumn<int>("expected");
        // Levels -1, 0, 0.5, 2.
        QTest::newRow("near 0.5") << 0.3 << 0.25 << 2;     // |0.3-0.5| = 0.2, |0.3-0| = 0.3
        QTest::newRow("too far") << 1.2 << 0.5 << -1;      // 0.7 and 0.8 away
        QTest::newRow("tie goes low") << 0.25 << 1.0 << 1; // 0.25 from both 0 and 0.5
        QTest::newRow("below all") << -5.0 << 10.0 << 0;
        QTest::newRow("above all") << 5.0 << 10.0 << 3;
        QTest::newRow("exact") << 2.0 << 0.0 << 3;
    }
    void nearestLevel()
    {
        QFETCH(double, x);
        QFETCH(double, tolerance);
        QFETCH(int, expected);
        const std::vector<double> levels{-1, 0, 0.5, 2};
        QCOMPARE(viewmath::nearestLevel(levels, x, tolerance), expected);
        QCOMPARE(viewmath::nearestLevel({}, x, tolerance), -1);
    }
    void axisMap()
    {
        // Values [0, 10] on pixels [50, 250]: 20 px per unit.
        const viewmath::AxisMap x{0, 10, 50, 250};
        QCOMPARE(x.toPixel(2.5), 100.0);
        QCOMPARE(x.toValue(150), 5.0);
        QCOMPARE(x.valuePerPixel(), 0.05);
        // A y axis runs backwards on screen: values [0, 4] on pixels [300, 100].
        const viewmath::AxisMap y{0, 4, 300, 100};
        QCOMPARE(y.toPixel(1), 250.0);
        QCOMPARE(y.toValue(100), 4.0);
        QCOMPARE(y.valuePerPixel(), 0.02);
    }
    void cellOf_data()
    {
        QTest::addColumn<qint64>("n");
        QTest::addColumn<qint64>("grid");
        QTest::addColumn<QList<qint64>>("cellOfEach");
        QTest::addColumn<QList<qint64>>("edges");
        // 7 into 3: edges floor(0), floor(7/3) = 2, floor(14/3) = 4, 7 -> sizes 2, 2, 3.
        QTest::newRow("7 into 3") << qint64(7) << qint64(3) << QList<qint64>{0, 0, 1, 1, 2, 2, 2}
                                  << QList<qint64>{0, 2, 4, 7};
        // 10 into 4: edges 0, floor(2.5) = 2, 5, floor(7.5) = 7, 10 -> sizes 2, 3, 2, 3.
        QTest::newRow("10 into 4") << qint64(10) << qint64(4) << QList<qint64>{0, 0, 1, 1, 1, 2, 2, 3, 3, 3}
                                   << QList<qint64>{0, 2, 5, 7, 10};
        // A grid larger than the matrix is clamped to it: one element per cell.
        QTest::newRow("3 into 5") << qint64(3) << qint64(5) << QList<qint64>{0, 1, 2} << QList<qint64>{0, 1, 2, 3};
        // A grid of 0 is clamped to 1.
        QTest::newRow("4 into 0") << qint64(4) << qint64(0) << QList<qint64>{0, 0, 0, 0} << QList<qint64>{0, 4};
    }
    void cellOf()
    {
        QFETCH(qint64, n);
        QFETCH(qint64, grid);
        QFETCH(QList<qint64>, cellOfEach);
        QFETCH(QList<qint64>, edges);
        const int64_t g = viewmath::clampedGrid(grid, n);
        QCOMPARE(g, qint64(edges.size() - 1));
        for (int64_t e = 0; e < n; ++e) QCOMPARE(viewmath::cellOf(e, n, g), cellOfEach[int(e)]);
        for (int64_t i = 0; i <= g; ++i) QCOMPARE(viewmath::cellEdge(i, n, g), edges[int(i)]);
        QCOMPARE(viewmath::cellOf(-1, n, g), qint64(-1));
        QCOMPARE(viewmath::cellOf(n, n, g), qint64(-1));
    }
    void cellAndRangeAgreeEverywhere()
    {
        // The inverse property over every small size: cell i holds exactly [edge(i), edge(i+1)).
        for (int64_t n = 1; n <= 40; ++n)
            for (int64_t g = 1; g <= n; ++g)
                for (int64_t e = 0; e < n; ++e) {
                    const int64_t i = viewmath::cellOf(e, n, g);
                    QVERIFY(i >= 0 && i < g);
                    QVERIFY(viewmath::cellEdge(i, n, g) <= e && e < viewmath::cellEdge(i + 1, n, g));
                }
    }
    void elementMapping2d()
    {
        // 7 x 10 into 3 x 4: row edges 0 2 4 7, column edges 0 2 5 7 10.
        const auto c = viewmath::cellOfElement(6, 9, 7, 10, 3, 4);
        QCOMPARE(c.row, qint64(2));
        QCOMPARE(c.col, qint64(3));
        const auto c2 = viewmath::cellOfElement(2, 4, 7, 10, 3, 4);
        QCOMPARE(c2.row, qint64(1));
        QCOMPARE(c2.col, qint64(1));
        QVERIFY(!viewmath::cellOfElement(7, 0, 7, 10, 3, 4).valid());
        QVERIFY(!viewmath::cellOfElement(0, -1, 7, 10, 3, 4).valid());
        const auto r = viewmath::elementRangeOfCell(1, 2, 7, 10, 3, 4);
        QCOMPARE(r.rowLo, qint64(2));
        QCOMPARE(r.rowHi, qint64(4));
        QCOMPARE(r.colLo, qint64(5));
        QCOMPARE(r.colHi, qint64(7));
        const auto none = viewmath::elementRangeOfCell(3, 0, 7, 10, 3, 4);
        QCOMPARE(none.rowHi - none.rowLo, qint64(0));
    }
    void drawnCells_data()
    {
        QTest::addColumn<qint64>("n");
        QTest::addColumn<qint64>("grid");
        QTest::addColumn<qint64>("exactLimit");
        QTest::addColumn<QList<qint64>>("expected");
        // 7 elements in 3 cells, small enough to draw per element: the engine's 2, 2, 3 split.
        QTest::newRow("exact 7 into 3") << qint64(7) << qint64(3) << qint64(1024)
                                        << QList<qint64>{0, 0, 1, 1, 2, 2, 2};
        // Over the limit: one image cell per map cell.
        QTest::newRow("coarse 7 into 3") << qint64(7) << qint64(3) << qint64(6) << QList<qint64>{0, 1, 2};
        QTest::newRow("one per element") << qint64(4) << qint64(4) << qint64(1024) << QList<qint64>{0, 1, 2, 3};
        // A single cell is drawn twice so the image has a width.
        QTest::newRow("single cell") << qint64(5) << qint64(1) << qint64(2) << QList<qint64>{0, 0};
        QTest::newRow("single element") << qint64(1) << qint64(1) << qint64(1024) << QList<qint64>{0, 0};
        QTest::newRow("empty") << qint64(0) << qint64(3) << qint64(1024) << QList<qint64>{};
    }
    void drawnCells()
    {
        QFETCH(qint64, n);
        QFETCH(qint64, grid);
        QFETCH(qint64, exactLimit);
        QFETCH(QList<qint64>, expected);
        const auto d = viewmath::drawnCells(n, grid, exactLimit);
        QCOMPARE(QList<qint64>(d.begin(), d.end()), expected);
    }
    void elementAt()
    {
        QCOMPARE(viewmath::elementAt(2.7, 5), qint64(2));
        QCOMPARE(viewmath::elementAt(0.0, 5), qint64(0));
        QCOMPARE(viewmath::elementAt(4.999, 5), qint64(4));
        QCOMPARE(viewmath::elementAt(5.0, 5), qint64(-1));
        QCOMPARE(viewmath::elementAt(-0.1, 5), qint64(-1));
        QCOMPARE(viewmath::elementAt(std::nan(""), 5), qint64(-1));
        const auto s = viewmath::visibleElements(1.3, 4.2, 10);
        QCOMPARE(s.lo, qint64(1));
        QCOMPARE(s.hi, qint64(5));
        const auto all = viewmath::visibleElements(-3, 20, 10);
        QCOMPARE(all.lo, qint64(0));
        QCOMPARE(all.hi, qint64(10));
    }
    void wantsFinerMap_data()
    {
        QTest::addColumn<double>("viewLo");
        QTest::addColumn<double>("viewHi");
        QTest::addColumn<int>("pixels");
        QTest::addColumn<qint64>("mapLo");
        QTest::addColumn<qint64>("mapHi");
        QTest::addColumn<qint64>("cells");
        QTest::addColumn<bool>("expected");
        // 4096 elements in 256 cells (16 each) on 512 px: 2 px per cell, fine as it is.
        QTest::newRow("zoomed out") << 0.0 << 4096.0 << 512 << qint64(0) << qint64(4096) << qint64(256) << false;
        // A quarter in view: 16 elements of a cell span 8 px > 4: a finer map shows more.
        QTest::newRow("zoomed 4x") << 0.0 << 1024.0 << 512 << qint64(0) << qint64(4096) << qint64(256) << true;
        // One element per cell already: nothing finer exists.
        QTest::newRow("element level") << 0.0 << 16.0 << 512 << qint64(0) << qint64(256) << qint64(256) << false;
        // A window map [100, 200) while the view shows [0, 400]: the map does not cover the view.
        QTest::newRow("window too small") << 0.0 << 400.0 << 512 << qint64(100) << qint64(200) << qint64(100)
                                          << true;
        QTest::newRow("window covers") << 100.2 << 199.8 << 512 << qint64(100) << qint64(200) << qint64(100)
                                       << false;
    }
    void wantsFinerMap()
    {
        QFETCH(double, viewLo);
        QFETCH(double, viewHi);
        QFETCH(int, pixels);
        QFETCH(qint64, mapLo);
        QFETCH(qint64, mapHi);
        QFETCH(qint64, cells);
        QFETCH(bool, expected);
        QCOMPARE(viewmath::wantsFinerMap(viewLo, viewHi, pixels, mapLo, mapHi, cells), expected);
    }
    void colorRange_data()
    {
        QTest::addColumn<QList<float>>("cells");
        QTest::addColumn<bool>("signedValues");
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::newRow("signed symmetric") << QList<float>{-3, 2, kNaN, kInf} << true << -3.0 << 3.0;
        QTest::newRow("signed positive") << QList<float>{0.5f, 2} << true << -2.0 << 2.0;
        QTest::newRow("absolute") << QList<float>{0.5f, 2, kNaN} << false << 0.0 << 2.0;
        QTest::newRow("absolute ignores inf") << QList<float>{4, -kInf, kInf} << false << 0.0 << 4.0;
        QTest::newRow("all nan signed") << QList<float>{kNaN, kNaN} << true << -1.0 << 1.0;
        QTest::newRow("all zero") << QList<float>{0, 0} << false << 0.0 << 1.0;
        QTest::newRow("empty") << QList<float>{} << false << 0.0 << 1.0;
    }
    void colorRange()
    {
        QFETCH(QList<float>, cells);
        QFETCH(bool, signedValues);
        QFETCH(double, lo);
        QFETCH(double, hi);
        const auto r = viewmath::colorRange(vec(cells), signedValues);
        QCOMPARE(r.lo, lo);
        QCOMPARE(r.hi, hi);
    }
};

QTEST_MAIN(TestViewMath)
#include "tst_viewmath.moc"
