#pragma once
/// Palette colours for the workbench charts (outlier channels, trade-off), so that they follow
/// the system's light or dark palette: call applyChartPalette from the constructor and again on
/// QEvent::PaletteChange / ApplicationPaletteChange.
#include <QColor>
#include <QPalette>

class QCustomPlot;

namespace qs::widgets {

/// True when the palette's window is darker than its text (a dark theme).
bool isDarkPalette(const QPalette& palette);

/// Background from Base, axes, ticks and labels from WindowText, grid from Mid, legend on Base.
void applyChartPalette(QCustomPlot* plot, const QPalette& palette);

/// Series colours that read on both palettes: `role` 0 normal, 1 warning (flagged), 2 accent
/// (kept / A), 3 second accent (sparse / B), 4 muted (reference lines).
QColor chartColor(const QPalette& palette, int role);

} // namespace qs::widgets
