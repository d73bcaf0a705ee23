#include "planpanel.h"

#include "layererrorchart.h"
#include "modeltreemodel.h" // formatBytes

#include "io/modelreader.h"
#include "pipeline/save.h"
#include "quant/calibration.h"

#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QUndoStack>
#include <QVBoxLayout>

#include <atomic>
#include <cmath>

namespace qs::app {

PlanPanel::PlanPanel(QWidget* parent)
    : QWidget(parent), m_table(new PlanModel(this)), m_undo(new QUndoStack(this))
{
    m_pool.setMaxThreadCount(1);
    m_table->setUndoStack(m_undo);
    auto* layout = new QVBoxLayout(this);
    buildFields();
    buildButtons();
    m_view = new QTableView;
    m_view->setModel(m_table);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_chart = new widgets::LayerErrorChart;
    auto* split = new QSplitter(Qt::Horizontal); // the table beside its chart
    split->addWidget(m_view);
    split->addWidget(m_chart);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    m_totals = new QLabel;
    m_totals->setWordWrap(true);
    m_totals->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_totals);
    layout->addWidget(split, 1);
    connect(m_table, &PlanModel::planChanged, this, [this] {
        syncFields();
        m_totals->setText(totalsText());
        m_chart->clear();
    });
    connect(m_table, &PlanModel::editRefused, this, [this](const QString& m) { setStatus(m, true); });
    syncFields();
    m_totals->setText(totalsText());
    updateButtons();
}

PlanPanel::~PlanPanel()
{
    cancel();
    m_pool.waitForDone();
}

void PlanPanel::buildFields()
{
    m_scheme = new QLineEdit;
    m_scheme->setToolTip(tr("The default scheme: int8, int4:g128, nf4, fp8_e4m3, mxfp4, q4_k, ..."));
    m_method = new QComboBox;
    for (const char* m : {"rtn", "gptq", "awq", "smoothquant", "llm.int8", "spqr"}) m_method->addItem(m);
    m_clip = new QComboBox;
    m_clip->setEditable(true);
    m_clip->addItems({"minmax", "mse", "p99.9", "p99.99"});
    m_clip->setToolTip(tr("Clipping: minmax, mse, or pNN (a percentile of |x|)"));
    m_synthetic = new QSpinBox;
    m_synthetic->setRange(0, 4096);
    m_synthetic->setSpecialValueText(tr("none"));
    m_synthetic->setToolTip(tr("Synthetic activation rows made per tensor for methods that need calibration "
                               "(GPTQ, AWQ, SmoothQuant, LLM.int8, SpQR); as the CLI's --synthetic"));
    auto* row = new QHBoxLayout; // one line: the dock sits in the wide bottom area
    row->addWidget(new QLabel(tr("Default scheme")));
    row->addWidget(m_scheme, 2);
    row->addWidget(new QLabel(tr("Method")));
    row->addWidget(m_method, 1);
    row->addWidget(new QLabel(tr("Clip")));
    row->addWidget(m_clip, 1);
    row->addWidget(new QLabel(tr("Calibration rows")));
    row->addWidget(m_synthetic);
    static_cast<QVBoxLayout*>(layout())->addLayout(row);
    connect(m_scheme, &QLineEdit::editingFinished, this, [this] { editDefault(PlanField::Scheme); });
    connect(m_method, &QComboBox::activated, this, [this] { editDefault(PlanField::Method); });
    connect(m_clip, &QComboBox::activated, this, [this] { editClip(); });
    connect(m_clip->lineEdit(), &QLineEdit::editingFinished, this, [this] { editClip(); });
}

void PlanPanel::buildButtons()
{
    m_apply = new QPushButton(tr("Apply"));
    m_apply->setToolTip(tr("Quantize every weight tensor under the plan and measure it"));
    m_cancel = new QPushButton(tr("Cancel"));
    auto* load = new QPushButton(tr("Load plan..."));
    auto* save = new QPushButton(tr("Save plan..."));
    m_saveModel = new QPushButton(tr("Save quantized model..."));
    auto* undo = m_undo->createUndoAction(this, tr("Undo"));
    auto* redo = m_undo->createRedoAction(this, tr("Redo"));
    undo->setShortcut(QKeySequence::Undo);
    redo->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence::Redo});
    for (QAction* a : {undo, redo}) {
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(a);
    }
    auto* row = new QHBoxLayout;
    for (QPushButton* b : {m_apply, m_cancel, load, save, m_saveModel}) row->addWidget(b);
    row->addStretch(1);
    m_progress = new QProgressBar;
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    m_progress->setMaximumHeight(10);
    m_status = new QLabel;
    m_status->setWordWrap(true);
    auto* main = static_cast<QVBoxLayout*>(layout());
    main->addLayout(row);
    main->addWidget(m_progress);
    main->addWidget(m_status);
    connect(m_apply, &QPushButton::clicked, this, &PlanPanel::apply);
    connect(m_cancel, &QPushButton::clicked, this, &PlanPanel::cancel);
    connect(load, &QPushButton::clicked, this, &PlanPanel::loadPlanDialog);
    connect(save, &QPushButton::clicked, this, &PlanPanel::savePlanDialog);
    connect(m_saveModel, &QPushButton::clicked, this, &PlanPanel::saveModelDialog);
}

