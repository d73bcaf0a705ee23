#include "planmodel.h"

#include "modeltreemodel.h" // formatBytes

#include <QColor>
#include <QFont>
#include <QUndoCommand>
#include <QUndoStack>

#include <cmath>

namespace qs::app {

namespace {

/// One edit of the plan; the stack applies it (redo) when it is pushed.
class PlanEditCommand : public QUndoCommand {
public:
    PlanEditCommand(PlanModel* model, quant::Plan before, quant::Plan after, const QString& text)
        : QUndoCommand(text), m_model(model), m_before(std::move(before)), m_after(std::move(after))
    {
    }
    void redo() override { m_model->setPlan(m_after); }
    void undo() override { m_model->setPlan(m_before); }

private:
    PlanModel* m_model;
    quant::Plan m_before, m_after;
};

bool clears(const std::string& text) { return text.empty() || text == "default"; }

/// The override that matches `name` last, or null.
const quant::PlanOverride* lastMatch(const quant::Plan& plan, const std::string& name)
{
    const quant::PlanOverride* last = nullptr;
    for (const auto& o : plan.overrides)
        if (quant::globMatch(o.match, name)) last = &o;
    return last;
}

QString sqnrText(const quant::TensorReport& r)
{
    if (r.failed) return QObject::tr("failed");
    if (!r.quantized) return {};
    if (std::isinf(r.metrics.sqnrDb) && r.metrics.sqnrDb > 0) return QObject::tr("exact");
    return QString::number(r.metrics.sqnrDb, 'f', 2);
}

} // namespace

core::Result<quant::Plan> planWithTensorEdit(const quant::Plan& plan, const std::string& tensor, PlanField field,
                                             const std::string& text)
{
    quant::Plan out = plan;
    quant::PlanOverride o;
    o.match = tensor;
    for (size_t i = out.overrides.size(); i-- > 0;) {
        if (out.overrides[i].match != tensor) continue;
        o = out.overrides[i];
        out.overrides.erase(out.overrides.begin() + std::ptrdiff_t(i));
        break;
    }
    if (field == PlanField::Scheme && text == "skip") {
        o = quant::PlanOverride{tensor, std::nullopt, std::nullopt, std::nullopt, true};
    } else if (field == PlanField::Scheme) {
        o.skip = false;
        o.scheme.reset();
        if (!clears(text)) {
            auto s = quant::parseScheme(text);
            if (!s) return s.error();
            o.scheme = *s;
        }
    } else {
        o.method.reset();
        if (!clears(text)) {
            auto m = quant::parseMethod(text);
            if (!m) return m.error();
            o.method = *m;
            o.skip = false;
        }
    }
    if (o.skip || o.scheme || o.method || o.clip) out.overrides.push_back(std::move(o));
    return out;
}

PlanModel::PlanModel(QObject* parent) : QAbstractTableModel(parent)
{
    m_plan.scheme = *quant::parseScheme("int8");
}

void PlanModel::setModel(std::shared_ptr<const core::Model> model)
{
    beginResetModel();
    m_model = std::move(model);
    m_report.reset();
    m_reportRows.clear();
    endResetModel();
}

void PlanModel::setPlan(const quant::Plan& plan)
{
    m_plan = plan;
    resetResults();
    if (rowCount() > 0) emit dataChanged(index(0, Scheme), index(rowCount() - 1, ColumnCount - 1));
    emit planChanged();
}

void PlanModel::editPlan(const quant::Plan& after, const QString& text)
{
    if (after == m_plan) return; // nothing a plan file would show changed
    if (m_undo)
        m_undo->push(new PlanEditCommand(this, m_plan, after, text));
    else
        setPlan(after);
}

void PlanModel::resetResults()
{
    m_report.reset();
    m_reportRows.clear();
}

void PlanModel::setReport(const quant::ModelReport& report)
{
    m_report = report;
    m_reportRows.assign(size_t(rowCount()), -1);
    for (size_t i = 0; i < report.tensors.size(); ++i) {
        for (int r = 0; r < rowCount(); ++r)
            if (m_model->tensors[size_t(r)].name == report.tensors[i].name) m_reportRows[size_t(r)] = int(i);
    }
    if (rowCount() > 0) emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

const quant::TensorReport* PlanModel::reportRow(int row) const
{
    if (!m_report || row < 0 || size_t(row) >= m_reportRows.size() || m_reportRows[size_t(row)] < 0) return nullptr;
    return &m_report->tensors[size_t(m_reportRows[size_t(row)])];
}

const core::TensorInfo* PlanModel::tensor(int row) const
{
    if (!m_model || row < 0 || size_t(row) >= m_model->tensors.size()) return nullptr;
    return &m_model->tensors[size_t(row)];
}

int PlanModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() || !m_model ? 0 : int(m_model->tensors.size());
}

int PlanModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString PlanModel::plannedStatus(const core::TensorInfo& t) const
{
    if (t.shape.size() < 2) return tr("kept (rank %1)").arg(t.shape.size());
    if (!core::isWeightTensor(t)) return tr("kept (helper constant)");
    return m_plan.choiceFor(t.name) ? tr("planned") : tr("skipped by plan");
}

QVariant PlanModel::display(int row, int column) const
{
    const auto& t = *tensor(row);
    const auto* r = reportRow(row);
    const bool weight = core::isWeightTensor(t);
    const auto choice = weight ? m_plan.choiceFor(t.name) : std::nullopt;
    switch (column) {
    case Name: return QString::fromStdString(t.name);
    case Scheme: return !weight ? QString() : choice ? QString::fromStdString(choice->scheme.spec()) : tr("skip");
    case Method: return choice ? QString::fromStdString(std::string(quant::methodName(choice->method))) : QString();
    case Status: return r ? QString::fromStdString(r->status) : plannedStatus(t);
    case Bits: return r && r->quantized ? QString::number(r->bitsPerWeight, 'f', 3) : QString();
    case Bytes:
        return r && r->quantized ? widgets::formatBytes(r->bytesBefore) + " → " + widgets::formatBytes(r->bytesAfter)
                                 : widgets::formatBytes(t.bytes);
    case Sqnr: return r ? sqnrText(*r) : QString();
    default: return {};
    }
}

QVariant PlanModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
    const int row = index.row(), column = index.column();
    const auto& t = *tensor(row);
    if (role == Qt::DisplayRole || role == Qt::EditRole) return display(row, column);
    const auto* override = core::isWeightTensor(t) ? lastMatch(m_plan, t.name) : nullptr;
    if (role == Qt::FontRole && override && (column == Scheme || column == Method)) {
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    if (role == Qt::ToolTipRole && (column == Scheme || column == Method) && core::isWeightTensor(t))
        return override ? tr("Override \"%1\" (edit to change; \"default\" removes it, \"skip\" skips the tensor)")
                              .arg(QString::fromStdString(override->match))
                        : tr("The plan's default (edit to override it for this tensor)");
    const auto* r = reportRow(row);
    if (role == Qt::ToolTipRole && column == Status && r) return QString::fromStdString(r->status);
    if (role == Qt::ForegroundRole && r && r->failed) return QColor(Qt::red);
    if (role == Qt::TextAlignmentRole && column >= Bits) return int(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant PlanModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[] = {"Tensor", "Scheme", "Method", "Status", "Bits/weight", "Bytes", "SQNR (dB)"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

Qt::ItemFlags PlanModel::flags(const QModelIndex& index) const
{
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid)) return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsSelectable | Qt::ItemIsEnabled;
    if ((index.column() == Scheme || index.column() == Method) && core::isWeightTensor(*tensor(index.row())))
        f |= Qt::ItemIsEditable;
    return f;
}

bool PlanModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (role != Qt::EditRole || !checkIndex(index, CheckIndexOption::IndexIsValid) || !(flags(index) & Qt::ItemIsEditable))
        return false;
    const auto& t = *tensor(index.row());
    const PlanField field = index.column() == Scheme ? PlanField::Scheme : PlanField::Method;
    auto edited = planWithTensorEdit(m_plan, t.name, field, value.toString().trimmed().toStdString());
    if (!edited) {
        emit editRefused(QString::fromStdString(edited.error().message));
        return false;
    }
    editPlan(*edited, tr("%1 of %2: %3").arg(field == PlanField::Scheme ? tr("Scheme") : tr("Method"),
                                             QString::fromStdString(t.name), value.toString()));
    return true;
}

} // namespace qs::app
