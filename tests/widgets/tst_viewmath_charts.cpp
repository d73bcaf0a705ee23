// The outlier-channel and trade-off view arithmetic (widgets/viewmath_charts.h). Every expected
// value below is worked out by hand in the comment beside its row.
#include "viewmath_charts.h"

#include <QtTest>

#include <cmath>
#include <limits>

using namespace qs::widgets;
using charts::TradeoffPoint;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();
constexpr float finf = std::numeric_limits<float>::infinity();
constexpr float fqnan = std::numeric_limits<float>::quiet_NaN();

QList<int> toList(const std::vector<int>& v) { return QList<int>(v.begin(), v.end()); }

using Points = std::vector<TradeoffPoint>;
// Points from (bits, sqnr) pairs, named p0, p1, ...
Points pts(std::initializer_list<std::pair<double, double>> bitsSqnr)
{
    Points p;
    for (auto [b, s] : bitsSqnr) p.push_back({QString("p%1").arg(p.size()), b, s, "int"});
    return p;
}
} // namespace

Q_DECLARE_METATYPE(std::vector<float>)
Q_DECLARE_METATYPE(Points)

class TestViewMathCharts : public QObject {
    Q_OBJECT
private slots:
    void median_data()
    {
        QTest::addColumn<std::vector<float>>("values");
        QTest::addColumn<double>("expected");
        QTest::newRow("none") << std::vector<float>{} << qnan;
        QTest::newRow("only NaN") << std::vector<float>{fqnan, fqnan} << qnan;
        QTest::newRow("one") << std::vector<float>{5} << 5.0;
        QTest::newRow("odd") << std::vector<float>{3, 1, 2} << 2.0;
        QTest::newRow("even: mean of 2 and 3") << std::vector<float>{4, 1, 3, 2} << 2.5;
        QTest::newRow("even, exact halves: (0.25+0.5)/2") << std::vector<float>{0.5f, 0.25f} << 0.375;
        QTest::newRow("NaN skipped: median of {1, 3}") << std::vector<float>{1, fqnan, 3} << 2.0;
        QTest::newRow("Inf is ordered: {1, 2, Inf}") << std::vector<float>{1, finf, 2} << 2.0;
        QTest::newRow("even with Inf in the middle") << std::vector<float>{1, finf} << inf;
        QTest::newRow("-Inf and +Inf: NaN") << std::vector<float>{-finf, finf} << qnan;
    }
    void median()
    {
        QFETCH(std::vector<float>, values);
        QFETCH(double, expected);
        const double m = charts::median(values);
        if (std::isnan(expected))
            QVERIFY2(std::isnan(m), qPrintable(QString::number(m)));
        else
            QCOMPARE(m, expected);
    }

    void flagByFactor_data()
    {
        QTest::addColumn<std::vector<float>>("absmax");
        QTest::addColumn<double>("k");
        QTest::addColumn<QList<int>>("expected");
        // median 1, threshold 6: 7 is flagged, 6 is not (strictly greater).
        QTest::newRow("k 6") << std::vector<float>{1, 1, 7, 1, 6, 1, 1} << 6.0 << QList<int>{2};
        QTest::newRow("k 5") << std::vector<float>{1, 1, 7, 1, 6, 1, 1} << 5.0 << QList<int>{2, 4};
        // median 2.5, threshold 2.5: 3 and 4.
        QTest::newRow("even count") << std::vector<float>{1, 2, 3, 4} << 1.0 << QList<int>{2, 3};
        QTest::newRow("zero median flags nothing") << std::vector<float>{0, 0, 0, 5} << 6.0 << QList<int>{};
        // median of {1, 1, 10} is 1, threshold 2.
        QTest::newRow("NaN channel") << std::vector<float>{1, 1, fqnan, 10} << 2.0 << QList<int>{3};
        QTest::newRow("Inf channel") << std::vector<float>{1, 1, finf} << 6.0 << QList<int>{2};
        QTest::newRow("k 0") << std::vector<float>{1, 1, 7} << 0.0 << QList<int>{};
        QTest::newRow("k negative") << std::vector<float>{1, 1, 7} << -1.0 << QList<int>{};
        QTest::newRow("k NaN") << std::vector<float>{1, 1, 7} << qnan << QList<int>{};
        QTest::newRow("k Inf") << std::vector<float>{1, 1, finf} << inf << QList<int>{};
        QTest::newRow("empty") << std::vector<float>{} << 6.0 << QList<int>{};
    }
    void flagByFactor()
    {
        QFETCH(std::vector<float>, absmax);
        QFETCH(double, k);
        QFETCH(QList<int>, expected);
        QCOMPARE(toList(charts::flagByFactor(absmax, k)), expected);
    }

