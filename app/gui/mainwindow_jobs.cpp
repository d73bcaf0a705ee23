// MainWindow: the background jobs (open a model, compute statistics) and what their results do.
#include "mainwindow.h"
#include "planpanel.h"

#include "recentfiles.h"

#include "channelplot.h"
#include "histogramplot.h"
#include "modeltreemodel.h"
#include "tensorfilterproxy.h"
#include "statspanel.h"

#include "io/modelreader.h"

#include <QComboBox>
#include <QFileInfo>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QStatusBar>
#include <QTreeView>

#include <algorithm>
#include <climits>
#include <map>

namespace qs::app {

void MainWindow::cancelJobs()
{
    m_jobs.cancelAll(); // whatever is still running reports to nobody
    showJobs();
}

bool MainWindow::isBusy() const { return m_jobs.anyRunning(); }

void MainWindow::showJobs()
{
    const auto kind = m_jobs.latestRunning();
    if (!kind) {
        m_progress->setVisible(false);
        m_cancel->setVisible(false);
        return;
    }
    if (statusBar()->currentMessage() != m_jobs.label(*kind)) statusBar()->showMessage(m_jobs.label(*kind));
    const int permille = m_jobs.progress(*kind);
    m_progress->setRange(0, permille < 0 ? 0 : 1000); // 0..0: a busy indicator
    m_progress->setValue(std::max(permille, 0));
    m_progress->setVisible(true);
    m_cancel->setVisible(true);
}

void MainWindow::openFile(const QString& path)
{
    const auto ticket = m_jobs.start(JobKind::Open, tr("Opening %1...").arg(path));
    showJobs();
    const uint64_t generation = ticket.generation;
    m_pool.start([this, path, generation] {
        auto result = io::openModel(path.toStdString());
        QMetaObject::invokeMethod(this, [this, path, generation, r = std::move(result)]() mutable {
            if (!m_jobs.finish(JobKind::Open, generation)) return; // a newer open, or cancelled
            showJobs();
            if (!r) return showError(QString::fromStdString(r.error().message));
            onModelOpened(std::make_shared<const core::Model>(std::move(*r)), path);
        }, Qt::QueuedConnection);
    });
}

namespace {

/// The first weight tensor in the order the tree shows (graph order where known).
const core::TensorInfo* firstWeightTensor(const core::Model& m)
{
    const core::TensorInfo* best = nullptr;
    for (const auto& t : m.tensors) {
        if (!t.readable() || !core::isWeightTensor(t)) continue;
        const auto order = [](const core::TensorInfo* x) { return x->graphOrder < 0 ? INT64_MAX : x->graphOrder; };
        if (!best || order(&t) < order(best)) best = &t;
    }
    return best;
}

QString totalsFor(const core::Model& m)
{
    std::map<std::string, int> dtypes;
    for (const auto& t : m.tensors) ++dtypes[t.readable() ? std::string(core::dtypeName(t.dtype)) : t.typeName];
    QStringList parts;
    for (const auto& [name, n] : dtypes) parts << QString("%1 x %2").arg(n).arg(QString::fromStdString(name));
    return QObject::tr("%1 tensors, %2 parameters, %3; %4")
        .arg(m.tensors.size())
        .arg(widgets::formatCount(m.totalParameters()), widgets::formatBytes(m.totalBytes()), parts.join(", "));
}

} // namespace

void MainWindow::onModelOpened(std::shared_ptr<const core::Model> model, const QString& path)
{
    m_jobs.cancel(JobKind::Stats); // statistics of the previous model's tensors
    showJobs();
    m_model = std::move(model);
    m_stats.reset();
    m_statsTensor = -1;
    m_treeModel->setModel(m_model);
    m_planPanel->setModel(m_model);
    m_tree->expandToDepth(1);
    m_totals->setText(totalsFor(*m_model));
    m_statsPanel->setMessage(tr("Select a tensor"));
    m_histogram->clear();
    m_channels->setChannels({}, QString());
    setWindowTitle(QString("Quantscope - %1 (%2)").arg(QFileInfo(path).fileName(), QString::fromStdString(m_model->format)));
    RecentFiles().add(path);
    rebuildRecentMenu();
    statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
    emit modelLoaded(path);
    if (!m_pendingSelection.isEmpty()) {
        selectTensor(m_pendingSelection);
    } else if (const auto* first = firstWeightTensor(*m_model)) {
        selectTensor(QString::fromStdString(first->name)); // every panel shows something at once
    }
}

void MainWindow::selectTensor(const QString& name)
{
    const QModelIndex source = m_treeModel->indexOfTensor(name);
    if (!source.isValid()) {
        m_pendingSelection = name; // not loaded yet
        return;
    }
    m_pendingSelection.clear();
    const QModelIndex index = m_proxy->mapFromSource(source);
    m_tree->scrollTo(index);
    m_tree->setCurrentIndex(index);
}

void MainWindow::onCurrentChanged()
{
    const int tensor = m_tree->currentIndex().data(widgets::ModelTreeModel::TensorIndexRole).toInt();
    if (tensor < 0 || !m_model || tensor == m_statsTensor) return;
    startStats(tensor);
    selectLayer(tensor);
}

void MainWindow::startStats(int tensorIndex)
{
    m_jobs.cancel(JobKind::Stats); // selecting another tensor abandons the previous computation
    showJobs();
    m_statsTensor = tensorIndex;
    m_stats.reset();
    const auto& t = m_model->tensors[size_t(tensorIndex)];
    if (!t.readable()) {
        m_statsPanel->setMessage(tr("%1: unsupported type %2").arg(QString::fromStdString(t.name), QString::fromStdString(t.typeName)));
        m_histogram->clear();
        return;
    }
    m_statsPanel->setMessage(tr("computing..."));
    const auto ticket = m_jobs.start(JobKind::Stats, tr("Statistics of %1...").arg(QString::fromStdString(t.name)));
    const uint64_t generation = ticket.generation;
    auto job = ticket.progress;
    m_jobs.setProgress(JobKind::Stats, generation, 0);
    showJobs();
    auto lastPermille = std::make_shared<std::atomic<int>>(-1);
    job->report = [this, generation, lastPermille](uint64_t done, uint64_t total) {
        const int permille = total ? int(done * 1000 / total) : 1000;
        if (lastPermille->exchange(permille) == permille) return; // post only visible changes
        QMetaObject::invokeMethod(this, [this, generation, permille] {
            m_jobs.setProgress(JobKind::Stats, generation, permille);
            if (m_jobs.latestRunning() == JobKind::Stats) showJobs();
        }, Qt::QueuedConnection);
    };
    auto model = m_model; // keeps the tensors (and their mapping) alive while the job runs
    m_pool.start([this, model, tensorIndex, generation, job] {
        auto result = m_backend->statistics(model->tensors[size_t(tensorIndex)], {}, job.get());
        QMetaObject::invokeMethod(this, [this, tensorIndex, generation, r = std::move(result)]() mutable {
            if (m_jobs.finish(JobKind::Stats, generation)) onStatsDone(tensorIndex, std::move(r));
        }, Qt::QueuedConnection);
    });
}

void MainWindow::onStatsDone(int tensorIndex, core::Result<core::TensorStats> result)
{
    showJobs();
    const auto& t = m_model->tensors[size_t(tensorIndex)];
    if (!result) {
        m_statsPanel->setMessage(tr("no statistics"));
        return showError(QString::fromStdString(result.error().message));
    }
    m_stats = std::move(*result);
    m_statsPanel->setStats(t, *m_stats);
    updateHistogram();
    statusBar()->showMessage(tr("Statistics of %1 done").arg(QString::fromStdString(t.name)), 5000);
    emit statsShown(QString::fromStdString(t.name));
}

void MainWindow::updateHistogram()
{
    if (!m_stats || !m_model || m_statsTensor < 0) return;
    const auto& s = *m_stats;
    const auto scale = m_scale->currentIndex() == 1 ? core::HistogramScale::SymLog : core::HistogramScale::Linear;
    const bool any = s.count > s.nan + s.inf;
    const auto h = s.fine.rebin(m_bins->value(), scale, any ? s.min : 0, any ? s.max : 0);
    const auto& t = m_model->tensors[size_t(m_statsTensor)];
    m_histogram->setHistogram(h, QString::fromStdString(t.name) + " values");
    updateChannels();
}

} // namespace qs::app
