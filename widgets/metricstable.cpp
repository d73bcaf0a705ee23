#include "metricstable.h"

#include "plotpalette.h"

#include "viewmath_charts.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QColor>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLocale>

#include <cmath>

namespace qs::widgets {

namespace {

using Metric = MetricsModel::Metric;

bool isText(Metric m) { return m == MetricsModel::Scheme || m == MetricsModel::Method; }
bool higherIsBetter(Metric m) { return m == MetricsModel::Sqnr || m == MetricsModel::Cosine; }

QString grouped(qlonglong v)
{
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions); // keep the thousands separators
    return c.toString(v);
}

QString signedText(double d, const QString& magnitude) { return d > 0 ? "+" + magnitude : magnitude; }

QString formatValue(Metric m, double v)
{
    if (std::isnan(v)) return "n/a";
    if (std::isinf(v)) return v > 0 ? (m == MetricsModel::Sqnr ? "+Inf (exact)" : "+Inf") : "-Inf";
    switch (m) {
    case MetricsModel::Sqnr: return QString::number(v, 'f', 2);
    case MetricsModel::Cosine: return QString::number(v, 'f', 6);
    case MetricsModel::BitsPerWeight: return QString::number(v, 'f', 3);
    case MetricsModel::Bytes: return grouped(qlonglong(v));
    default: return QString::number(v, 'g', 4);
    }
}

QString formatDifference(Metric m, double d)
{
    if (std::isnan(d)) return "n/a";
    if (d == 0) return "0";
    if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
    switch (m) {
    case MetricsModel::Sqnr: return signedText(d, QString::number(d, 'f', 2));
    case MetricsModel::BitsPerWeight: return signedText(d, QString::number(d, 'f', 3));
    case MetricsModel::Bytes: return signedText(d, grouped(qlonglong(d)));
    default: return signedText(d, QString::number(d, 'g', 3));
    }
}

} // namespace

MetricsModel::MetricsModel(QObject* parent) : QAbstractTableModel(parent) {}

void MetricsModel::setRows(const MetricsRow& a, const std::optional<MetricsRow>& b)
{
    beginResetModel();
    m_a = a;
    m_b = b;
    m_metrics = {Scheme, Method, Sqnr, Mse, Rmse, MaxAbsErr, Cosine, RelFro, BitsPerWeight, Bytes};
    if (a.outputError || (b && b->outputError)) m_metrics.push_back(OutputError);
    endResetModel();
}

void MetricsModel::clear()
{
    beginResetModel();
    m_a.reset();
    m_b.reset();
    m_metrics.clear();
    endResetModel();
}

int MetricsModel::metricAt(int row) const
{
    return row >= 0 && size_t(row) < m_metrics.size() ? int(m_metrics[size_t(row)]) : -1;
}

int MetricsModel::rowOf(Metric metric) const
{
    for (size_t r = 0; r < m_metrics.size(); ++r)
        if (m_metrics[r] == metric) return int(r);
    return -1;
}

QString MetricsModel::metricName(Metric metric)
{
    switch (metric) {
    case Scheme: return "scheme";
    case Method: return "method";
    case Sqnr: return "SQNR (dB)";
    case Mse: return "MSE";
    case Rmse: return "RMSE";
    case MaxAbsErr: return "max |err|";
    case Cosine: return "cosine";
    case RelFro: return "rel. Frobenius";
    case BitsPerWeight: return "bits per weight";
    case Bytes: return "bytes";
    case OutputError: return "output error";
    }
    return {};
}

QString MetricsModel::metricDefinition(Metric metric)
{
    switch (metric) {
    case Scheme: return "The quantization scheme: number format, bit width and granularity.";
    case Method: return "How the quantized values were chosen (RTN, GPTQ, AWQ, ...).";
    case Sqnr: return "Signal to quantization noise ratio: 10 log10(sum w^2 / sum (w - q)^2) in dB; "
                      "+Inf when the error is 0. Higher is better.";
    case Mse: return "Mean squared error: mean((w - q)^2). Lower is better.";
    case Rmse: return "Root mean squared error: sqrt(MSE). Lower is better.";
    case MaxAbsErr: return "Largest absolute error: max |w - q|. Lower is better.";
    case Cosine: return "Cosine similarity: <w, q> / (|w| |q|); 1 when both are zero. Higher is better.";
    case RelFro: return "Relative Frobenius error: ||w - q||_F / ||w||_F. Lower is better.";
    case BitsPerWeight: return "Stored bits per weight: bytes x 8 / weights, scales and zero points included. "
                               "Lower is better.";
    case Bytes: return "Bytes of every part a file stores for the tensor (codes, scales, zero points, "
                       "kept outliers). Lower is better.";
    case OutputError: return "Relative output error with the layer's activations X: "
                             "||X W^T - X Q^T||_F / ||X W^T||_F. Lower is better.";
    }
    return {};
}

std::optional<double> MetricsModel::number(const std::optional<MetricsRow>& row, Metric metric) const
{
    if (!row) return std::nullopt;
    switch (metric) {
    case Sqnr: return row->sqnrDb;
    case Mse: return row->mse;
    case Rmse: return row->rmse;
    case MaxAbsErr: return row->maxAbsErr;
    case Cosine: return row->cosine;
    case RelFro: return row->relFro;
    case BitsPerWeight: return row->bitsPerWeight;
    case Bytes: return double(row->bytes);
    case OutputError: return row->outputError;
    case Scheme:
    case Method: break;
    }
    return std::nullopt;
}

int MetricsModel::comparison(Metric metric) const
{
    const auto a = number(m_a, metric), b = number(m_b, metric);
    if (!a || !b || std::isnan(*a) || std::isnan(*b) || *a == *b) return 0;
    const bool bHigher = metric == Bytes ? m_b->bytes > m_a->bytes : *b > *a;
    return bHigher == higherIsBetter(metric) ? 1 : -1;
}

