// bench_quant: what the live workbench does on every change of a 4096 x 4096 f32 layer --
// quantize + dequantize + the six metrics + a 256 x 256 pooled error map, in one fused pass
// (quant::quantizeAndMeasure) -- per scheme, in ms and as a ratio of its effective bandwidth
// to a memory probe run right before each scheme, in the same process, on the same number of
// threads as the quantizer (core::defaultThreadCount(), the pool). Issue 8, section 6. Not a
// test: it prints numbers and PASS/MISS against the targets (ratio >= 0.3 for int8, int4:g128,
// nf4, mxfp4, nvfp4; under 100 ms for q4_k, q5_k and q6_k).
//
//   bench_quant [--json] [rows cols [SCHEME]]   layer shape (default 4096 4096); only SCHEME,
//                                               and no GPTQ / outputError, when given
//   --json   prints {"schemes": [{"scheme": "int8", "ms": .., "cold_ms": .., "ratio": .., ...}]}
#include "core/parallel.h"
#include "quant/analysis.h"
#include "quant/gptq.h"
#include "quant/ggml_quant.h"
#include "quant/metrics.h"
#include "quant/quantize.h"
#include "quant/scheme.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace qs;

namespace {

constexpr int kRepeats = 5; // best of: the first run also pays page faults of new buffers
constexpr int64_t kGrid = 256; // error-map cells per side

double seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

/// GB/s of copying 64 MiB on the quantizer's threads (64 MiB read + 64 MiB written per copy),
/// best of eight copies after a warm-up that faults the pages in.
double memoryProbe()
{
    const unsigned threads = core::defaultThreadCount();
    constexpr size_t kBytes = size_t{64} << 20;
    constexpr uint64_t kChunks = 64;
    std::vector<char> src(kBytes, 1);
    std::vector<char> dst(kBytes, 0);
    const auto copy = [&] {
        core::parallelChunks(kChunks, threads, [&](uint64_t c, unsigned) {
            const size_t n = kBytes / kChunks;
            std::memcpy(dst.data() + c * n, src.data() + c * n, n);
        });
    };
    copy();
    double best = 1e30;
    for (int i = 0; i < 8; ++i) {
        const double t0 = seconds();
        copy();
        best = std::min(best, seconds() - t0);
        src[static_cast<size_t>(i) * 4096] ^= dst[kBytes - 1]; // keep the copies observable
    }
    return 2.0 * kBytes / best / 1e9;
}

quant::Matrix layer(int64_t rows, int64_t cols)
{
    quant::Matrix w;
    w.rows = rows;
    w.cols = cols;
    w.data.resize(static_cast<size_t>(rows * cols));
    std::mt19937 gen(42);
    std::normal_distribution<float> normal(0.f, 0.02f);
    for (float& x : w.data) x = normal(gen);
    return w;
}

struct Timing {
    double coldMs = 0;     ///< the first run: fresh output buffers (page faults included)
    double ms = 0;         ///< best of the next runs, each reusing the previous result's buffers
    double separateMs = 0; ///< the same work as separate passes (quantizeRtn, compareValues, errorMap)
    double sqnr = 0;
    double bpw = 0;
    bool ok = false;
};

double millisecondsSince(double t0) { return (seconds() - t0) * 1e3; }

/// The fused pass: cold, then best of kRepeats recomputes reusing buffers.
bool timeFused(const quant::Matrix& w, const quant::Scheme& scheme, Timing& t)
{
    const quant::MeasureOptions options{kGrid, kGrid, quant::ErrorKind::Absolute, quant::Pooling::Max};
    quant::Measured previous;
    t.ms = 1e30;
    for (int i = 0; i <= kRepeats; ++i) {
        const double t0 = seconds();
        auto m = quant::quantizeAndMeasure(w, scheme, {}, options, nullptr, i == 0 ? nullptr : &previous);
        const double ms = millisecondsSince(t0);
        if (!m) {
            std::fprintf(stderr, "%s: %s\n", scheme.spec().c_str(), m.error().message.c_str());
            return false;
        }
        if (i == 0) t.coldMs = ms;
        else t.ms = std::min(t.ms, ms);
        t.sqnr = m->metrics.sqnrDb;
        t.bpw = m->q.bitsPerWeight;
        previous = std::move(*m);
    }
    return true;
}

/// The same figures from the separate passes, best of kRepeats with reuse (for comparison).
double timeSeparate(const quant::Matrix& w, const quant::Scheme& scheme)
{
    quant::Quantized previous;
    double best = 1e30;
    for (int i = 0; i <= kRepeats; ++i) {
        const double t0 = seconds();
        auto q = quant::quantizeRtn(w, scheme, {}, nullptr, &previous);
        if (!q) return 0;
        const auto m = quant::compareValues(w.data, q->dequant.data);
        const auto map = quant::errorMap(w, q->dequant, kGrid, kGrid, quant::ErrorKind::Absolute, quant::Pooling::Max);
        const double ms = millisecondsSince(t0);
        if (i > 0) best = std::min(best, ms);
        if (!(m.mse >= 0) || map.data.empty()) std::fprintf(stderr, "separate passes: unexpected result\n");
        previous = std::move(*q);
    }
    return best;
}

Timing timeScheme(const quant::Matrix& w, const char* spec)
{
    Timing t;
    auto scheme = quant::parseScheme(spec);
    if (!scheme) {
        std::fprintf(stderr, "%-12s scheme error: %s\n", spec, scheme.error().message.c_str());
        return t;
    }
    if (!timeFused(w, *scheme, t)) return t;
    t.separateMs = timeSeparate(w, *scheme);
    t.ok = true;
    return t;
}

double orNan(const core::Result<double>& r) { return r ? *r : std::nan(""); }

/// outputError on calibration-sized activations (n x cols) against a perturbed copy.
void timeOutputError(const quant::Matrix& w)
{
    quant::Matrix x = layer(512, w.cols);
    quant::Matrix q = w;
    for (size_t i = 0; i < q.data.size(); i += 7) q.data[i] *= 1.01f;
    const double t0 = seconds();
    const auto out = quant::outputError(x, w, q);
    const double e = out ? *out : std::nan("");
    const double s = seconds() - t0;
    const double flops = 4.0 * static_cast<double>(x.rows) * w.rows * w.cols;
    std::printf("outputError  512 x %lld x %lld: %.0f ms (%.1f GFLOP/s), value %.3g\n",
                static_cast<long long>(w.cols), static_cast<long long>(w.rows), s * 1e3,
                flops / s / 1e9, e);
}

/// GPTQ int4:g128 with 512 calibration rows (Hessian, Cholesky, blocked updates on the reference GEMM).
void timeGptq(const quant::Matrix& w)
{
    const quant::Matrix x = layer(512, w.cols);
    const auto scheme = quant::parseScheme("int4:g128");
    quant::MethodOptions options;
    const double t0 = seconds();
    auto r = quant::quantizeGptq(w, *scheme, x, options);
    const double s = seconds() - t0;
    if (!r) {
        std::printf("GPTQ error: %s\n", r.error().message.c_str());
        return;
    }
    auto rtn = quant::quantizeRtn(w, *scheme);
    std::printf("GPTQ int4:g128 %lld x %lld, 512 calibration rows: %.2f s (target < 5 s: %s); "
                "output error %.4g vs RTN %.4g\n",
                static_cast<long long>(w.rows), static_cast<long long>(w.cols), s, s < 5 ? "PASS" : "MISS",
                orNan(quant::outputError(x, w, r->dequant())), orNan(quant::outputError(x, w, rtn->dequant)));
}

} // namespace

