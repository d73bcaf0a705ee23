#pragma once
/// Colours a QCustomPlot from a widget palette (background, axes, tick labels, grid, legend,
/// text elements), so the workbench plots follow the system's light or dark palette.
#include <QPalette>
#include <QString>

class QCustomPlot;

namespace qs::widgets {

/// Applies `palette` to the plot's background, every axis, grid, legend and text element.
/// Series colours are left to the plot class. Does not replot.
void applyPlotPalette(QCustomPlot* plot, const QPalette& palette);

/// Writes `text` to `path` (UTF-8). Returns false and sets `error` naming the file on failure.
bool writeTextFile(const QString& path, const QString& text, QString* error);

} // namespace qs::widgets
