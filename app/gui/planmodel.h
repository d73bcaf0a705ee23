#pragma once
/// The whole-model plan as a table: one row per tensor of the model with the scheme and method
/// the plan gives it (the default or an override), and after a run its status, bits per weight,
/// stored bytes and SQNR. The scheme and method cells of weight tensors are editable: an edit
/// becomes an override matching that tensor's name, recorded on the undo stack when one is set.
#include "core/tensor.h"
#include "quant/plan.h"

#include <QAbstractTableModel>

#include <memory>
#include <optional>

class QUndoStack;

namespace qs::app {

enum class PlanField { Scheme, Method };

/// `plan` with the override for exactly `tensor` (match == tensor) changed: `field` set to
/// `text`, "skip" (Scheme only) skips the tensor, "" or "default" removes the field (and the
/// override once it sets nothing). The changed override moves to the end of the list so that it
/// decides the tensor (the last match wins). InvalidArgument for a scheme or method the engine
/// does not read, with its message.
core::Result<quant::Plan> planWithTensorEdit(const quant::Plan& plan, const std::string& tensor, PlanField field,
                                             const std::string& text);

class PlanModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Scheme, Method, Status, Bits, Bytes, Sqnr, ColumnCount };

    explicit PlanModel(QObject* parent = nullptr);

    /// Shows the tensors of `model` (null: none); the last run's results are dropped.
    void setModel(std::shared_ptr<const core::Model> model);
    const quant::Plan& plan() const { return m_plan; }
    /// Replaces the plan at once (the undo commands call this); drops the last run's results.
    void setPlan(const quant::Plan& plan);
    /// Records an edit: pushed on the undo stack (which applies it) when one is set, else applied.
    void editPlan(const quant::Plan& after, const QString& text);
    void setUndoStack(QUndoStack* stack) { m_undo = stack; }

    /// Shows a run's rows (matched by tensor name) and keeps the report for the totals.
    void setReport(const quant::ModelReport& report);
    const std::optional<quant::ModelReport>& report() const { return m_report; }
    /// The report row of `row`, or null before a run.
    const quant::TensorReport* reportRow(int row) const;
    const core::TensorInfo* tensor(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

signals:
    void planChanged();
    /// An edit the engine refused (a bad scheme or method); the plan is unchanged.
    void editRefused(const QString& message);

private:
    QVariant display(int row, int column) const;
    QString plannedStatus(const core::TensorInfo& t) const;
    void resetResults();

    std::shared_ptr<const core::Model> m_model;
    quant::Plan m_plan;
    std::optional<quant::ModelReport> m_report;
    std::vector<int> m_reportRows; ///< per tensor row: its index in m_report->tensors, or -1
    QUndoStack* m_undo = nullptr;
};

} // namespace qs::app
