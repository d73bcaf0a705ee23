#pragma once
/// The statistics of one tensor as a two-column form; values are selectable text.
#include "core/stats.h"
#include "core/tensor.h"

#include <QWidget>

#include <map>

class QLabel;

namespace qs::widgets {

class StatsPanel : public QWidget {
    Q_OBJECT
public:
    explicit StatsPanel(QWidget* parent = nullptr);

    void setStats(const core::TensorInfo& tensor, const core::TensorStats& stats);
    /// Shows a message instead of values ("computing...", an error, "unsupported type").
    void setMessage(const QString& message);

    /// The text shown for a field: "count", "min", "max", "mean", "std", "absmax", "nan",
    /// "inf", "zeros", "kurtosis", "tensor".
    QString value(const QString& field) const;

private:
    std::map<QString, QLabel*> m_values;
};

/// Six significant digits; "n/a" for NaN.
QString formatNumber(double v);

} // namespace qs::widgets
