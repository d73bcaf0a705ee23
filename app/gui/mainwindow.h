#pragma once
/// The model browser: a filterable tree of layers and tensors on the left; statistics, the
/// value histogram and the per-channel absmax of the selected tensor on the right. Opening a
/// model and computing statistics run on a worker pool, tracked per kind (JobTracker): a
/// result is dropped only when a newer job of its own kind has started, so selecting a tensor
/// while a model opens never drops the open.
#include "jobtracker.h"
#include "quantsettings.h"
#include "theme.h"
#include "workbench.h"

#include "core/progress.h"
#include "core/stats.h"
#include "core/tensor.h"

#include "backends/backend.h"

#include <QMainWindow>
#include <QThreadPool>

#include <memory>
#include <optional>

class QActionGroup;
class QCheckBox;
class QDockWidget;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTreeView;

namespace qs::widgets {
class ChannelPlot;
class HistogramPlot;
class ModelTreeModel;
class TensorFilterProxy;
class QuantHistogramPlot;
class ErrorHeatmap;
class MetricsTable;
class TradeoffChart;
class StatsPanel;
} // namespace qs::widgets

namespace qs::app {

class QuantPanel;
class PlanPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Opens a model in the background; errors go to a dialog (and errorShown).
    void openFile(const QString& path);
    /// Selects a tensor by name once it is in the tree (now, or when the model has loaded).
    void selectTensor(const QString& name);

    const core::Model* model() const { return m_model.get(); }
    widgets::StatsPanel* statsPanel() const { return m_statsPanel; }
    widgets::HistogramPlot* histogramPlot() const { return m_histogram; }
    widgets::ChannelPlot* channelPlot() const { return m_channels; }
    QTreeView* treeView() const { return m_tree; }
    QLineEdit* filterEdit() const { return m_filter; }
    QCheckBox* weightsOnlyBox() const { return m_weightsOnly; }
    QString totalsText() const;
    Workbench* workbench() const { return m_workbench; }
    QuantPanel* quantPanel() const { return m_quantPanel; }
    PlanPanel* planPanel() const { return m_planPanel; }
    widgets::MetricsTable* metricsTable() const { return m_metrics; }
    widgets::QuantHistogramPlot* quantHistogram() const { return m_quantHistogram; }
    widgets::ErrorHeatmap* errorHeatmap() const { return m_heatmap; }
    widgets::TradeoffChart* tradeoffChart() const { return m_tradeoffChart; }
    QStringList recentFiles() const;
    /// Applies and remembers the colour theme (View > Theme; `quantscope --theme`).
    void setTheme(Theme theme);
    bool isBusy() const;

signals:
    void modelLoaded(const QString& path);
    void statsShown(const QString& tensor);
    void errorShown(const QString& message);
    /// The workbench panels show a new result.
    void workbenchUpdated();
    /// The backend choice lists the devices found (or says why there are none).
    void devicesListed();

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildUi();
    void buildMenus();
    // Window layout, theme and the tree's columns (mainwindow_layout.cpp).
    void restoreLayout();
    void saveLayout();
    void buildThemeMenu();
    void showTreeColumnMenu(const QPoint& pos);
    void setDefaultDockSizes();
    void rebuildRecentMenu();
    void showError(const QString& message);
    /// Shows the latest running job (label and progress) in the status bar, or hides the bar.
    void showJobs();
    void cancelJobs();

    void onModelOpened(std::shared_ptr<const core::Model> model, const QString& path);
    void onCurrentChanged();
    void startStats(int tensorIndex);
    void onStatsDone(int tensorIndex, core::Result<core::TensorStats> result);
    void updateHistogram();

    // The workbench docks (mainwindow_workbench.cpp).
    QDockWidget* addDock(const QString& title, const QString& objectName, QWidget* widget, Qt::DockWidgetArea area);
    void buildWorkbench();
    /// Lists the Vulkan devices off the GUI thread, then shows them in the backend choice.
    void listDevices();
    void showDevices(const core::Result<backends::DeviceList>& list);
    void buildExportMenu();
    void selectLayer(int tensorIndex);
    void showWorkbenchResult(Slot slot);
    void showQuantHistogram(const LayerResult& a, const quant::Matrix& w);
    void showTradeoff();
    void updateChannels();
    void selectTradeoffPoints();
    QString elementText(int64_t r, int64_t c) const;
    void buildPlanDock(); // mainwindow_plan.cpp

    void openDialog();
    void openFolderDialog();
    void exportHistogram();
    void exportStatistics();

    std::shared_ptr<const core::Model> m_model;
    widgets::ModelTreeModel* m_treeModel = nullptr;
    widgets::TensorFilterProxy* m_proxy = nullptr;
    QCheckBox* m_weightsOnly = nullptr;
    QTreeView* m_tree = nullptr;
    QLineEdit* m_filter = nullptr;
    QSplitter* m_splitter = nullptr;
    widgets::StatsPanel* m_statsPanel = nullptr;
    widgets::HistogramPlot* m_histogram = nullptr;
    widgets::ChannelPlot* m_channels = nullptr;
    QComboBox* m_channelAxis = nullptr;
    QSpinBox* m_bins = nullptr;
    QComboBox* m_scale = nullptr;
    QCheckBox* m_logCounts = nullptr;
    QLabel* m_totals = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_cancel = nullptr;
    QMenu* m_recentMenu = nullptr;

    QMenu* m_viewMenu = nullptr;
    QMenu* m_fileMenu = nullptr;
    QActionGroup* m_themeActions = nullptr;
    Workbench* m_workbench = nullptr;
    QuantPanel* m_quantPanel = nullptr;
    PlanPanel* m_planPanel = nullptr;
    widgets::QuantHistogramPlot* m_quantHistogram = nullptr;
    widgets::ErrorHeatmap* m_heatmap = nullptr;
    widgets::MetricsTable* m_metrics = nullptr;
    widgets::TradeoffChart* m_tradeoffChart = nullptr;
    std::optional<QuantSettings> m_pinned; ///< scheme B
    int64_t m_selectedRow = 0;             ///< the row the quantized histogram shows

    QThreadPool m_pool;
    JobTracker m_jobs;
    /// The backend engine work goes to (backends/backend.h); the reference for now.
    std::unique_ptr<backends::Backend> m_backend;
    int m_statsTensor = -1;
    std::optional<core::TensorStats> m_stats;
    QString m_pendingSelection;
};

} // namespace qs::app