    void flagTopK_data()
    {
        QTest::addColumn<std::vector<float>>("absmax");
        QTest::addColumn<int>("k");
        QTest::addColumn<QList<int>>("expected");
        QTest::newRow("top 2") << std::vector<float>{3, 9, 1, 9, 5} << 2 << QList<int>{1, 3};
        QTest::newRow("tie: lower index") << std::vector<float>{3, 9, 1, 9, 5} << 1 << QList<int>{1};
        QTest::newRow("all equal") << std::vector<float>{5, 5, 5} << 2 << QList<int>{0, 1};
        QTest::newRow("top 3, ascending result") << std::vector<float>{4, 2, 4, 1} << 3 << QList<int>{0, 1, 2};
        QTest::newRow("NaN never flagged") << std::vector<float>{1, fqnan, 2} << 3 << QList<int>{0, 2};
        QTest::newRow("k 0") << std::vector<float>{1, 2} << 0 << QList<int>{};
        QTest::newRow("k negative") << std::vector<float>{1, 2} << -3 << QList<int>{};
        QTest::newRow("k beyond count") << std::vector<float>{2, 1} << 10 << QList<int>{0, 1};
    }
    void flagTopK()
    {
        QFETCH(std::vector<float>, absmax);
        QFETCH(int, k);
        QFETCH(QList<int>, expected);
        QCOMPARE(toList(charts::flagTopK(absmax, k)), expected);
    }

    void sortOrder_data()
    {
        QTest::addColumn<std::vector<float>>("absmax");
        QTest::addColumn<QList<int>>("order");
        QTest::addColumn<QList<int>>("position");
        // 9 (ch 1), 9 (ch 3), 5 (ch 4), 3 (ch 0), 1 (ch 2); positions: ch0 at 3, ch1 at 0, ...
        QTest::newRow("stable descending") << std::vector<float>{3, 9, 1, 9, 5} << QList<int>{1, 3, 4, 0, 2}
                                           << QList<int>{3, 0, 4, 1, 2};
        QTest::newRow("NaN last") << std::vector<float>{fqnan, 2, fqnan, 2} << QList<int>{1, 3, 0, 2}
                                  << QList<int>{2, 0, 3, 1};
        QTest::newRow("Inf first") << std::vector<float>{1, finf, 0} << QList<int>{1, 0, 2} << QList<int>{1, 0, 2};
        QTest::newRow("empty") << std::vector<float>{} << QList<int>{} << QList<int>{};
    }
    void sortOrder()
    {
        QFETCH(std::vector<float>, absmax);
        QFETCH(QList<int>, order);
        QFETCH(QList<int>, position);
        const auto o = charts::sortOrder(absmax);
        QCOMPARE(toList(o), order);
        QCOMPARE(toList(charts::inversePermutation(o)), position);
    }