void PlanPanel::setModel(std::shared_ptr<const core::Model> model)
{
    cancel();
    m_model = std::move(model);
    m_table->setModel(m_model);
    m_view->resizeColumnToContents(PlanModel::Name);
    m_chart->clear();
    m_totals->setText(totalsText());
    setStatus(m_model ? tr("%n tensors; edit the default or a tensor's cells, then Apply", nullptr,
                           int(m_model->tensors.size()))
                      : QString());
    updateButtons();
}

void PlanPanel::syncFields()
{
    const auto& p = plan();
    QSignalBlocker a(m_scheme), b(m_method), c(m_clip);
    m_scheme->setText(QString::fromStdString(p.scheme.spec()));
    m_method->setCurrentText(QString::fromStdString(std::string(quant::methodName(p.method))));
    m_clip->setEditText(QString::fromStdString(quant::clipSpec(p.options.range)));
}

void PlanPanel::editDefault(PlanField field)
{
    quant::Plan next = plan();
    if (field == PlanField::Scheme) {
        auto s = quant::parseScheme(m_scheme->text().trimmed().toStdString());
        if (!s) {
            setStatus(QString::fromStdString(s.error().message), true);
            return syncFields();
        }
        next.scheme = *s;
    } else {
        next.method = *quant::parseMethod(m_method->currentText().toStdString()); // the combo holds valid names
    }
    m_table->editPlan(next, field == PlanField::Scheme ? tr("Default scheme %1").arg(m_scheme->text())
                                                       : tr("Default method %1").arg(m_method->currentText()));
}

void PlanPanel::editClip()
{
    auto clip = quant::parseClip(m_clip->currentText().trimmed().toStdString());
    if (!clip) {
        setStatus(QString::fromStdString(clip.error().message), true);
        return syncFields();
    }
    quant::Plan next = plan();
    next.options.range = *clip;
    m_table->editPlan(next, tr("Default clip %1").arg(m_clip->currentText()));
}

void PlanPanel::setSyntheticRows(int rows) { m_synthetic->setValue(rows); }

QString PlanPanel::statusText() const { return m_status->text(); }

void PlanPanel::setStatus(const QString& text, bool error)
{
    m_status->setText(text);
    m_status->setStyleSheet(error ? "color: #c0392b;" : QString());
}

void PlanPanel::updateButtons()
{
    m_apply->setEnabled(m_model && !isRunning());
    m_saveModel->setEnabled(m_model && !isRunning());
    m_cancel->setEnabled(isRunning());
    m_progress->setVisible(isRunning());
}

QString PlanPanel::totalsText() const
{
    const auto& r = m_table->report();
    if (!r) return m_model ? tr("Totals appear after Apply.") : tr("Open a model to plan its quantization.");
    QString text = tr("%1 → %2, %3 bits per weight on average (all %4 parameters)")
                       .arg(widgets::formatBytes(r->bytesBefore), widgets::formatBytes(r->bytesAfter))
                       .arg(r->averageBits, 0, 'f', 3)
                       .arg(widgets::formatCount(r->parameters));
    const uint64_t measured = r->quantizedParameters;
    if (measured == 0) return text + tr("; nothing quantized");
    text += tr("; SQNR %1 dB, parameter-weighted over the quantized tensors").arg(r->weightedSqnrDb, 0, 'f', 2);
    if (r->exactTensors) text += tr(" (%n exact, left out)", nullptr, int(r->exactTensors));
    if (r->failedTensors) text += tr("; %n failed", nullptr, int(r->failedTensors));
    return text;
}

core::Status PlanPanel::savePlanTo(const QString& path) const
{
    auto text = quant::planToJson(plan());
    if (!text) return core::Error{text.error().code, path.toStdString() + ": " + text.error().message};
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        f.write(text->data(), qint64(text->size())) != qint64(text->size()) || !f.flush())
        return core::Error{core::ErrorCode::Io, path.toStdString() + ": cannot write the plan: " + f.errorString().toStdString()};
    return {};
}

core::Status PlanPanel::loadPlanFrom(const QString& path)
{
    auto loaded = quant::loadPlan(path.toStdString());
    if (!loaded) return loaded.error();
    int unmatched = 0;
    for (const auto& o : loaded->overrides) {
        bool any = false;
        for (const auto& t : m_model ? m_model->tensors : std::vector<core::TensorInfo>{})
            any = any || quant::globMatch(o.match, t.name);
        unmatched += any ? 0 : 1;
    }
    m_table->editPlan(*loaded, tr("Load %1").arg(QFileInfo(path).fileName()));
    setStatus(tr("Loaded %1 (%n overrides", nullptr, int(loaded->overrides.size())).arg(path) +
              (m_model && unmatched ? tr("; %n match no tensor of this model)", nullptr, unmatched) : QString(")")));
    return {};
}

void PlanPanel::cancel()
{
    if (!m_running) return;
    m_running->cancelRequested = true;
    setStatus(tr("Cancelling..."));
}

