// MainWindow: layout, menus, settings, drag and drop, exports.
#include "mainwindow.h"

#include "recentfiles.h"
#include "statsexport.h"

#include "channelplot.h"
#include "histogramplot.h"
#include "modeltreemodel.h"
#include "tensorfilterproxy.h"
#include "statspanel.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTreeView>
#include <QVBoxLayout>

#include <map>

namespace qs::app {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setWindowTitle("Quantscope");
    setAcceptDrops(true);
    m_pool.setMaxThreadCount(int(kJobKinds) + 1); // one job of each kind at a time, and the device listing
    m_backend = std::move(backends::createBackend("reference").value());
    buildUi();
    buildMenus();
    buildWorkbench();
    restoreLayout();
}

MainWindow::~MainWindow()
{
    cancelJobs();
    m_pool.waitForDone();
}

void MainWindow::buildUi()
{
    m_treeModel = new widgets::ModelTreeModel(this);
    m_proxy = new widgets::TensorFilterProxy(this);
    m_proxy->setSourceModel(m_treeModel);

    m_filter = new QLineEdit;
    m_filter->setPlaceholderText(tr("Filter tensors by name, op or dtype (Ctrl+F)"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    m_weightsOnly = new QCheckBox(tr("Weights only"));
    m_weightsOnly->setToolTip(tr("Show only weight matrices and kernels: hide biases, norms and helper "
                                 "constants (shapes, indices, scalars)"));
    connect(m_weightsOnly, &QCheckBox::toggled, m_proxy, &widgets::TensorFilterProxy::setWeightsOnly);

    m_tree = new QTreeView;
    m_tree->setModel(m_proxy);
    m_tree->setSortingEnabled(true);
    m_tree->sortByColumn(-1, Qt::AscendingOrder); // file order until the user sorts
    m_tree->setUniformRowHeights(true);
    m_tree->header()->setSectionResizeMode(QHeaderView::Interactive);
    connect(m_tree->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::onCurrentChanged);

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    auto* filterRow = new QHBoxLayout;
    filterRow->addWidget(m_filter, 1);
    filterRow->addWidget(m_weightsOnly);
    leftLayout->addLayout(filterRow);
    leftLayout->addWidget(m_tree);
    m_totals = new QLabel;
    m_totals->setWordWrap(true);
    leftLayout->addWidget(m_totals);

    m_statsPanel = new widgets::StatsPanel;
    m_histogram = new widgets::HistogramPlot;
    m_channels = new widgets::ChannelPlot;
    m_bins = new QSpinBox;
    m_bins->setRange(2, 4096);
    m_bins->setValue(128);
    m_bins->setToolTip(tr("Histogram bins (re-binned from the stored fine histogram, no re-read)"));
    m_scale = new QComboBox;
    m_scale->addItems({tr("linear bins"), tr("symmetric log bins")});
    m_logCounts = new QCheckBox(tr("log counts"));
    m_channelAxis = new QComboBox;
    m_channelAxis->addItems({tr("output channels"), tr("input channels")});
    connect(m_bins, &QSpinBox::valueChanged, this, &MainWindow::updateHistogram);
    connect(m_scale, &QComboBox::currentIndexChanged, this, &MainWindow::updateHistogram);
    connect(m_channelAxis, &QComboBox::currentIndexChanged, this, &MainWindow::updateHistogram);
    connect(m_logCounts, &QCheckBox::toggled, m_histogram, &widgets::HistogramPlot::setLogCounts);

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Bins:")));
    controls->addWidget(m_bins);
    controls->addWidget(m_scale);
    controls->addWidget(m_logCounts);
    controls->addStretch();
    controls->addWidget(m_channelAxis);

    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    auto* top = new QHBoxLayout;
    top->addWidget(m_statsPanel);
    top->addWidget(m_channels, 1);
    rightLayout->addLayout(top);
    rightLayout->addLayout(controls);
    rightLayout->addWidget(m_histogram, 1);

    m_splitter = new QSplitter;
    m_splitter->addWidget(left);
    m_splitter->addWidget(right);
    m_splitter->setStretchFactor(1, 1);
    setCentralWidget(m_splitter);

    m_progress = new QProgressBar;
    m_progress->setMaximumWidth(220);
    m_progress->setVisible(false);
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setToolTip(tr("Stop the running jobs (Esc)"));
    m_cancel->setShortcut(Qt::Key_Escape);
    m_cancel->setVisible(false);
    connect(m_cancel, &QPushButton::clicked, this, &MainWindow::cancelJobs);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    m_fileMenu = file;
    file->addAction(tr("&Open..."), QKeySequence::Open, this, &MainWindow::openDialog);
    file->addAction(tr("Open &Folder..."), QKeySequence(tr("Ctrl+Shift+O")), this, &MainWindow::openFolderDialog)
        ->setToolTip(tr("Open a Hugging Face model folder (model.safetensors, or shards with their index)"));
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    file->addAction(tr("Export &Histogram..."), QKeySequence(tr("Ctrl+Shift+E")), this, &MainWindow::exportHistogram);
    file->addAction(tr("Export &Statistics..."), QKeySequence(tr("Ctrl+E")), this, &MainWindow::exportStatistics);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* view = menuBar()->addMenu(tr("&View"));
    m_viewMenu = view;
    view->addAction(tr("&Filter Tensors"), QKeySequence::Find, this, [this] { m_filter->setFocus(); m_filter->selectAll(); });
    view->addAction(tr("&Log Counts"), QKeySequence(tr("Ctrl+L")), m_logCounts, &QCheckBox::toggle);
    buildThemeMenu();
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = RecentFiles().list();
    for (int i = 0; i < files.size(); ++i) {
        const QString path = files[i];
        QAction* a = m_recentMenu->addAction(QString("&%1 %2").arg((i + 1) % 10).arg(path));
        connect(a, &QAction::triggered, this, [this, path] {
            if (!QFileInfo::exists(path)) {
                RecentFiles().remove(path);
                rebuildRecentMenu();
                showError(path + ": the file no longer exists; removed from the recent files");
                return;
            }
            openFile(path);
        });
    }
    m_recentMenu->setEnabled(!files.isEmpty());
}

QStringList MainWindow::recentFiles() const { return RecentFiles().list(); }

void MainWindow::showError(const QString& message)
{
    // Non-modal: the window stays usable, and nothing blocks a test or a background result.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Quantscope"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    statusBar()->showMessage(message, 10000);
    emit errorShown(message);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls() && event->mimeData()->urls().first().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) {
        openFile(urls.first().toLocalFile());
        event->acceptProposedAction();
    }
}

void MainWindow::openDialog()
{
    const QString dir = RecentFiles().list().value(0);
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open model"), dir.isEmpty() ? QString() : QFileInfo(dir).absolutePath(),
        tr("Models (*.safetensors *.index.json *.onnx *.gguf *.npy *.npz);;All files (*)"));
    if (!path.isEmpty()) openFile(path);
}