/// The target of a scheme: a bandwidth ratio (RTN element formats) or a time (K-quants).
struct Target {
    const char* spec;
    double minRatio; ///< 0: none
    double maxMs;    ///< 0: none
};

constexpr Target kTargets[] = {
    {"int8", 0.3, 0}, {"int4:g128", 0.3, 0}, {"nf4", 0.3, 0}, {"mxfp4", 0.3, 0},
    {"nvfp4", 0.3, 0}, {"q4_k", 0, 100}, {"q5_k", 0, 100}, {"q6_k", 0, 100},
};

struct Row {
    const Target* target;
    double probe;
    Timing t;
    double ratio;
    bool pass() const
    {
        return (target->minRatio == 0 || ratio >= target->minRatio) && (target->maxMs == 0 || t.ms < target->maxMs);
    }
};

void printText(const Row& r)
{
    char goal[32];
    if (r.target->minRatio > 0) std::snprintf(goal, sizeof goal, "ratio >= %.1f", r.target->minRatio);
    else std::snprintf(goal, sizeof goal, "< %.0f ms", r.target->maxMs);
    std::printf("%-10s %6.1f %8.1f %7.1f %6.2f %9.1f %8.2f %7.4f  %-13s %s\n", r.target->spec, r.probe, r.t.coldMs,
                r.t.ms, r.ratio, r.t.separateMs, r.t.sqnr, r.t.bpw, goal, r.pass() ? "PASS" : "MISS");
}