void PlanPanel::apply() { startJob(Job::Apply, {}); }

void PlanPanel::saveModelTo(const QString& path) { startJob(Job::Save, path); }

void PlanPanel::startJob(Job job, const QString& path)
{
    if (!m_model) return setStatus(tr("Open a model first."), true);
    cancel(); // its result will be stale (the generation moves on)
    const uint64_t generation = ++m_generation;
    auto progress = std::make_shared<core::Progress>();
    auto shown = std::make_shared<std::atomic<int>>(-1);
    progress->report = [this, generation, shown](uint64_t done, uint64_t total) {
        const int permille = total ? int(done * 1000 / total) : 0;
        if (shown->exchange(permille) == permille) return; // post only changes
        QMetaObject::invokeMethod(this, [this, generation, permille] {
            if (generation == m_generation) m_progress->setValue(permille);
        }, Qt::QueuedConnection);
    };
    m_running = progress;
    m_jobPlan = plan();
    m_progress->setValue(0);
    setStatus(job == Job::Apply ? tr("Quantizing the model...") : tr("Saving %1...").arg(path));
    updateButtons();
    quant::ApplyOptions options;
    if (const int rows = m_synthetic->value(); rows > 0)
        options.calibFor = [rows](const core::TensorInfo&, int64_t in) -> core::Result<std::optional<quant::Calibration>> {
            return std::optional<quant::Calibration>(quant::syntheticCalibration(rows, in, 1));
        };
    m_pool.start([this, generation, job, path, model = m_model, plan = plan(), options, progress] {
        core::Result<quant::ModelReport> result = core::Error{};
        QString reopened;
        if (job == Job::Apply) {
            result = quant::applyPlan(*model, plan, progress.get(), options);
        } else {
            result = pipeline::saveQuantizedModel(*model, plan, path.toStdString(), options, progress.get());
            if (result) { // open it back with our own reader, as the CLI does
                auto back = io::openModel(path.toStdString());
                reopened = back ? tr("%n tensors; opened back", nullptr, int(back->tensors.size()))
                                : tr("saved, but it does not open back: %1").arg(QString::fromStdString(back.error().message));
            }
        }
        QMetaObject::invokeMethod(this, [this, generation, job, path, result = std::move(result), reopened]() mutable {
            onJobDone(generation, job, path, std::move(result), reopened);
        }, Qt::QueuedConnection);
    });
}

void PlanPanel::onJobDone(uint64_t generation, Job job, const QString& path, core::Result<quant::ModelReport> result,
                          const QString& reopened)
{
    if (generation != m_generation) return; // a newer job replaced it
    m_running.reset();
    updateButtons();
    if (!result) {
        const bool cancelled = result.error().code == core::ErrorCode::Cancelled;
        setStatus(cancelled ? tr("Cancelled; the plan was not applied.") : QString::fromStdString(result.error().message),
                  !cancelled);
        emit jobFinished(false);
        return;
    }
    if (job == Job::Apply && !(m_jobPlan == plan())) {
        setStatus(tr("The plan changed while it was applied; Apply again to measure it."));
        emit jobFinished(false);
        return;
    }
    showReport(*result);
    const bool clean = result->failedTensors == 0 && !reopened.contains("not open");
    if (job == Job::Apply)
        setStatus(clean ? tr("Applied to %n tensors.", nullptr, int(result->tensors.size()))
                        : tr("Applied; %n tensors failed (see their status).", nullptr, int(result->failedTensors)),
                  !clean);
    else
        setStatus(tr("Saved %1 (%2)").arg(path, reopened), !clean);
    emit jobFinished(clean);
}

void PlanPanel::showReport(const quant::ModelReport& report)
{
    m_table->setReport(report);
    m_view->resizeColumnsToContents();
    std::vector<QString> names;
    std::vector<double> sqnr;
    for (const auto& t : report.tensors) {
        if (!t.quantized) continue;
        names.push_back(QString::fromStdString(t.name));
        sqnr.push_back(t.metrics.sqnrDb);
    }
    m_chart->setLayers(names, sqnr, report.quantizedParameters > 0 ? report.weightedSqnrDb : std::nan(""));
    m_totals->setText(totalsText());
}

void PlanPanel::loadPlanDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Load plan"), {}, tr("Plan files (*.json);;All files (*)"));
    if (path.isEmpty()) return;
    if (auto st = loadPlanFrom(path); !st) setStatus(QString::fromStdString(st.error().message), true);
}

void PlanPanel::savePlanDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Save plan"), "plan.json", tr("Plan files (*.json)"));
    if (path.isEmpty()) return;
    auto st = savePlanTo(path);
    setStatus(st ? tr("Saved the plan to %1 (quantscope-cli quantize FILE --all --plan %1)").arg(path)
                 : QString::fromStdString(st.error().message),
              !st);
}

void PlanPanel::saveModelDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Save quantized model"), {},
                                                      tr("Safetensors (*.safetensors);;GGUF (*.gguf)"));
    if (!path.isEmpty()) saveModelTo(path);
}

} // namespace qs::app