void MainWindow::openFolderDialog()
{
    const QString recent = RecentFiles().list().value(0);
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder"),
                                                          recent.isEmpty() ? QString() : QFileInfo(recent).absolutePath());
    if (!dir.isEmpty()) openFile(dir); // io::openModel finds the model inside
}

QString MainWindow::totalsText() const { return m_totals->text(); }

void MainWindow::exportHistogram()
{
    if (!m_stats) return showError(tr("Select a tensor first: there is no histogram to export"));
    const QString path = QFileDialog::getSaveFileName(this, tr("Export histogram"), "histogram.png",
                                                      tr("PNG (*.png);;SVG (*.svg);;PDF (*.pdf);;JPEG (*.jpg)"));
    if (path.isEmpty()) return;
    QString error;
    if (!m_histogram->exportTo(path, &error)) showError(error);
    else statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
}

void MainWindow::exportStatistics()
{
    if (!m_stats || !m_model || m_statsTensor < 0) return showError(tr("Select a tensor first: there are no statistics to export"));
    const QString path = QFileDialog::getSaveFileName(this, tr("Export statistics"), "statistics.csv",
                                                      tr("CSV (*.csv);;JSON (*.json)"));
    if (path.isEmpty()) return;
    const auto& t = m_model->tensors[size_t(m_statsTensor)];
    QSaveFile f(path);
    const QByteArray data = path.endsWith(".json", Qt::CaseInsensitive) ? statsJson(t, *m_stats) : statsCsv(t, *m_stats);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return showError(path + ": " + f.errorString());
    statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
}

} // namespace qs::app
