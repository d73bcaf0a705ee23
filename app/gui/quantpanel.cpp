#include "quantpanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QEvent>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace qs::app {

namespace {

QComboBox* combo(const QStringList& items, const QString& tip)
{
    auto* c = new QComboBox;
    c->addItems(items);
    c->setToolTip(tip);
    return c;
}

QDoubleSpinBox* number(double lo, double hi, double step, int decimals, const QString& tip)
{
    auto* s = new QDoubleSpinBox;
    s->setRange(lo, hi);
    s->setSingleStep(step);
    s->setDecimals(decimals);
    s->setToolTip(tip);
    s->setKeyboardTracking(false);
    return s;
}

QSpinBox* integer(int lo, int hi, const QString& tip)
{
    auto* s = new QSpinBox;
    s->setRange(lo, hi);
    s->setToolTip(tip);
    s->setKeyboardTracking(false);
    return s;
}

} // namespace

QuantPanel::QuantPanel(QWidget* parent) : QWidget(parent)
{
    build();
    setSettings(QuantSettings{});
}

void QuantPanel::build()
{
    m_format = combo({"int", "fp8_e4m3", "fp8_e5m2", "mxfp4", "mxfp8", "nvfp4", "nf4", "q8_0", "q4_0", "q4_1", "q5_0",
                      "q5_1", "q4_k", "q5_k", "q6_k"},
                     tr("Number format: integer, 8-bit float, OCP microscaling, NVIDIA FP4, NormalFloat4 or a GGUF block type"));
    m_bits = integer(2, 8, tr("Integer width in bits"));
    m_granularity = combo({"tensor", "channel", "inchannel", "group"},
                          tr("One scale per tensor, per output channel (row), per input channel (column), or per group "
                             "of consecutive input channels"));
    m_group = combo({"16", "32", "64", "128", "256"}, tr("Weights per scale group (NF4: per block)"));
    m_group->setEditable(true);
    m_asym = new QCheckBox(tr("Asymmetric (zero point)"));
    m_rounding = combo({"rne", "away", "stochastic"}, tr("Round half to even, half away from zero, or stochastically"));
    m_saturate = new QCheckBox(tr("Saturate on overflow"));
    m_doubleQuant = new QCheckBox(tr("Double quantization of absmax"));
    m_clip = combo({"minmax", "mse", "percentile"}, tr("Clipping: the group's min/max, the ratio minimising MSE, or a percentile of |x|"));
    m_percentile = number(50.0, 100.0, 0.1, 3, tr("Percentile of |x| kept unclipped"));
    m_method = combo({"rtn", "gptq", "awq", "smoothquant", "llm.int8", "spqr"},
                     tr("Round to nearest, or a method that uses calibration data or outliers"));
    m_threshold = number(0.0, 1e6, 0.5, 2, tr("LLM.int8: channels whose |activation| (or |weight|) exceeds this stay in fp16"));
    m_alpha = number(0.0, 1.0, 0.05, 2, tr("SmoothQuant migration strength alpha"));
    m_damp = number(0.0, 1.0, 0.005, 4, tr("GPTQ damping: lambda = damp x mean(diag H)"));
    m_gptqBlock = integer(1, 4096, tr("GPTQ lazy-batch block size"));
    m_actOrder = new QCheckBox(tr("GPTQ act-order"));
    m_spqr = number(0.0, 100.0, 0.1, 2, tr("SpQR: percent of weights (largest error) kept in fp16"));
    m_awqGrid = integer(1, 200, tr("AWQ: alpha grid size"));
    m_calibration = combo({"none", "synthetic", "npy", "imatrix"},
                          tr("Activations for GPTQ, AWQ, SmoothQuant and the output error: none, synthetic N(0,1) "
                             "rows, a .npy of the layer's inputs, or a llama.cpp imatrix"));
    m_syntheticRows = integer(1, 1'000'000, tr("Rows of synthetic activations"));
    m_calibrationFile = new QLineEdit;
    m_calibrationFile->setPlaceholderText(tr("calibration file"));
    auto* browse = new QPushButton(tr("..."));
    browse->setToolTip(tr("Choose a .npy or imatrix file"));
    m_backend = combo({}, tr("Where the work runs: a CPU backend, or a Vulkan device"));
    m_backend->addItem("reference", "reference");
    m_pin = new QPushButton(tr("Pin as B"));
    m_pin->setToolTip(tr("Keep these settings as scheme B, compared with A in every panel (Ctrl+B)"));
    m_pin->setShortcut(QKeySequence(tr("Ctrl+B")));
    m_unpin = new QPushButton(tr("Clear B"));
    m_status = new QLabel;
    m_status->setWordWrap(true);

    auto* scheme = new QGroupBox(tr("Scheme"));
    auto* sf = new QFormLayout(scheme);
    sf->addRow(tr("Format"), m_format);
    sf->addRow(tr("Bits"), m_bits);
    sf->addRow(tr("Granularity"), m_granularity);
    sf->addRow(tr("Group size"), m_group);
    sf->addRow(m_asym);
    sf->addRow(tr("Rounding"), m_rounding);
    sf->addRow(m_saturate);
    sf->addRow(m_doubleQuant);
    sf->addRow(tr("Clipping"), m_clip);
    sf->addRow(tr("Percentile"), m_percentile);
    auto* method = new QGroupBox(tr("Method"));
    auto* mf = new QFormLayout(method);
    mf->addRow(tr("Method"), m_method);
    mf->addRow(tr("Outlier threshold"), m_threshold);
    mf->addRow(tr("Alpha"), m_alpha);
    mf->addRow(tr("Damping"), m_damp);
    mf->addRow(tr("Block"), m_gptqBlock);
    mf->addRow(m_actOrder);
    mf->addRow(tr("Outliers %"), m_spqr);
    mf->addRow(tr("AWQ grid"), m_awqGrid);
    mf->addRow(tr("Calibration"), m_calibration);
    mf->addRow(tr("Rows"), m_syntheticRows);
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(m_calibrationFile, 1);
    fileRow->addWidget(browse);
    mf->addRow(tr("File"), fileRow);
    mf->addRow(tr("Backend"), m_backend);
    auto* pins = new QHBoxLayout;
    pins->addWidget(m_pin);
    pins->addWidget(m_unpin);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(scheme);
    layout->addWidget(method);
    layout->addLayout(pins);
    layout->addWidget(m_status);
    layout->addStretch(1);

    // The panel scrolls: the wheel scrolls it unless a control has been clicked or tabbed into
    // (scrolling past a combo box must not change the scheme).
    for (QWidget* w : findChildren<QWidget*>()) {
        if (!qobject_cast<QComboBox*>(w) && !qobject_cast<QAbstractSpinBox*>(w)) continue;
        w->setFocusPolicy(Qt::StrongFocus);
        w->installEventFilter(this);
    }
    for (QComboBox* c : {m_format, m_granularity, m_rounding, m_clip, m_method, m_calibration, m_backend})
        connect(c, &QComboBox::currentTextChanged, this, &QuantPanel::emitChanged);
    connect(m_group, &QComboBox::currentTextChanged, this, &QuantPanel::emitChanged);
    for (QSpinBox* s : {m_bits, m_syntheticRows, m_gptqBlock, m_awqGrid})
        connect(s, &QSpinBox::valueChanged, this, &QuantPanel::emitChanged);
    for (QDoubleSpinBox* s : {m_percentile, m_threshold, m_alpha, m_damp, m_spqr})
        connect(s, &QDoubleSpinBox::valueChanged, this, &QuantPanel::emitChanged);
    for (QCheckBox* c : {m_asym, m_saturate, m_doubleQuant, m_actOrder})
        connect(c, &QCheckBox::toggled, this, &QuantPanel::emitChanged);
    connect(m_calibrationFile, &QLineEdit::editingFinished, this, &QuantPanel::emitChanged);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Calibration data"), {},
                                                       tr("Activations or imatrix (*.npy *.dat *.imatrix);;All files (*)"));
        if (f.isEmpty()) return;
        m_calibrationFile->setText(f);
        emitChanged();
    });
    connect(m_pin, &QPushButton::clicked, this, &QuantPanel::pinRequested);
    connect(m_unpin, &QPushButton::clicked, this, &QuantPanel::unpinRequested);
}

