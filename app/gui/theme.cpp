#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace qs::app {

namespace {

struct StartTheme {
    QString style;
    QPalette palette;
};

const StartTheme& startTheme()
{
    static const StartTheme start{QApplication::style()->name(), QApplication::palette()};
    return start;
}

/// Fusion's colour roles for a dark or a light window.
QPalette fixedPalette(bool dark)
{
    const QColor window = dark ? QColor(45, 45, 48) : QColor(239, 239, 239);
    const QColor base = dark ? QColor(30, 30, 32) : QColor(255, 255, 255);
    const QColor text = dark ? QColor(230, 230, 230) : QColor(20, 20, 20);
    const QColor button = dark ? QColor(56, 56, 60) : QColor(239, 239, 239);
    const QColor disabled = dark ? QColor(128, 128, 128) : QColor(150, 150, 150);
    QPalette p;
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, dark ? QColor(40, 40, 43) : QColor(245, 245, 245));
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, dark ? QColor(90, 160, 255) : QColor(0, 90, 200));
    p.setColor(QPalette::Highlight, dark ? QColor(42, 110, 200) : QColor(48, 140, 198));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Mid, dark ? QColor(70, 70, 74) : QColor(190, 190, 190));
    p.setColor(QPalette::Dark, dark ? QColor(25, 25, 27) : QColor(160, 160, 160));
    p.setColor(QPalette::Light, dark ? QColor(75, 75, 80) : QColor(255, 255, 255));
    p.setColor(QPalette::Shadow, Qt::black);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabled);
    return p;
}

} // namespace

QString themeKey(Theme theme)
{
    switch (theme) {
    case Theme::Light: return QStringLiteral("light");
    case Theme::Dark: return QStringLiteral("dark");
    case Theme::System: break;
    }
    return QStringLiteral("system");
}

Theme themeFromKey(const QString& key)
{
    if (key == QLatin1String("light")) return Theme::Light;
    if (key == QLatin1String("dark")) return Theme::Dark;
    return Theme::System;
}

void applyTheme(Theme theme)
{
    const StartTheme& start = startTheme();
    if (theme == Theme::System) {
        if (QStyle* style = QStyleFactory::create(start.style)) QApplication::setStyle(style);
        QApplication::setPalette(start.palette);
        return;
    }
    if (QStyle* fusion = QStyleFactory::create(QStringLiteral("Fusion"))) QApplication::setStyle(fusion);
    QApplication::setPalette(fixedPalette(theme == Theme::Dark));
}

} // namespace qs::app
