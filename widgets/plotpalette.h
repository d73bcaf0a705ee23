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

/// Shows the plot's legend (8 pt) in a row of its own at layout row `row` (inserted there), filled
/// column by column and wrapped after `wrap` entries, instead of inside the axis rect where it
/// would hide data.
void placeLegendInRow(QCustomPlot* plot, int row, int wrap);

/// Writes `text` to `path` (UTF-8). Returns false and sets `error` naming the file on failure.
bool writeTextFile(const QString& path, const QString& text, QString* error);

} // namespace qs::widgets
