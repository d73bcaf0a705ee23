// MainWindow: the remembered layout (geometry, docks, splitter, the tree's columns), the first
// run's layout, the colour theme and the tree's column menu.
#include "mainwindow.h"

#include "modeltreemodel.h"

#include <QAction>
#include <QActionGroup>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDockWidget>
#include <QGuiApplication>
#include <QHeaderView>
#include <QMenu>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTreeView>

namespace qs::app {

namespace {

using Col = widgets::ModelTreeModel::Column;

/// Columns a first run hides (the header's menu shows them): the op is the group the layer
/// sits in, and parameters and bytes are in the totals line; this leaves the quantized state
/// (scheme, bits, SQNR) in view beside the names.
constexpr Col kHiddenAtFirst[] = {Col::Op, Col::Parameters, Col::Size};

QDockWidget* dockNamed(const QMainWindow* w, const QString& objectName)
{
    for (auto* d : w->findChildren<QDockWidget*>())
        if (d->objectName() == objectName) return d;
    return nullptr;
}

} // namespace

void MainWindow::restoreLayout()
{
    QSettings s;
    setTheme(themeFromKey(s.value("view/theme").toString()));
    const bool remembered = restoreGeometry(s.value("window/geometry").toByteArray());
    if (!remembered) {
        // 1500 x 950, or nine tenths of a smaller screen.
        QSize size(1500, 950);
        if (const QScreen* screen = QGuiApplication::primaryScreen())
            size = size.boundedTo(screen->availableGeometry().size() * 0.9);
        resize(size);
    }
    if (!restoreState(s.value("window/state").toByteArray())) setDefaultDockSizes();
    if (!m_splitter->restoreState(s.value("window/splitter").toByteArray()))
        m_splitter->setSizes({520, 780});
    QHeaderView* header = m_tree->header();
    if (!header->restoreState(s.value("window/treeHeader").toByteArray())) {
        for (Col c : kHiddenAtFirst) header->hideSection(int(c));
        m_tree->setColumnWidth(int(Col::Name), 200);
        for (Col c : {Col::DType, Col::Bits}) m_tree->setColumnWidth(int(c), 48);
        for (Col c : {Col::Shape, Col::Scheme, Col::Sqnr}) m_tree->setColumnWidth(int(c), 76);
    }
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this, &MainWindow::showTreeColumnMenu,
            Qt::UniqueConnection);
    m_bins->setValue(s.value("view/bins", 128).toInt());
    m_logCounts->setChecked(s.value("view/logCounts", false).toBool());
}

void MainWindow::setDefaultDockSizes()
{
    // The scheme controls get most of the right column, the metrics table the rest; the plots
    // along the bottom get about a third of the height.
    QDockWidget* quant = dockNamed(this, "dock.quantization");
    QDockWidget* metrics = dockNamed(this, "dock.metrics");
    QDockWidget* heat = dockNamed(this, "dock.heatmap");
    if (quant && metrics) resizeDocks({quant, metrics}, {620, 300}, Qt::Vertical);
    if (quant) resizeDocks({quant}, {330}, Qt::Horizontal);
    if (heat) resizeDocks({heat}, {height() / 3}, Qt::Vertical);
}

void MainWindow::saveLayout()
{
    QSettings s;
    s.setValue("window/geometry", saveGeometry());
    s.setValue("window/state", saveState());
    s.setValue("window/splitter", m_splitter->saveState());
    s.setValue("window/treeHeader", m_tree->header()->saveState());
    s.setValue("view/bins", m_bins->value());
    s.setValue("view/logCounts", m_logCounts->isChecked());
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    saveLayout();
    cancelJobs();
    QMainWindow::closeEvent(event);
}

void MainWindow::showTreeColumnMenu(const QPoint& pos)
{
    QHeaderView* header = m_tree->header();
    QMenu menu(this);
    for (int c = 1; c < m_treeModel->columnCount(); ++c) { // the name column always shows
        QAction* a = menu.addAction(m_treeModel->headerData(c, Qt::Horizontal).toString());
        a->setCheckable(true);
        a->setChecked(!header->isSectionHidden(c));
        connect(a, &QAction::toggled, header, [header, c](bool on) { header->setSectionHidden(c, !on); });
    }
    menu.exec(header->viewport()->mapToGlobal(pos));
}

void MainWindow::buildThemeMenu()
{
    QMenu* menu = m_viewMenu->addMenu(tr("&Theme"));
    m_themeActions = new QActionGroup(this);
    const std::pair<Theme, QString> themes[] = {
        {Theme::System, tr("&System")}, {Theme::Light, tr("&Light")}, {Theme::Dark, tr("&Dark")}};
    for (const auto& [theme, label] : themes) {
        QAction* a = menu->addAction(label);
        a->setCheckable(true);
        a->setData(themeKey(theme));
        m_themeActions->addAction(a);
        connect(a, &QAction::triggered, this, [this, theme] { setTheme(theme); });
    }
}

void MainWindow::setTheme(Theme theme)
{
    applyTheme(theme);
    QSettings().setValue("view/theme", themeKey(theme));
    if (!m_themeActions) return;
    for (QAction* a : m_themeActions->actions()) a->setChecked(a->data().toString() == themeKey(theme));
}

} // namespace qs::app
