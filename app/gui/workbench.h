#pragma once
/// The live workbench of one layer: the selected tensor's weights, and schemes A and B
/// recomputed off the GUI thread as the user changes them. Each slot runs at most one job; a
/// newer request replaces a queued one (so dragging a slider never queues work) and a result
/// older than the one shown is dropped. A slow method (GPTQ, AWQ, ...) still running when a
/// new request comes is cancelled; round-to-nearest results are shown as they arrive.
#include "quantsettings.h"

#include "backends/backend.h"
#include "core/tensor.h"
#include "quant/analysis.h"
#include "quant/methods.h"

#include <QObject>
#include <QThreadPool>

#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace qs::app {

enum class Slot : int { A = 0, B = 1 };

/// One recompute's outcome, as the panels draw it.
struct LayerResult {
    QuantSettings settings;
    QString spec;                      ///< the scheme string
    quant::Measured measured;          ///< codes, params, dequant (the layer's effective weights), metrics, error map
    std::optional<quant::MethodResult> method; ///< the method's own result (outliers, smoothing) when not RTN
    uint64_t bytes = 0;                ///< what a file stores for the tensor
    double bitsPerWeight = 0;
    std::optional<double> outputError; ///< with activations
    QString note;                      ///< what the method did, the calibration source
    double milliseconds = 0;           ///< request to result, measured on the job's thread

    /// The weights the layer computes with: the method's effective weights (outliers put
    /// back, smoothing undone) or the decoded codes.
    const quant::Matrix& dequant() const;
};

/// One scheme of the trade-off chart: its stored bits per weight and its SQNR on the layer.
struct TradeoffEntry {
    QString spec;
    QString family; ///< int, fp, mx, nf, gguf
    double bitsPerWeight = 0;
    double sqnrDb = 0;
};

/// The schemes the trade-off chart computes for a layer (RTN, min-max clipping).
QStringList tradeoffSchemes();

/// The panel settings that spell `spec` (the inverse of specOf); nullopt for a bad spec.
std::optional<QuantSettings> settingsFromSpec(const QString& spec);

class Workbench : public QObject {
    Q_OBJECT
public:
    explicit Workbench(QObject* parent = nullptr);
    ~Workbench() override;

    /// Loads the weights of `tensor` (a job); results of the previous layer are dropped.
    void setLayer(std::shared_ptr<const core::Model> model, int tensorIndex);
    int layer() const { return m_tensor; }
    /// The loaded weights, [out, in] (null until loaded).
    const quant::Matrix* weights() const { return m_weights.get(); }

    /// Recomputes `slot` under `settings` once the layer is loaded.
    void request(Slot slot, const QuantSettings& settings);
    /// Forgets B (its result and any pending request).
    void clear(Slot slot);
    /// The result shown for `slot`, or null.
    std::shared_ptr<const LayerResult> result(Slot slot) const { return m_slots[int(slot)].shown; }
    /// The error-map grid requested from every recompute.
    void setMeasureOptions(const quant::MeasureOptions& options) { m_measure = options; }
    const quant::MeasureOptions& measureOptions() const { return m_measure; }
    /// True while a load or a recompute runs.
    bool busy() const;
    /// Waits for every job (tests, shutdown).
    void waitForIdle();

    /// Pools A's error over rows [rowLo, rowHi) x columns [colLo, colHi) of the layer to a
    /// gridRows x gridCols map (a job; windowMapReady carries it), for a zoomed heatmap.
    void requestWindowMap(int64_t rowLo, int64_t rowHi, int64_t colLo, int64_t colHi, int64_t gridRows,
                          int64_t gridCols);

    /// The trade-off points of the loaded layer computed so far (in tradeoffSchemes() order,
    /// schemes the layer cannot take left out).
    const std::vector<TradeoffEntry>& tradeoff() const { return m_tradeoff; }

signals:
    void layerLoaded(int tensorIndex);
    /// Every scheme of the trade-off chart is done for the loaded layer.
    void tradeoffReady();
    /// A's error map of a window (row/column ranges of the layer), see requestWindowMap.
    void windowMapReady(int64_t rowLo, int64_t rowHi, int64_t colLo, int64_t colHi, const qs::quant::Matrix& map);
    void resultReady(qs::app::Slot slot);
    void failed(qs::app::Slot slot, const QString& message);
    /// A backend was made for the first time: `about` names its device, or says why it fell
    /// back to the reference (`fellBack`: no Vulkan device here).
    void backendChosen(const QString& name, const QString& about, bool fellBack);
    void progress(qs::app::Slot slot, int permille);

private:
    struct Request {
        QuantSettings settings;
        uint64_t generation = 0;
    };
    struct SlotState {
        bool running = false;
        std::shared_ptr<core::Progress> progress; ///< of the running job
        QuantSettings runningSettings;
        std::optional<Request> pending;
        uint64_t requested = 0; ///< generation of the newest request
        uint64_t shownGeneration = 0;
        std::shared_ptr<const LayerResult> shown;
        /// The RTN result shown before `shown`, no longer referenced: the next job takes over its
        /// buffers, so a recompute of a large layer touches no fresh memory (page faults of
        /// fresh 64 MiB buffers cost tens of milliseconds per change).
        std::shared_ptr<LayerResult> spare;
    };

    void start(Slot slot, Request request);
    void startTradeoff();
    void finished(Slot slot, uint64_t layerGeneration, uint64_t generation,
                  core::Result<std::shared_ptr<LayerResult>> result);
    /// The backend named `name`, made on first use (thread-safe: called from the jobs).
    core::Result<const backends::Backend*> backendFor(const QString& name);

    QThreadPool m_pool;
    std::shared_ptr<const core::Model> m_model;
    int m_tensor = -1;
    uint64_t m_layerGeneration = 0;
    bool m_loading = false;
    std::shared_ptr<const quant::Matrix> m_weights;
    SlotState m_slots[2];
    quant::MeasureOptions m_measure;
    std::mutex m_backendsMutex; ///< guards m_backends
    std::map<QString, std::unique_ptr<backends::Backend>> m_backends;
    std::vector<TradeoffEntry> m_tradeoff;
    std::shared_ptr<core::Progress> m_tradeoffProgress;
};

/// The work of one request, on the calling thread: calibration, the method on the backend,
/// metrics and the pooled error map. Used by the workbench's jobs and by tests. `reuse`: an
/// earlier result whose buffers a round-to-nearest recompute takes over (Backend::quantizeAndMeasure).
core::Result<std::shared_ptr<LayerResult>> computeLayer(const quant::Matrix& w, const core::TensorInfo& tensor,
                                                        const QuantSettings& settings, const backends::Backend& backend,
                                                        const quant::MeasureOptions& measure, core::Progress* progress,
                                                        quant::Measured* reuse = nullptr);

} // namespace qs::app
