// bench_gemm: the reference blocked f32 GEMM (core::ReferenceGemm) against oneDNN's dnnl_sgemm
// on the same shapes in the same run, in GFLOP/s and as a ratio. Not a test: it prints numbers.
//
//   bench_gemm [M N K]   one shape instead of the default list
// Default shapes: 512x4096x4096 (a batch of 512 tokens through a 4096 x 4096 layer, B given
// transposed as weights are stored), GPTQ's Hessian X^T X for 4096 inputs from 512 rows
// (4096x4096x512, A transposed), and GPTQ's lazy-batch update W[:, rest] -= Err U (4096 rows,
// 3968 remaining columns, block 128).
#include "backends/backend.h"
#include "core/gemm.h"
#include "core/parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace qs;

namespace {

struct Shape {
    const char* what;
    int64_t m, n, k;
    bool transA, transB;
};

double seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

std::vector<float> randomData(size_t n, uint64_t seed)
{
    std::vector<float> v(n);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(-1, 1);
    for (float& x : v)
        x = dist(rng);
    return v;
}

/// Best-of-`repeats` GFLOP/s of C = A op B; 0 on an error (printed).
double gflops(const core::Gemm& g, const Shape& s, int repeats)
{
    const int64_t lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n;
    const auto a = randomData(size_t(s.m * s.k), 1), b = randomData(size_t(s.k * s.n), 2);
    std::vector<float> c(size_t(s.m * s.n), 0.0f);
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
        const double t0 = seconds();
        auto st = g.sgemm(s.transA, s.transB, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb,
                          0.0f, c.data(), s.n);
        const double t = seconds() - t0;
        if (!st) {
            std::fprintf(stderr, "%s: %s\n", std::string(g.name()).c_str(), st.error().message.c_str());
            return 0;
        }
        best = std::min(best, t);
    }
    return 2.0 * double(s.m) * double(s.n) * double(s.k) / best * 1e-9;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<Shape> shapes = {{"tokens x layer (B^T)", 512, 4096, 4096, false, true},
                                 {"GPTQ Hessian X^T X", 4096, 4096, 512, true, false},
                                 {"GPTQ block update", 4096, 3968, 128, false, false}};
    if (argc == 4)
        shapes = {{"given", std::atoll(argv[1]), std::atoll(argv[2]), std::atoll(argv[3]), false, false}};
    auto dnn = backends::createBackend("onednn");
    if (!dnn) {
        std::fprintf(stderr, "%s\n", dnn.error().message.c_str());
        return 1;
    }
    const core::Gemm& ref = core::referenceGemm();
    const core::Gemm& one = (*dnn)->gemm();
    std::printf("threads: %u (reference), oneDNN's own\n", core::defaultThreadCount());
    std::printf("%-22s %18s %12s %12s %8s\n", "shape", "M x N x K", "ref GFLOP/s",
                "oneDNN", "ref/dnn");
    for (const auto& s : shapes) {
        gflops(one, s, 1); // warm-up: page faults and oneDNN's JIT
        const double r = gflops(ref, s, 3), d = gflops(one, s, 3);
        const std::string dims = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
        std::printf("%-22s %18s %12.1f %12.1f %8.2f\n", s.what, dims.c_str(), r, d, d > 0 ? r / d : 0.0);
    }
    return 0;
}
