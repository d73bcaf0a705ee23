#pragma once
/// The quantization panel: the format and its options, clipping, method and its options,
/// calibration and backend for the selected layer. Every change emits settingsChanged at once
/// (the workbench recomputes live); options that do not apply to the chosen format or method
/// are disabled, with a tooltip saying why. "Pin as B" keeps the current settings as scheme B.
#include "quantsettings.h"

#include <QList>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace qs::app {

class QuantPanel : public QWidget {
    Q_OBJECT
public:
    explicit QuantPanel(QWidget* parent = nullptr);

    QuantSettings settings() const;
    /// Shows `s` without emitting settingsChanged.
    void setSettings(const QuantSettings& s);
    /// One entry of the backend choice: `spec` is what QuantSettings::backend holds
    /// ("reference", "vulkan", "vulkan:1"; backends::parseBackendSpec), `label` what the list
    /// shows, `about` its tooltip.
    struct BackendItem {
        QString spec;
        QString label;
        QString about;
    };
    /// The backends (and devices) the user may choose; the current choice stays when it is
    /// still listed.
    void setBackends(const QList<BackendItem>& items);
    /// The text under the controls: B's scheme, or an error from the last recompute.
    void setStatus(const QString& text);
    /// Shows what backend `spec` runs on (its device, or why it fell back) as the backend
    /// choice's tooltip.
    void setBackendInfo(const QString& spec, const QString& about);

    QComboBox* formatBox() const { return m_format; }
    QSpinBox* bitsBox() const { return m_bits; }
    QComboBox* granularityBox() const { return m_granularity; }
    QComboBox* groupBox() const { return m_group; }
    QComboBox* methodBox() const { return m_method; }
    QComboBox* backendBox() const { return m_backend; }

signals:
    void settingsChanged(const qs::app::QuantSettings& settings);
    void pinRequested();
    void unpinRequested();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void build();
    void updateEnabled();
    void emitChanged();

    bool m_quiet = false;
    QComboBox *m_format, *m_granularity, *m_group, *m_rounding, *m_clip, *m_method, *m_calibration, *m_backend;
    QSpinBox *m_bits, *m_syntheticRows, *m_gptqBlock, *m_awqGrid;
    QCheckBox *m_asym, *m_saturate, *m_doubleQuant, *m_actOrder;
    QDoubleSpinBox *m_percentile, *m_threshold, *m_alpha, *m_damp, *m_spqr;
    QLineEdit* m_calibrationFile;
    QPushButton *m_pin, *m_unpin;
    QLabel* m_status;
};

} // namespace qs::app