    void barIndexAt_data()
    {
        QTest::addColumn<double>("pixel0");
        QTest::addColumn<double>("pixel1");
        QTest::addColumn<double>("pixel");
        QTest::addColumn<double>("width");
        QTest::addColumn<int>("bar");
        // 10 bars, coordinates -0.5 .. 9.5 over pixels 100 .. 500: 40 px per bar.
        QTest::newRow("left edge of bar 0") << 100.0 << 500.0 << 100.0 << 1.0 << 0;
        QTest::newRow("c 0.4975: bar 0") << 100.0 << 500.0 << 139.9 << 1.0 << 0;
        QTest::newRow("c 0.5: bar 1") << 100.0 << 500.0 << 140.0 << 1.0 << 1;
        QTest::newRow("c 9.4975: bar 9") << 100.0 << 500.0 << 499.9 << 1.0 << 9;
        QTest::newRow("c 9.5: outside") << 100.0 << 500.0 << 500.0 << 1.0 << -1;
        QTest::newRow("c -0.525: outside") << 100.0 << 500.0 << 99.0 << 1.0 << -1;
        // Width 0.5: bar 0 covers [-0.25, 0.25), pixels [110, 130).
        QTest::newRow("narrow: c 0.225") << 100.0 << 500.0 << 129.0 << 0.5 << 0;
        QTest::newRow("narrow: c 0.25 in the gap") << 100.0 << 500.0 << 130.0 << 0.5 << -1;
        // Reversed axis: pixel 500 shows -0.5, pixel 100 shows 9.5; pixel 480 is c 0.
        QTest::newRow("reversed") << 500.0 << 100.0 << 480.0 << 1.0 << 0;
        QTest::newRow("reversed, c 9.25") << 500.0 << 100.0 << 110.0 << 1.0 << 9;
        QTest::newRow("degenerate map") << 100.0 << 100.0 << 100.0 << 1.0 << -1;
    }
    void barIndexAt()
    {
        QFETCH(double, pixel0);
        QFETCH(double, pixel1);
        QFETCH(double, pixel);
        QFETCH(double, width);
        QFETCH(int, bar);
        const charts::LinearMap map{pixel0, pixel1, -0.5, 9.5};
        QCOMPARE(charts::barIndexAt(pixel, map, 10, width), bar);
        if (bar >= 0) // the bar's centre maps back inside the bar
            QCOMPARE(charts::barIndexAt(map.toPixel(bar), map, 10, width), bar);
    }

    void paretoFront_data()
    {
        QTest::addColumn<Points>("points");
        QTest::addColumn<QList<int>>("front");
        // By bits: (2,10) p3 on; (3,5) p4 no; (4,25) p1 on; (4,20) p2 no; (8,50) p0 on.
        QTest::newRow("basic") << pts({{8, 50}, {4, 25}, {4, 20}, {2, 10}, {3, 5}}) << QList<int>{3, 1, 0};
        // p0 and p1 are the same point: neither dominates; (5,30) and (4,20) are dominated.
        QTest::newRow("exact duplicates") << pts({{4, 30}, {4, 30}, {5, 30}, {4, 20}}) << QList<int>{0, 1};
        QTest::newRow("equal SQNR: fewer bits") << pts({{5, 30}, {4, 30}}) << QList<int>{1};
        QTest::newRow("NaN SQNR left out") << pts({{4, qnan}, {8, 40}, {2, 10}}) << QList<int>{2, 1};
        // (8,50) then the exact points at 16 bits (both), the exact 32-bit point is dominated.
        QTest::newRow("+Inf (exact)") << pts({{16, inf}, {8, 50}, {32, inf}, {16, inf}}) << QList<int>{1, 0, 3};
        QTest::newRow("-Inf at the fewest bits") << pts({{1, -inf}, {2, -inf}, {3, 10}}) << QList<int>{0, 2};
        QTest::newRow("non-finite bits left out") << pts({{inf, 50}, {qnan, 60}, {4, 20}}) << QList<int>{2};
        QTest::newRow("empty") << Points{} << QList<int>{};
    }
    void paretoFront()
    {
        QFETCH(Points, points);
        QFETCH(QList<int>, front);
        QCOMPARE(toList(charts::paretoFront(points)), front);
    }

