#include "charttheme.h"


namespace qs::widgets {

bool isDarkPalette(const QPalette& palette)
{
    return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness();
}

QColor chartColor(const QPalette& palette, int role)
{
    const bool dark = isDarkPalette(palette);
    switch (role) {
    case 1: return dark ? QColor(255, 120, 70) : QColor(210, 70, 30);
    case 2: return dark ? QColor(90, 170, 255) : QColor(30, 90, 200);
    case 3: return dark ? QColor(230, 110, 230) : QColor(150, 40, 160);
    case 4: return dark ? QColor(170, 170, 170) : QColor(110, 110, 110);
    default: return dark ? QColor(110, 180, 110) : QColor(80, 140, 80);
    }
}

} // namespace qs::widgets
