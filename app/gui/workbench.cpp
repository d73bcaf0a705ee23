#include "workbench.h"

#include "pipeline/calibration_files.h"
#include "quant/calibration.h"
#include "quant/matrix.h"
#include "quant/plan.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace qs::app {

namespace {

core::Result<std::optional<quant::Calibration>> calibrationFor(const QuantSettings& s, const core::TensorInfo& t,
                                                               int64_t inFeatures)
{
    const std::string file = s.calibrationFile.toStdString();
    if (s.calibration == "synthetic")
        return std::optional<quant::Calibration>(quant::syntheticCalibration(s.syntheticRows, inFeatures, 1));
    if (s.calibration == "npy" || s.calibration == "imatrix") {
        if (file.empty())
            return core::makeError(core::ErrorCode::InvalidArgument, "choose a calibration file for " + s.calibration.toStdString());
        auto c = s.calibration == "npy" ? pipeline::loadCalibrationNpy(file, inFeatures)
                                        : quant::loadImatrix(file, t.name, inFeatures);
        if (!c) return c.error();
        return std::optional<quant::Calibration>(std::move(*c));
    }
    return std::optional<quant::Calibration>();
}

quant::MethodOptions methodOptions(const QuantSettings& s, const quant::RangeOptions& range, const backends::Backend& b)
{
    quant::MethodOptions o;
    o.range = range;
    o.outlierThreshold = s.outlierThreshold;
    o.smoothAlpha = s.smoothAlpha;
    o.gptqDamp = s.gptqDamp;
    o.gptqBlock = s.gptqBlock;
    o.gptqActOrder = s.gptqActOrder;
    o.spqrPercent = s.spqrPercent;
    o.awqGrid = s.awqGrid;
    o.gemm = &b.gemm();
    o.rtn = [&b](const quant::Matrix& w, const quant::Scheme& sc, const quant::RangeOptions& r, core::Progress* p) {
        return b.quantize(w, sc, r, p);
    };
    return o;
}

} // namespace