    void referenceLine_data()
    {
        QTest::addColumn<Points>("points");
        QTest::addColumn<int>("anchor");
        QTest::addColumn<double>("offset");
        QTest::addColumn<double>("at4");
        // Candidates within 8 +- 0.5: p0 (48) and p1 (49.5); p1 wins.
        // offset = 49.5 - 6.020599913279624 * 8.25 = 49.5 - 49.669949284556898 = -0.169949284556898
        // at 4 bits: 24.082399653118496 - 0.169949284556898 = 23.912450368561598
        QTest::newRow("best 8-bit point") << pts({{8.0039, 48}, {8.25, 49.5}, {4.25, 24}, {16, inf}}) << 1
                                          << -0.169949284556898 << 23.912450368561598;
        // Nothing near 8 bits: the most bits (4.5), tie broken by the higher SQNR (p2, 26).
        // offset = 26 - 6.020599913279624 * 4.5 = 26 - 27.092699609758308 = -1.092699609758308
        // at 4 bits: 24.082399653118496 - 1.092699609758308 = 22.989700043360188
        QTest::newRow("fallback: most bits") << pts({{4.5, 25}, {2.5, 12}, {4.5, 26}, {3, qnan}}) << 2
                                             << -1.092699609758308 << 22.989700043360188;
        // Equal SQNR inside the window: the lower index. offset = 40 - 48.164799306236992.
        QTest::newRow("tie: lower index") << pts({{8, 40}, {7.9, 40.0}}) << 0 << -8.164799306236992
                                          << 15.917600346881504;
        QTest::newRow("nothing finite") << pts({{8, inf}, {4, qnan}}) << -1 << 0.0 << 24.082399653118496;
    }
    void referenceLine()
    {
        QFETCH(Points, points);
        QFETCH(int, anchor);
        QFETCH(double, offset);
        QFETCH(double, at4);
        const auto line = charts::referenceLine(points);
        QCOMPARE(line.anchor, anchor);
        QVERIFY2(std::abs(line.offset - offset) < 1e-12, qPrintable(QString::number(line.offset, 'g', 17)));
        QVERIFY2(std::abs(line.at(4) - at4) < 1e-12, qPrintable(QString::number(line.at(4), 'g', 17)));
        if (anchor >= 0) // the line passes through its anchor
            QVERIFY(std::abs(line.at(points[size_t(anchor)].bitsPerWeight) - points[size_t(anchor)].sqnrDb) < 1e-12);
    }

    void sqnrDisplayRange()
    {
        // Finite SQNR 20 .. 40: floor 20 - 6.020599913279624, ceiling 40 + 6.020599913279624.
        const auto r = charts::sqnrDisplayRange(pts({{4, 20}, {8, inf}, {2, -inf}, {6, 40}, {3, qnan}}));
        QCOMPARE(r.floor, 13.979400086720376);
        QCOMPARE(r.ceiling, 46.020599913279624);
        QCOMPARE(r.clamp(inf), 46.020599913279624);
        QCOMPARE(r.clamp(-inf), 13.979400086720376);
        QCOMPARE(r.clamp(25.5), 25.5);
        QVERIFY(std::isnan(r.clamp(qnan)));
        const auto none = charts::sqnrDisplayRange(pts({{8, inf}}));
        QCOMPARE(none.floor, 0.0);
        QCOMPARE(none.ceiling, 100.0);
    }

    void nearestPoint_data()
    {
        QTest::addColumn<double>("x");
        QTest::addColumn<double>("y");
        QTest::addColumn<int>("index");
        // Points at (10,10), (20,10), (30,10), (NaN,10); radius 5.
        QTest::newRow("distance 4") << 14.0 << 10.0 << 0;
        QTest::newRow("equidistant at the radius: lower index") << 15.0 << 10.0 << 0;
        QTest::newRow("3-4-5 triangle to p2") << 26.0 << 13.0 << 2;
        QTest::newRow("just outside") << 25.1 << 14.1 << -1;
        QTest::newRow("far") << 50.0 << 50.0 << -1;
    }
    void nearestPoint()
    {
        QFETCH(double, x);
        QFETCH(double, y);
        QFETCH(int, index);
        QCOMPARE(charts::nearestPoint({10, 20, 30, qnan}, {10, 10, 10, 10}, x, y, 5), index);
    }

    void delimitedField_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("separator");
        QTest::addColumn<QString>("field");
        QTest::newRow("plain") << "int4 g128" << "," << "int4 g128";
        QTest::newRow("comma") << "a,b" << "," << "\"a,b\"";
        QTest::newRow("quote") << "say \"hi\"" << "," << "\"say \"\"hi\"\"\"";
        QTest::newRow("newline") << "a\nb" << "," << "\"a\nb\"";
        QTest::newRow("tab in CSV") << "a\tb" << "," << "a\tb";
        QTest::newRow("tab in TSV") << "a\tb" << "\t" << "\"a\tb\"";
    }
    void delimitedField()
    {
        QFETCH(QString, text);
        QFETCH(QString, separator);
        QFETCH(QString, field);
        QCOMPARE(charts::delimitedField(text, separator.at(0)), field);
    }
};

QTEST_GUILESS_MAIN(TestViewMathCharts)
#include "tst_viewmath_charts.moc"
