#pragma once
/// The metrics of A and B side by side (MetricsModel, shown by MetricsTable): one row per metric,
/// columns metric | A | B | B - A. The difference cell is tinted green when B is better and red
/// when it is worse (higher SQNR and cosine are better; lower errors, bits and bytes are better).
/// Every row's tooltip states the metric's definition (engine/quant/metrics.h). The table copies
/// itself as CSV or TSV with numbers in their shortest exact form (Ctrl+C gives TSV, for spreadsheets).
#include <QAbstractTableModel>
#include <QTableView>

#include <optional>

namespace qs::widgets {

/// One scheme's numbers, filled by the app from the engine's ErrorMetrics and stored size.
struct MetricsRow {
    QString scheme, method;
    double sqnrDb = 0, mse = 0, rmse = 0, maxAbsErr = 0, cosine = 1, relFro = 0, bitsPerWeight = 0;
    qulonglong bytes = 0;
    std::optional<double> outputError; ///< relative output error, when activations exist
};

class MetricsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { MetricColumn, AColumn, BColumn, DiffColumn, ColumnCount };
    enum Metric { Scheme, Method, Sqnr, Mse, Rmse, MaxAbsErr, Cosine, RelFro, BitsPerWeight, Bytes, OutputError };
    enum Role {
        ValueRole = Qt::UserRole + 1, ///< the raw value: QString, double or qulonglong; invalid when absent
        ComparisonRole,               ///< int on every cell of a row: +1 B better, -1 B worse, 0 equal or n/a
        MetricRole,                   ///< int Metric of the row
    };

    explicit MetricsModel(QObject* parent = nullptr);

    /// Shows A and, when given, B. The output-error row appears when A or B has one.
    void setRows(const MetricsRow& a, const std::optional<MetricsRow>& b = std::nullopt);
    void clear();
    bool hasA() const { return m_a.has_value(); }
    bool hasB() const { return m_b.has_value(); }

    /// The metric shown in a row, or -1.
    int metricAt(int row) const;
    /// The row showing a metric, or -1 (the output error is absent without data).
    int rowOf(Metric metric) const;
    static QString metricName(Metric metric);
    static QString metricDefinition(Metric metric);
    /// +1 when B is better, -1 worse, 0 equal, not comparable or not numeric.
    int comparison(Metric metric) const;

    /// Header line plus one line per row, `separator` between fields, numbers in their shortest exact form.
    QString toDelimited(QChar separator) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::optional<double> number(const std::optional<MetricsRow>& row, Metric metric) const;
    QVariant rawValue(const std::optional<MetricsRow>& row, Metric metric) const;
    QString displayValue(const std::optional<MetricsRow>& row, Metric metric) const;
    QString displayDifference(Metric metric) const;

    std::optional<MetricsRow> m_a, m_b;
    std::vector<Metric> m_metrics;
};

class MetricsTable : public QTableView {
    Q_OBJECT
public:
    explicit MetricsTable(QWidget* parent = nullptr);

    void setRows(const MetricsRow& a, const std::optional<MetricsRow>& b = std::nullopt);
    void clear();
    MetricsModel* metricsModel() const { return m_model; }

    /// Writes the table as CSV (MetricsModel::toDelimited(',')). Returns false with a reason.
    bool exportCsv(const QString& path, QString* error = nullptr) const;

public slots:
    void copyAsCsv();
    void copyAsTsv();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    MetricsModel* m_model;
};

} // namespace qs::widgets
