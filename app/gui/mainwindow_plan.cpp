// MainWindow: the model plan dock (a default scheme with per-tensor overrides applied to the
// whole model, its totals and per-layer error, plan files and saving the quantized model).
#include "mainwindow.h"

#include "planpanel.h"

#include <QDockWidget>

namespace qs::app {

void MainWindow::buildPlanDock()
{
    m_planPanel = new PlanPanel;
    auto* dock = addDock(tr("Model plan"), "dock.plan", m_planPanel, Qt::BottomDockWidgetArea);
    // A tab beside the trade-off chart; the error heatmap stays the tab shown on first start.
    for (auto* other : findChildren<QDockWidget*>())
        if (other != dock && other->objectName() == "dock.tradeoff") tabifyDockWidget(other, dock);
    for (auto* other : findChildren<QDockWidget*>())
        if (other->objectName() == "dock.heatmap") other->raise();
}

} // namespace qs::app