void printJson(const std::vector<Row>& rows)
{
    std::printf("{\"schemes\": [");
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::printf("%s{\"scheme\": \"%s\", \"ms\": %.3f, \"cold_ms\": %.3f, \"ratio\": %.4f, \"probe_gbs\": %.2f, "
                    "\"separate_ms\": %.3f, \"sqnr_db\": %.3f, \"bits_per_weight\": %.4f, \"pass\": %s}",
                    i ? ", " : "", r.target->spec, r.t.ms, r.t.coldMs, r.ratio, r.probe, r.t.separateMs, r.t.sqnr,
                    r.t.bpw, r.pass() ? "true" : "false");
    }
    std::printf("]}\n");
}

void printHeader(int64_t rows, int64_t cols)
{
    std::printf("probe: a 64 MiB copy on %u threads (the quantizer's), GB/s read + write, best of 8, right\n"
                "before each scheme. Layer %lld x %lld f32, N(0, 0.02); time = quantize + dequantize + metrics\n"
                "+ %lld x %lld max |error| map in one fused pass (quantizeAndMeasure). cold: first run, fresh\n"
                "buffers; ms: best of %d recomputes reusing the previous result's buffers (a slider drag);\n"
                "ratio = (8 B/weight x weights / ms) / probe; separate: quantizeRtn + compareValues + errorMap.\n",
                core::defaultThreadCount(), static_cast<long long>(rows), static_cast<long long>(cols),
                static_cast<long long>(kGrid), static_cast<long long>(kGrid), kRepeats);
    std::printf("%-10s %6s %8s %7s %6s %9s %8s %7s  %-13s\n", "scheme", "probe", "cold ms", "ms", "ratio",
                "separate", "SQNR dB", "bits", "target");
}

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    const bool json = !args.empty() && args[0] == "--json";
    if (json) args.erase(args.begin());
    const int64_t rows = args.size() >= 2 ? std::atoll(args[0].c_str()) : 4096;
    const int64_t cols = args.size() >= 2 ? std::atoll(args[1].c_str()) : 4096;
    if (args.size() == 1 || args.size() > 3 || rows <= 0 || cols <= 0 || cols % 256 != 0) {
        std::fprintf(stderr, "usage: bench_quant [--json] [rows cols [SCHEME]]  (cols a multiple of 256)\n");
        return 2;
    }
    const std::string only = args.size() == 3 ? args[2] : "";
    if (!json) printHeader(rows, cols);
    const quant::Matrix w = layer(rows, cols);
    const double touched = 8.0 * static_cast<double>(rows) * static_cast<double>(cols); // 4 B read + 4 B written
    std::vector<Row> results;
    bool failed = false;
    for (const Target& target : kTargets) {
        if (!only.empty() && only != target.spec) continue;
        const double probe = memoryProbe();
        const Timing t = timeScheme(w, target.spec);
        if (!t.ok) {
            failed = true;
            continue;
        }
        results.push_back({&target, probe, t, touched / (t.ms * 1e-3) / 1e9 / probe});
        if (!json) printText(results.back());
    }
    if (!only.empty() && results.empty()) {
        std::fprintf(stderr, "bench_quant: '%s' is not one of the benchmarked schemes\n", only.c_str());
        return 2;
    }
    if (json) {
        printJson(results);
        return failed ? 1 : 0;
    }
    if (only.empty()) {
        timeOutputError(w);
        timeGptq(w);
    }
    return failed ? 1 : 0;
}
