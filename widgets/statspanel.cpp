#include "statspanel.h"

#include <QFormLayout>
#include <QLabel>

#include <cmath>

namespace qs::widgets {

namespace {

const char* const kFields[] = {"tensor", "count", "min", "max", "mean", "std",
                               "absmax", "kurtosis", "nan", "inf", "zeros"};

const char* tooltipFor(const QString& field)
{
    if (field == "std") return "population standard deviation (ddof = 0) of the finite values";
    if (field == "kurtosis") return "Fisher's excess kurtosis m4/m2^2 - 3 of the finite values: 0 for a Gaussian, large for heavy tails";
    if (field == "count") return "every element, NaN and Inf included";
    if (field == "zeros") return "+0 and -0";
    return "over finite values (NaN and Inf are counted, then excluded)";
}

} // namespace

QString formatNumber(double v)
{
    return std::isnan(v) ? QString("n/a") : QString::number(v, 'g', 6);
}

StatsPanel::StatsPanel(QWidget* parent) : QWidget(parent)
{
    auto* form = new QFormLayout(this);
    for (const char* f : kFields) {
        auto* label = new QLabel(this);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
        label->setToolTip(tooltipFor(f));
        form->addRow(QString(f) + ":", label);
        m_values.emplace(f, label);
    }
    setMessage(tr("Select a tensor"));
}

void StatsPanel::setStats(const core::TensorInfo& t, const core::TensorStats& s)
{
    m_values["tensor"]->setText(QString::fromStdString(t.name));
    m_values["count"]->setText(QString::number(s.count));
    m_values["min"]->setText(formatNumber(s.min));
    m_values["max"]->setText(formatNumber(s.max));
    m_values["mean"]->setText(formatNumber(s.mean));
    m_values["std"]->setText(formatNumber(s.std));
    m_values["absmax"]->setText(formatNumber(s.absmax));
    m_values["kurtosis"]->setText(formatNumber(s.kurtosis));
    m_values["nan"]->setText(QString::number(s.nan));
    m_values["inf"]->setText(QString::number(s.inf));
    m_values["zeros"]->setText(QString::number(s.zeros));
}

void StatsPanel::setMessage(const QString& message)
{
    for (auto& [field, label] : m_values) label->setText(field == "tensor" ? message : QString());
}

QString StatsPanel::value(const QString& field) const
{
    const auto it = m_values.find(field);
    return it == m_values.end() ? QString() : it->second->text();
}

} // namespace qs::widgets