QuantSettings QuantPanel::settings() const
{
    QuantSettings s;
    s.format = m_format->currentText();
    s.bits = m_bits->value();
    s.granularity = m_granularity->currentText();
    bool ok = false;
    const int g = m_group->currentText().toInt(&ok);
    s.groupSize = ok && g > 0 ? g : 128;
    s.asymmetric = m_asym->isChecked();
    s.rounding = m_rounding->currentText();
    s.saturate = m_saturate->isChecked();
    s.doubleQuant = m_doubleQuant->isChecked();
    s.clip = m_clip->currentText();
    s.percentile = m_percentile->value();
    s.method = m_method->currentText();
    s.outlierThreshold = m_threshold->value();
    s.smoothAlpha = m_alpha->value();
    s.gptqDamp = m_damp->value();
    s.gptqBlock = m_gptqBlock->value();
    s.gptqActOrder = m_actOrder->isChecked();
    s.spqrPercent = m_spqr->value();
    s.awqGrid = m_awqGrid->value();
    s.calibration = m_calibration->currentText();
    s.syntheticRows = m_syntheticRows->value();
    s.calibrationFile = m_calibrationFile->text();
    s.backend = m_backend->currentData().toString();
    return s;
}

void QuantPanel::setSettings(const QuantSettings& s)
{
    m_quiet = true;
    m_format->setCurrentText(s.format);
    m_bits->setValue(s.bits);
    m_granularity->setCurrentText(s.granularity);
    m_group->setCurrentText(QString::number(s.groupSize));
    m_asym->setChecked(s.asymmetric);
    m_rounding->setCurrentText(s.rounding);
    m_saturate->setChecked(s.saturate);
    m_doubleQuant->setChecked(s.doubleQuant);
    m_clip->setCurrentText(s.clip);
    m_percentile->setValue(s.percentile);
    m_method->setCurrentText(s.method);
    m_threshold->setValue(s.outlierThreshold);
    m_alpha->setValue(s.smoothAlpha);
    m_damp->setValue(s.gptqDamp);
    m_gptqBlock->setValue(s.gptqBlock);
    m_actOrder->setChecked(s.gptqActOrder);
    m_spqr->setValue(s.spqrPercent);
    m_awqGrid->setValue(s.awqGrid);
    m_calibration->setCurrentText(s.calibration);
    m_syntheticRows->setValue(s.syntheticRows);
    m_calibrationFile->setText(s.calibrationFile);
    int backend = m_backend->findData(s.backend);
    if (backend < 0 && !s.backend.isEmpty()) { // e.g. a device the list has not shown yet: honoured
        m_backend->addItem(s.backend, s.backend);
        backend = m_backend->count() - 1;
    }
    m_backend->setCurrentIndex(backend);
    m_quiet = false;
    updateEnabled();
}

