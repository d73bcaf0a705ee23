#pragma once
/// Series colours for the workbench charts (outlier channels, trade-off, layer errors) that read on
/// the system's light or dark palette; the plot itself is coloured by applyPlotPalette
/// (plotpalette.h), called from the constructor and again on a palette change.
#include <QColor>
#include <QPalette>

namespace qs::widgets {

/// True when the palette's window is darker than its text (a dark theme).
bool isDarkPalette(const QPalette& palette);

/// Series colours that read on both palettes: `role` 0 normal, 1 warning (flagged), 2 accent
/// (kept / A), 3 second accent (sparse / B), 4 muted (reference lines).
QColor chartColor(const QPalette& palette, int role);

} // namespace qs::widgets
