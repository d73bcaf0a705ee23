// The quantization panel: its settings become the scheme strings the engine parses, every
// change is emitted once, and options that do not apply are disabled.
#include "gui/quantpanel.h"
#include "gui/workbench.h"

#include "quant/scheme.h"

#include <QComboBox>
#include <QSignalSpy>
#include <QSpinBox>
#include <QWheelEvent>
#include <QtTest>

using namespace qs;

class TestQuantPanel : public QObject {
    Q_OBJECT
private slots:
    void specs_data()
    {
        QTest::addColumn<QString>("format");
        QTest::addColumn<int>("bits");
        QTest::addColumn<QString>("granularity");
        QTest::addColumn<int>("group");
        QTest::addColumn<bool>("asym");
        QTest::addColumn<QString>("rounding");
        QTest::addColumn<QString>("spec");
        QTest::newRow("int8 channel") << "int" << 8 << "channel" << 128 << false << "rne" << "int8";
        QTest::newRow("int4 g128 asym") << "int" << 4 << "group" << 128 << true << "rne" << "int4:g128:asym";
        QTest::newRow("int3 tensor away") << "int" << 3 << "tensor" << 128 << false << "away" << "int3:tensor:away";
        QTest::newRow("int2 inchannel stochastic") << "int" << 2 << "inchannel" << 64 << false << "stochastic" << "int2:inchannel:stochastic";
        QTest::newRow("fp8 tensor") << "fp8_e4m3" << 8 << "tensor" << 128 << true << "away" << "fp8_e4m3:tensor";
        QTest::newRow("fp8 group") << "fp8_e5m2" << 8 << "group" << 32 << false << "rne" << "fp8_e5m2:g32";
        QTest::newRow("mxfp4 ignores int options") << "mxfp4" << 4 << "group" << 64 << true << "stochastic" << "mxfp4";
        QTest::newRow("nf4 g32") << "nf4" << 4 << "channel" << 32 << false << "rne" << "nf4:g32";
        QTest::newRow("nf4 default block") << "nf4" << 4 << "channel" << 64 << false << "rne" << "nf4";
        QTest::newRow("q4_k") << "q4_k" << 4 << "group" << 32 << true << "away" << "q4_k";
    }
    void specs()
    {
        QFETCH(QString, format);
        QFETCH(int, bits);
        QFETCH(QString, granularity);
        QFETCH(int, group);
        QFETCH(bool, asym);
        QFETCH(QString, rounding);
        QFETCH(QString, spec);
        app::QuantSettings s;
        s.format = format;
        s.bits = bits;
        s.granularity = granularity;
        s.groupSize = group;
        s.asymmetric = asym;
        s.rounding = rounding;
        QCOMPARE(app::specOf(s), spec);
        // The engine reads it, and writes it back the same way.
        auto parsed = quant::parseScheme(spec.toStdString());
        QVERIFY2(parsed, parsed ? "" : parsed.error().message.c_str());
        QCOMPARE(QString::fromStdString(parsed->spec()), spec);
    }
    void settingsFromSpecIsTheInverse()
    {
        // Every scheme the trade-off chart offers comes back to the same spelling, so clicking
        // a point sets the panel to exactly that scheme.
        for (const QString& spec : app::tradeoffSchemes()) {
            const auto s = app::settingsFromSpec(spec);
            QVERIFY2(s, qPrintable(spec));
            QCOMPARE(app::specOf(*s), spec);
        }
        QVERIFY(!app::settingsFromSpec("int9"));
    }
    void clipStrings()
    {
        app::QuantSettings s;
        QCOMPARE(app::clipOf(s), QString("minmax"));
        s.clip = "percentile";
        s.percentile = 99.5;
        QCOMPARE(app::clipOf(s), QString("p99.5"));
        s.clip = "mse";
        QCOMPARE(app::clipOf(s), QString("mse"));
    }
    void changesAreEmittedOnceAndIrrelevantOptionsDisabled()
    {
        app::QuantPanel panel;
        QSignalSpy changed(&panel, &app::QuantPanel::settingsChanged);
        panel.bitsBox()->setValue(4);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(app::specOf(changed.last().at(0).value<app::QuantSettings>()), QString("int4"));
        panel.granularityBox()->setCurrentText("group");
        QCOMPARE(changed.count(), 2);
        QCOMPARE(app::specOf(panel.settings()), QString("int4:g128"));
        QVERIFY(panel.groupBox()->isEnabled());
        panel.formatBox()->setCurrentText("nvfp4");
        QCOMPARE(changed.count(), 3);
        QVERIFY(!panel.bitsBox()->isEnabled());
        QVERIFY(!panel.granularityBox()->isEnabled());
        // setSettings shows without emitting.
        panel.setSettings(app::QuantSettings{});
        QCOMPARE(changed.count(), 3);
        QCOMPARE(app::specOf(panel.settings()), QString("int8"));
    }

    void wheelScrollsPastControlsUntilOneIsFocused()
    {
        // The panel lives in a scroll area: a wheel over a combo box it passes must not change
        // the scheme; once the user clicked the combo box (focus), the wheel steps it.
        app::QuantPanel panel;
        panel.show();
        panel.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&panel));
        QSignalSpy changed(&panel, &app::QuantPanel::settingsChanged);
        QComboBox* format = panel.formatBox();
        const QString before = format->currentText();
        auto wheel = [format] {
            const QPointF at(format->width() / 2.0, format->height() / 2.0);
            QWheelEvent e(at, format->mapToGlobal(at), {}, QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
            QCoreApplication::sendEvent(format, &e);
        };
        panel.bitsBox()->setFocus(); // activation gave the first control the focus
        QTRY_VERIFY(!format->hasFocus());
        wheel();
        QCOMPARE(format->currentText(), before);
        QCOMPARE(changed.count(), 0);
        format->setFocus();
        QTRY_VERIFY(format->hasFocus());
        wheel();
        QVERIFY(format->currentText() != before);
        QCOMPARE(changed.count(), 1);
    }

    void backendChoiceKeepsItsSpec()
    {
        // Entries carry their spec ("vulkan:1"); the label is only what the list shows. A spec
        // the list does not have yet is honoured; one the new list lacks falls back, said.
        app::QuantPanel panel;
        panel.setBackends({{"reference", "reference", {}}, {"vulkan", "vulkan 0: gpu a", {}},
                           {"vulkan:1", "vulkan 1: gpu b", {}}});
        auto s = panel.settings();
        QCOMPARE(s.backend, QString("reference"));
        s.backend = "vulkan:1";
        panel.setSettings(s);
        QCOMPARE(panel.settings().backend, QString("vulkan:1"));
        QCOMPARE(panel.backendBox()->currentText(), QString("vulkan 1: gpu b"));
        s.backend = "vulkan:5";
        panel.setSettings(s);
        QCOMPARE(panel.settings().backend, QString("vulkan:5"));
        QSignalSpy changed(&panel, &app::QuantPanel::settingsChanged);
        panel.setBackends({{"reference", "reference", {}}, {"vulkan", "vulkan 0: gpu a", {}}});
        QCOMPARE(panel.settings().backend, QString("reference"));
        QCOMPARE(changed.count(), 1);
        panel.setBackendInfo("vulkan", "vulkan: Vulkan 0: gpu a");
        QCOMPARE(panel.backendBox()->itemData(1, Qt::ToolTipRole).toString(), QString("vulkan: Vulkan 0: gpu a"));
    }
};

QTEST_MAIN(TestQuantPanel)
#include "tst_quantpanel.moc"