QVariant MetricsModel::rawValue(const std::optional<MetricsRow>& row, Metric metric) const
{
    if (!row) return {};
    if (metric == Scheme) return row->scheme;
    if (metric == Method) return row->method;
    if (metric == Bytes) return row->bytes;
    const auto v = number(row, metric);
    return v ? QVariant(*v) : QVariant();
}

QString MetricsModel::displayValue(const std::optional<MetricsRow>& row, Metric metric) const
{
    if (!row) return {};
    if (isText(metric)) return rawValue(row, metric).toString();
    const auto v = number(row, metric);
    return v ? formatValue(metric, *v) : QString("-");
}

QString MetricsModel::displayDifference(Metric metric) const
{
    if (isText(metric) || !m_b) return {};
    const QVariant d = data(index(rowOf(metric), DiffColumn), ValueRole);
    if (!d.isValid()) return {};
    QString text = formatDifference(metric, d.toDouble());
    if (metric == Bytes && m_a->bytes > 0 && d.toLongLong() != 0)
        text += QString(" (%1%)").arg(signedText(d.toDouble(), QString::number(d.toDouble() * 100 / double(m_a->bytes), 'f', 1)));
    return text;
}

int MetricsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_metrics.size());
}

int MetricsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant MetricsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Metric metric = m_metrics[size_t(index.row())];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        if (column == MetricColumn) return metricName(metric);
        if (column == DiffColumn) return displayDifference(metric);
        return displayValue(column == AColumn ? m_a : m_b, metric);
    case Qt::ToolTipRole:
        if (column == DiffColumn && !isText(metric) && m_b)
            return "B - A. " + metricDefinition(metric) + " Green: B is better; red: B is worse.";
        return metricDefinition(metric);
    case Qt::TextAlignmentRole:
        return QVariant::fromValue(column == MetricColumn || isText(metric) ? Qt::AlignLeft | Qt::AlignVCenter
                                                                             : Qt::AlignRight | Qt::AlignVCenter);
    case Qt::BackgroundRole: {
        const int c = comparison(metric);
        if (column != DiffColumn || c == 0) return {};
        return c > 0 ? QColor(40, 170, 80, 80) : QColor(220, 60, 50, 80);
    }
    case ValueRole:
        if (column == MetricColumn) return metricName(metric);
        if (column != DiffColumn) return rawValue(column == AColumn ? m_a : m_b, metric);
        if (isText(metric) || !number(m_a, metric) || !number(m_b, metric)) return {};
        if (metric == Bytes) return qlonglong(m_b->bytes) - qlonglong(m_a->bytes);
        return *number(m_a, metric) == *number(m_b, metric) ? 0.0 : *number(m_b, metric) - *number(m_a, metric);
    case ComparisonRole: return comparison(metric);
    case MetricRole: return int(metric);
    default: return {};
    }
}

QVariant MetricsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Vertical || section < 0 || section >= ColumnCount) return {};
    if (role == Qt::DisplayRole) {
        static const char* names[] = {"metric", "A", "B", "B - A"};
        return QString(names[section]);
    }
    if (role == Qt::ToolTipRole && section == DiffColumn)
        return QString("B minus A; green when B is better, red when it is worse");
    return {};
}

QString MetricsModel::toDelimited(QChar separator) const
{
    QString out;
    for (int c = 0; c < ColumnCount; ++c)
        out += (c ? QString(separator) : QString()) + headerData(c, Qt::Horizontal).toString();
    out += '\n';
    for (int r = 0; r < rowCount(); ++r) {
        for (int c = 0; c < ColumnCount; ++c) {
            const QVariant v = data(index(r, c), ValueRole);
            QString text;
            if (v.typeId() == QMetaType::Double) text = QString::number(v.toDouble(), 'g', QLocale::FloatingPointShortest);
            else if (v.isValid()) text = v.toString();
            out += (c ? QString(separator) : QString()) + charts::delimitedField(text, separator);
        }
        out += '\n';
    }
    return out;
}

MetricsTable::MetricsTable(QWidget* parent) : QTableView(parent), m_model(new MetricsModel(this))
{
    setModel(m_model);
    verticalHeader()->hide();
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents); // compact rows
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setAlternatingRowColors(true);
    setWordWrap(false);
    auto* csv = new QAction(tr("Copy as CSV"), this);
    auto* tsv = new QAction(tr("Copy as TSV"), this);
    connect(csv, &QAction::triggered, this, &MetricsTable::copyAsCsv);
    connect(tsv, &QAction::triggered, this, &MetricsTable::copyAsTsv);
    addAction(csv);
    addAction(tsv);
    setContextMenuPolicy(Qt::ActionsContextMenu);
}

void MetricsTable::setRows(const MetricsRow& a, const std::optional<MetricsRow>& b)
{
    m_model->setRows(a, b);
    setColumnHidden(MetricsModel::BColumn, !b);
    setColumnHidden(MetricsModel::DiffColumn, !b);
}

void MetricsTable::clear() { m_model->clear(); }

void MetricsTable::copyAsCsv() { QApplication::clipboard()->setText(m_model->toDelimited(',')); }

void MetricsTable::copyAsTsv() { QApplication::clipboard()->setText(m_model->toDelimited('\t')); }

void MetricsTable::keyPressEvent(QKeyEvent* event)
{
    if (event->matches(QKeySequence::Copy)) {
        copyAsTsv();
        event->accept();
        return;
    }
    QTableView::keyPressEvent(event);
}

bool MetricsTable::exportCsv(const QString& path, QString* error) const
{
    return writeTextFile(path, m_model->toDelimited(','), error);
}

} // namespace qs::widgets