core::Result<std::shared_ptr<LayerResult>> computeLayer(const quant::Matrix& w, const core::TensorInfo& tensor,
                                                        const QuantSettings& settings, const backends::Backend& backend,
                                                        const quant::MeasureOptions& measure, core::Progress* progress,
                                                        quant::Measured* reuse)
{
    const auto t0 = std::chrono::steady_clock::now();
    auto result = std::make_shared<LayerResult>();
    result->settings = settings;
    result->spec = specOf(settings);
    auto scheme = quant::parseScheme(result->spec.toStdString());
    if (!scheme) return scheme.error();
    auto method = quant::parseMethod(settings.method.toStdString());
    if (!method) return method.error();
    auto range = quant::parseClip(clipOf(settings).toStdString());
    if (!range) return range.error();
    auto calib = calibrationFor(settings, tensor, w.cols);
    if (!calib) return calib.error();
    const quant::Calibration* cal = *calib ? &**calib : nullptr;
    if (*method == quant::Method::Rtn) {
        auto m = backend.quantizeAndMeasure(w, *scheme, *range, measure, progress, reuse);
        if (!m) return m.error();
        result->measured = std::move(*m);
        result->bytes = result->measured.q.bytes;
        result->bitsPerWeight = result->measured.q.bitsPerWeight;
        result->note = "RTN";
    } else {
        auto r = quant::quantizeWithMethod(w, *scheme, *method, methodOptions(settings, *range, backend), cal, progress);
        if (!r) return r.error();
        result->measured.metrics = quant::compareValues(w.values(), r->dequant().values());
        result->measured.errorMap = quant::errorMap(w, r->dequant(), measure.gridRows, measure.gridCols, measure.kind,
                                                    measure.pooling);
        result->bytes = r->bytes;
        result->bitsPerWeight = r->bitsPerWeight;
        result->note = QString::fromStdString(r->note);
        result->measured.q = std::move(r->quantized);
        r->quantized = {};
        result->method = std::move(*r);
    }
    if (cal && cal->hasActivations()) {
        auto e = quant::outputError(cal->x, w, result->dequant(), backend.gemm());
        if (!e) return e.error();
        result->outputError = *e;
    }
    result->milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

QStringList tradeoffSchemes()
{
    return {"int8", "int8:g128", "int6", "int5:g128", "int4", "int4:g128", "int4:g32", "int4:g32:asym", "int3:g32",
            "int3:g32:asym", "int2:g32:asym", "fp8_e4m3", "fp8_e5m2", "mxfp8", "mxfp4", "nvfp4", "nf4", "nf4:dq",
            "q8_0", "q6_k", "q5_k", "q5_0", "q4_k", "q4_1", "q4_0"};
}

std::optional<QuantSettings> settingsFromSpec(const QString& spec)
{
    auto parsed = quant::parseScheme(spec.toStdString());
    if (!parsed) return std::nullopt;
    const quant::Scheme& sc = *parsed;
    QuantSettings s;
    switch (sc.family) {
    case quant::Family::Int: s.format = "int"; break;
    case quant::Family::Fp8E4M3: s.format = "fp8_e4m3"; break;
    case quant::Family::Fp8E5M2: s.format = "fp8_e5m2"; break;
    case quant::Family::MxFp4: s.format = "mxfp4"; break;
    case quant::Family::MxFp8: s.format = "mxfp8"; break;
    case quant::Family::NvFp4: s.format = "nvfp4"; break;
    case quant::Family::Nf4: s.format = "nf4"; break;
    case quant::Family::Ggml: s.format = spec.section(':', 0, 0); break;
    }
    s.bits = sc.family == quant::Family::Int ? sc.bits : 8;
    static const char* grains[] = {"tensor", "channel", "inchannel", "group"};
    s.granularity = grains[int(sc.granularity)];
    if (sc.groupSize > 0) s.groupSize = sc.groupSize;
    if (sc.family != quant::Family::Int && sc.family != quant::Family::Fp8E4M3 && sc.family != quant::Family::Fp8E5M2)
        s.granularity = "channel"; // block formats: the panel's granularity does not apply
    s.asymmetric = sc.asymmetric;
    s.rounding = sc.rounding == quant::Rounding::HalfAway ? "away" : sc.rounding == quant::Rounding::Stochastic ? "stochastic" : "rne";
    s.seed = sc.seed;
    s.saturate = sc.overflow == quant::Overflow::Saturate;
    s.doubleQuant = sc.doubleQuant;
    return s;
}

namespace {

QString familyOf(const QString& spec)
{
    if (spec.startsWith("int")) return "int";
    if (spec.startsWith("fp8")) return "fp8";
    if (spec.startsWith("mx") || spec.startsWith("nv")) return "mx / nv";
    if (spec.startsWith("nf")) return "nf4";
    return "gguf";
}

} // namespace

const quant::Matrix& LayerResult::dequant() const
{
    return method && method->effective ? *method->effective : measured.q.dequant;
}

Workbench::Workbench(QObject* parent) : QObject(parent)
{
    m_pool.setMaxThreadCount(4); // a load, the trade-off sweep and one job per slot; each runs its passes on the engine's pool
    m_measure.gridRows = 256;
    m_measure.gridCols = 256;
}

Workbench::~Workbench()
{
    for (auto& s : m_slots)
        if (s.progress) s.progress->cancelRequested = true;
    if (m_tradeoffProgress) m_tradeoffProgress->cancelRequested = true;
    m_pool.waitForDone();
}

bool Workbench::busy() const { return m_loading || m_slots[0].running || m_slots[1].running; }

void Workbench::waitForIdle() { m_pool.waitForDone(); }

core::Result<const backends::Backend*> Workbench::backendFor(const QString& name)
{
    std::lock_guard lock(m_backendsMutex); // jobs of both slots may ask at once
    auto it = m_backends.find(name);
    if (it != m_backends.end()) return it->second.get();
    // Made on the job's thread: opening a Vulkan device takes a while. A device backend that
    // cannot start here (no Vulkan device) runs on the reference; the user is told once.
    auto spec = backends::parseBackendSpec(name.toStdString());
    if (!spec) return spec.error();
    auto b = backends::createBackendOrFallback(spec->name, spec->options);
    if (!b) return b.error();
    const auto& caps = b->backend->capabilities();
    const std::string& device = caps.device;
    QString about = !b->fallback.empty() ? QString::fromStdString(b->fallback)
                                               : name + ": " + QString::fromStdString(device.empty() ? std::string(caps.howRuns(backends::Op::Quantize)) : device);
    const bool fellBack = !b->fallback.empty();
    const std::string warning = b->backend->warning(); // e.g. a pipeline-cache file ignored
    if (!warning.empty()) about += "; " + QString::fromStdString(warning);
    QMetaObject::invokeMethod(this, [this, name, about, fellBack] { emit backendChosen(name, about, fellBack); },
                              Qt::QueuedConnection);
    return m_backends.emplace(name, std::move(b->backend)).first->second.get();
}

void Workbench::setLayer(std::shared_ptr<const core::Model> model, int tensorIndex)
{
    m_model = std::move(model);
    m_tensor = tensorIndex;
    m_weights.reset();
    m_tradeoff.clear();
    if (m_tradeoffProgress) m_tradeoffProgress->cancelRequested = true;
    const uint64_t layerGeneration = ++m_layerGeneration;
    for (auto& s : m_slots) {
        if (s.progress) s.progress->cancelRequested = true;
        s.shown.reset();
        s.spare.reset(); // another layer's size
        s.shownGeneration = s.requested;
    }
    if (!m_model || tensorIndex < 0 || size_t(tensorIndex) >= m_model->tensors.size()) return;
    m_loading = true;
    auto held = m_model; // keeps the mapping alive while the job reads it
    m_pool.start([this, held, tensorIndex, layerGeneration] {
        auto w = quant::loadWeightMatrix(held->tensors[size_t(tensorIndex)]);
        QMetaObject::invokeMethod(this, [this, layerGeneration, tensorIndex, r = std::move(w)]() mutable {
            if (layerGeneration != m_layerGeneration) return; // another layer was chosen since
            m_loading = false;
            if (!r) {
                emit failed(Slot::A, QString::fromStdString(r.error().message));
                return;
            }
            m_weights = std::make_shared<const quant::Matrix>(std::move(*r));
            emit layerLoaded(tensorIndex);
            startTradeoff();
            for (int s = 0; s < 2; ++s) {
                auto& state = m_slots[s];
                if (state.pending && !state.running) {
                    Request req = *state.pending;
                    state.pending.reset();
                    start(Slot(s), req);
                }
            }
        }, Qt::QueuedConnection);
    });
}

void Workbench::startTradeoff()
{
    auto weights = m_weights;
    const uint64_t layerGeneration = m_layerGeneration;
    m_tradeoffProgress = std::make_shared<core::Progress>();
    auto progress = m_tradeoffProgress;
    m_pool.start([this, weights, layerGeneration, progress] {
        std::vector<TradeoffEntry> points;
        quant::Quantized reuse;
        for (const QString& spec : tradeoffSchemes()) {
            if (progress->cancelled()) return;
            auto scheme = quant::parseScheme(spec.toStdString());
            auto q = scheme ? quant::quantizeRtn(*weights, *scheme, {}, progress.get(), &reuse)
                            : core::Result<quant::Quantized>(scheme.error());
            if (!q) continue; // a shape the scheme cannot take (GGUF blocks), or cancelled
            const auto m = quant::compareValues(weights->values(), q->dequant.values());
            points.push_back({spec, familyOf(spec), q->bitsPerWeight, m.sqnrDb});
            reuse = std::move(*q);
        }
        QMetaObject::invokeMethod(this, [this, layerGeneration, p = std::move(points)]() mutable {
            if (layerGeneration != m_layerGeneration) return;
            m_tradeoff = std::move(p);
            emit tradeoffReady();
        }, Qt::QueuedConnection);
    });
}

void Workbench::requestWindowMap(int64_t rowLo, int64_t rowHi, int64_t colLo, int64_t colHi, int64_t gridRows,
                                 int64_t gridCols)
{
    auto a = m_slots[0].shown;
    auto weights = m_weights;
    if (!a || !weights || rowLo < 0 || colLo < 0 || rowHi > weights->rows || colHi > weights->cols || rowLo >= rowHi ||
        colLo >= colHi)
        return;
    const uint64_t layerGeneration = m_layerGeneration;
    const auto measure = m_measure;
    m_pool.start([=, this] {
        // The window of W and of A's weights, then the engine's own pooling over it.
        quant::Matrix w, q;
        w.rows = q.rows = rowHi - rowLo;
        w.cols = q.cols = colHi - colLo;
        w.data.resize(size_t(w.rows * w.cols));
        q.data.resize(w.data.size());
        const quant::Matrix& dq = a->dequant();
        for (int64_t r = 0; r < w.rows; ++r) {
            std::copy_n(weights->row(rowLo + r) + colLo, w.cols, w.row(r));
            std::copy_n(dq.row(rowLo + r) + colLo, w.cols, q.row(r));
        }
        auto map = quant::errorMap(w, q, gridRows, gridCols, measure.kind, measure.pooling);
        QMetaObject::invokeMethod(this, [=, this, m = std::move(map)] {
            if (layerGeneration != m_layerGeneration || m_slots[0].shown != a) return; // stale
            emit windowMapReady(rowLo, rowHi, colLo, colHi, m);
        }, Qt::QueuedConnection);
    });
}

void Workbench::request(Slot slot, const QuantSettings& settings)
{
    auto& s = m_slots[int(slot)];
    Request req{settings, ++s.requested};
    if (s.running || !m_weights) {
        s.pending = req; // replaces an older queued request
        // A slow method would keep the user waiting for a result nobody wants any more.
        if (s.running && s.runningSettings.method != "rtn" && s.progress) s.progress->cancelRequested = true;
        return;
    }
    start(slot, req);
}

void Workbench::clear(Slot slot)
{
    auto& s = m_slots[int(slot)];
    s.pending.reset();
    if (s.progress) s.progress->cancelRequested = true;
    s.shown.reset();
    s.spare.reset();
    s.shownGeneration = s.requested;
}

void Workbench::start(Slot slot, Request req)
{
    auto& s = m_slots[int(slot)];
    s.running = true;
    s.runningSettings = req.settings;
    s.progress = std::make_shared<core::Progress>();
    auto progress = s.progress;
    progress->report = [this, slot](uint64_t done, uint64_t total) {
        const int permille = total ? int(done * 1000 / total) : 1000;
        QMetaObject::invokeMethod(this, [this, slot, permille] { emit this->progress(slot, permille); }, Qt::QueuedConnection);
    };
    auto weights = m_weights;
    auto model = m_model;
    const int tensor = m_tensor;
    const uint64_t layerGeneration = m_layerGeneration;
    const auto measure = m_measure;
    std::shared_ptr<LayerResult> spare = std::move(s.spare); // the job's alone from here
    m_pool.start([=, this] {
        auto backend = backendFor(req.settings.backend);
        auto r = backend ? computeLayer(*weights, model->tensors[size_t(tensor)], req.settings, **backend, measure,
                                        progress.get(), spare ? &spare->measured : nullptr)
                         : core::Result<std::shared_ptr<LayerResult>>(backend.error());
        QMetaObject::invokeMethod(this, [this, slot, layerGeneration, gen = req.generation, r = std::move(r)]() mutable {
            finished(slot, layerGeneration, gen, std::move(r));
        }, Qt::QueuedConnection);
    });
}

void Workbench::finished(Slot slot, uint64_t layerGeneration, uint64_t generation,
                         core::Result<std::shared_ptr<LayerResult>> result)
{
    auto& s = m_slots[int(slot)];
    s.running = false;
    s.progress.reset();
    const bool current = layerGeneration == m_layerGeneration;
    if (current && generation > s.shownGeneration) {
        if (result) {
            s.shownGeneration = generation;
            auto old = std::exchange(s.shown, std::move(*result));
            // Nobody else holds the old result (the panels copy what they draw): recycle it.
            // The results are made non-const by computeLayer, so the cast is sound.
            if (old && old.use_count() == 1 && !old->method) s.spare = std::const_pointer_cast<LayerResult>(old);
            emit resultReady(slot);
        } else if (result.error().code != core::ErrorCode::Cancelled && generation == s.requested) {
            emit failed(slot, QString::fromStdString(result.error().message));
        }
    }
    if (s.pending && m_weights) {
        Request next = *s.pending;
        s.pending.reset();
        start(slot, next);
    }
}

} // namespace qs::app
