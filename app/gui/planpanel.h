#pragma once
/// The whole-model plan panel: the default scheme, method and clip, the per-tensor table
/// (PlanModel, whose scheme and method cells override one tensor), Apply (applyPlan on a worker
/// thread with progress and Cancel), Load / Save plan (the JSON `quantscope-cli quantize --all
/// --plan` reads), Save quantized model (pipeline::saveQuantizedModel, as `--save`), undo and redo
/// of every plan edit, the run's totals and a bar chart of SQNR per quantized tensor.
#include "planmodel.h"

#include "core/progress.h"

#include <QThreadPool>
#include <QWidget>

#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QUndoStack;

namespace qs::widgets {
class LayerErrorChart;
}

namespace qs::app {

class PlanPanel : public QWidget {
    Q_OBJECT
public:
    explicit PlanPanel(QWidget* parent = nullptr);
    /// Cancels a running job and waits for it.
    ~PlanPanel() override;

    void setModel(std::shared_ptr<const core::Model> model);
    PlanModel* planModel() const { return m_table; }
    QUndoStack* undoStack() const { return m_undo; }
    const quant::Plan& plan() const { return m_table->plan(); }

    /// Quantizes the model under the plan in the background (a running job is cancelled first).
    void apply();
    /// Writes the quantized model to `path` in the background (what `--save` writes).
    void saveModelTo(const QString& path);
    void cancel();
    bool isRunning() const { return m_running != nullptr; }

    /// Writes the plan file; the error names the file.
    core::Status savePlanTo(const QString& path) const;
    /// Reads a plan file and makes it the plan (one undoable edit).
    core::Status loadPlanFrom(const QString& path);

    /// Synthetic calibration rows per tensor for methods that need activations (0: none).
    void setSyntheticRows(int rows);
    QString statusText() const;
    QString totalsText() const;
    widgets::LayerErrorChart* chart() const { return m_chart; }

signals:
    /// A job ended: applied, saved, failed or cancelled (statusText says which).
    void jobFinished(bool ok);

private:
    enum class Job { Apply, Save };
    void buildFields();
    void buildButtons();
    void syncFields();
    void editDefault(PlanField field);
    void editClip();
    void startJob(Job job, const QString& path);
    void onJobDone(uint64_t generation, Job job, const QString& path, core::Result<quant::ModelReport> result,
                   const QString& reopened);
    void showReport(const quant::ModelReport& report);
    void setStatus(const QString& text, bool error = false);
    void updateButtons();
    void loadPlanDialog();
    void savePlanDialog();
    void saveModelDialog();

    std::shared_ptr<const core::Model> m_model;
    PlanModel* m_table;
    QUndoStack* m_undo;
    QLineEdit* m_scheme = nullptr;
    QComboBox* m_method = nullptr;
    QComboBox* m_clip = nullptr;
    QSpinBox* m_synthetic = nullptr;
    QTableView* m_view = nullptr;
    QPushButton* m_apply = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_saveModel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_totals = nullptr;
    widgets::LayerErrorChart* m_chart = nullptr;

    QThreadPool m_pool;
    std::shared_ptr<core::Progress> m_running; ///< the running job's cancel flag; null when idle
    uint64_t m_generation = 0;
    quant::Plan m_jobPlan; ///< the plan the running (or last) job was started with
};

} // namespace qs::app