void QuantPanel::setBackendInfo(const QString& spec, const QString& about)
{
    const int i = m_backend->findData(spec);
    if (i >= 0) m_backend->setItemData(i, about, Qt::ToolTipRole);
    if (m_backend->currentData().toString() == spec) m_backend->setToolTip(about);
}

void QuantPanel::setBackends(const QList<BackendItem>& items)
{
    m_quiet = true;
    const QString current = m_backend->currentData().toString();
    m_backend->clear();
    for (const auto& item : items) {
        m_backend->addItem(item.label, item.spec);
        if (!item.about.isEmpty()) m_backend->setItemData(m_backend->count() - 1, item.about, Qt::ToolTipRole);
    }
    const int i = m_backend->findData(current);
    if (i >= 0) m_backend->setCurrentIndex(i);
    m_quiet = false;
    // A choice that is not listed (a device no longer present) becomes the first entry: the
    // user is told, and the workbench recomputes there.
    if (i < 0 && !current.isEmpty() && m_backend->count() > 0) {
        setStatus(tr("Backend %1 is not available here; using %2").arg(current, m_backend->currentText()));
        emitChanged();
    }
}

bool QuantPanel::eventFilter(QObject* watched, QEvent* event)
{
    auto* w = qobject_cast<QWidget*>(watched);
    if (event->type() != QEvent::Wheel || !w || w->hasFocus()) return QWidget::eventFilter(watched, event);
    // Handed to the parent, the event travels up to the scroll area as an unhandled wheel does.
    if (w->parentWidget()) QCoreApplication::sendEvent(w->parentWidget(), event);
    return true;
}

void QuantPanel::setStatus(const QString& text) { m_status->setText(text); }

void QuantPanel::updateEnabled()
{
    const QuantSettings s = settings();
    const bool isInt = isIntFormat(s.format), fp8 = isFp8Format(s.format), scaled = isInt || fp8;
    m_bits->setEnabled(isInt);
    m_granularity->setEnabled(scaled);
    m_group->setEnabled((scaled && s.granularity == "group") || s.format == "nf4");
    m_asym->setEnabled(isInt);
    m_rounding->setEnabled(isInt);
    m_saturate->setEnabled(fp8);
    m_doubleQuant->setEnabled(s.format == "nf4");
    m_clip->setEnabled(scaled);
    m_percentile->setEnabled(scaled && s.clip == "percentile");
    m_threshold->setEnabled(s.method == "llm.int8");
    m_alpha->setEnabled(s.method == "smoothquant");
    m_damp->setEnabled(s.method == "gptq");
    m_gptqBlock->setEnabled(s.method == "gptq");
    m_actOrder->setEnabled(s.method == "gptq");
    m_spqr->setEnabled(s.method == "spqr");
    m_awqGrid->setEnabled(s.method == "awq");
    m_syntheticRows->setEnabled(s.calibration == "synthetic");
    m_calibrationFile->setEnabled(s.calibration == "npy" || s.calibration == "imatrix");
}

void QuantPanel::emitChanged()
{
    if (m_quiet) return;
    updateEnabled();
    emit settingsChanged(settings());
}

} // namespace qs::app
