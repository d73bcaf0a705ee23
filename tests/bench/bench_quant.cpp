// bench_quant: round-to-nearest quantize + dequantize + metrics of a 4096 x 4096 f32 layer per
// scheme, in ms and as a ratio of its effective bandwidth to a memory read+write probe measured
// in the same run (issue 4, section 8). Not a test: it prints numbers and PASS/MISS against the
// targets (ratio >= 0.4, under 100 ms on 2 cores for the RTN formats).
//
//   bench_quant [rows cols [SCHEME]]   layer shape (default 4096 4096); only SCHEME, and no
//                                      GPTQ / outputError, when given
#include "core/parallel.h"
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

constexpr unsigned kThreads = 2;
constexpr int kRepeats = 3; // best of: the first run also pays page faults of new buffers

double seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

/// GB/s of copying 64 MiB with 2 threads (64 MiB read + 64 MiB written per copy), best of
/// eight copies after a warm-up that faults the pages in.
double memoryProbe()
{
    constexpr size_t kBytes = size_t{64} << 20;
    constexpr uint64_t kChunks = 64;
    std::vector<char> src(kBytes, 1);
    std::vector<char> dst(kBytes, 0);
    const auto copy = [&] {
        core::parallelChunks(kChunks, kThreads, [&](uint64_t c, unsigned) {
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
    double coldMs = 0; ///< the first run: fresh output buffers (page faults included)
    double ms = 0;     ///< best of the next runs, each reusing the previous result's buffers
    double sqnr = 0;
    double bpw = 0;
    bool ok = false;
};

Timing timeScheme(const quant::Matrix& w, const char* spec)
{
    Timing t;
    auto scheme = quant::parseScheme(spec);
    if (!scheme) {
        std::printf("%-12s scheme error: %s\n", spec, scheme.error().message.c_str());
        return t;
    }
    double best = 1e30;
    quant::Quantized previous;
    for (int i = 0; i <= kRepeats; ++i) {
        const double t0 = seconds();
        auto q = quant::quantizeRtn(w, *scheme, {}, nullptr, i == 0 ? nullptr : &previous);
        if (!q) {
            std::printf("%-12s error: %s\n", spec, q.error().message.c_str());
            return t;
        }
        const quant::ErrorMetrics m = quant::compareValues(w.data, q->dequant.data);
        const double dt = seconds() - t0;
        if (i == 0) t.coldMs = dt * 1e3;
        else best = std::min(best, dt);
        t.sqnr = m.sqnrDb;
        t.bpw = q->bitsPerWeight;
        previous = std::move(*q);
    }
    t.ms = best * 1e3;
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

int main(int argc, char** argv)
{
    const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 4096;
    const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 4096;
    if (rows <= 0 || cols <= 0 || cols % 256 != 0) {
        std::fprintf(stderr, "usage: bench_quant [rows cols]  (cols a multiple of 256)\n");
        return 2;
    }
    std::printf("probe: a 64 MiB copy on %u threads (GB/s, read + write), best of 8, measured right "
                "before each scheme\n", kThreads);
    const quant::Matrix w = layer(rows, cols);
    const double touched = 8.0 * static_cast<double>(rows) * cols; // 4 B read + 4 B written
    std::printf("layer %lld x %lld f32, N(0, 0.02); time = quantize + dequantize + metrics.\n"
                "  cold: first run, fresh output buffers; ms: best of %d recomputes reusing the\n"
                "  previous result's buffers (what dragging a slider does); ratio = (8 B/weight / ms) / probe\n",
                static_cast<long long>(rows), static_cast<long long>(cols), kRepeats);
    std::printf("%-12s %7s %9s %9s %7s %8s %7s  %s\n", "scheme", "probe", "cold ms", "ms", "ratio", "SQNR dB",
                "bits", "targets (>= 0.4, < 100 ms)");
    const std::string only = argc > 3 ? argv[3] : "";
    for (const char* spec : {"int8", "int4:g128", "nf4", "mxfp4", "q4_k", "q8_0", "q6_k"}) {
        if (!only.empty() && only != spec) continue;
        const double probe = memoryProbe();
        const Timing t = timeScheme(w, spec);
        if (!t.ok) continue;
        const double ratio = touched / (t.ms * 1e-3) / 1e9 / probe;
        std::printf("%-12s %7.1f %9.1f %9.1f %7.2f %8.2f %7.4f  %s %s\n", spec, probe, t.coldMs, t.ms, ratio, t.sqnr,
                    t.bpw,
                    ratio >= 0.4 ? "PASS" : "MISS", t.ms < 100 ? "PASS" : "MISS");
    }
    {
        quant::Matrix q = w;
        for (size_t i = 0; i < q.data.size(); i += 7) q.data[i] *= 1.01f;
        double best = 1e30;
        for (int i = 0; i < kRepeats; ++i) {
            const double t0 = seconds();
            const auto m = quant::compareValues(w.data, q.data);
            best = std::min(best, seconds() - t0);
            if (!(m.mse >= 0)) std::printf("metrics: unexpected NaN\n");
        }
        std::printf("of which metrics (compareValues) alone: %.1f ms\n", best * 1e3);
    }
    if (!only.empty()) return 0;
    timeOutputError(w);
    timeGptq(w);
    return 0;
}
