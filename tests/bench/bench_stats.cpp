// bench_stats: throughput of computeStats against a plain read loop over the same mapped bytes,
// and the time to open a 16 GB sparse safetensors file. Not a test: it prints numbers and
// PASS/MISS against the targets of issue 3, measured in one run.
//
//   bench_stats [MiB]   size of each tensor file in MiB (default 1024)
//
// Files go to $TMPDIR (or /tmp). Each is unlinked as soon as it is mapped or no longer needed,
// so nothing is left behind even if the run is interrupted.
#include "core/parallel.h"
#include "core/stats.h"
#include "core/storage.h"
#include "io/modelreader.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace qs::core;

namespace {

constexpr unsigned kThreads = 2;
constexpr uint64_t kReadChunk = 4u << 20; // bytes per read-loop chunk

double seconds()
{
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

std::string tempPath(const char* stem)
{
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir && *dir ? dir : "/tmp") + "/" + stem + "-XXXXXX";
    const int fd = ::mkstemp(p.data());
    if (fd < 0) return {};
    ::close(fd);
    return p;
}

/// Writes `bytes` bytes of weight-like data: N(0, 0.02) values (as f32, or their bf16 top
/// halves) drawn from a precomputed table, so generating 1 GiB costs little time.
bool writeWeights(const std::string& path, uint64_t bytes, bool bf16)
{
    std::mt19937_64 rng(1234);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> table(1u << 16);
    for (float& v : table)
        v = normal(rng);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    std::vector<uint32_t> block(1u << 20);
    uint64_t x = 88172645463325252ull, written = 0;
    bool ok = true;
    while (ok && written < bytes) {
        for (auto& w : block) { // xorshift64 picks table entries (two per word for bf16)
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint32_t a, b;
            std::memcpy(&a, &table[x & 0xffff], 4);
            std::memcpy(&b, &table[(x >> 16) & 0xffff], 4);
            w = bf16 ? (a >> 16) | (b & 0xffff0000u) : a;
        }
        const uint64_t n = std::min<uint64_t>(bytes - written, block.size() * 4);
        ok = std::fwrite(block.data(), 1, n, f) == n;
        written += n;
    }
    return std::fclose(f) == 0 && ok;
}

/// The reference: every uint64 word of the mapping summed, 2 threads, in 4 MiB chunks.
uint64_t plainReadLoop(const MappedFile& file)
{
    const uint64_t words = file.size() / 8, perChunk = kReadChunk / 8;
    std::vector<uint64_t> sums(kThreads * 8, 0); // a cache line per thread
    parallelChunks((words + perChunk - 1) / perChunk, kThreads, [&](uint64_t c, unsigned t) {
        const auto* p = reinterpret_cast<const uint64_t*>(file.data()) + c * perChunk;
        const uint64_t n = std::min(perChunk, words - c * perChunk);
        uint64_t s = 0;
#pragma omp simd reduction(+ : s)
        for (uint64_t i = 0; i < n; ++i)
            s += p[i];
        sums[t * 8] += s;
    });
    uint64_t total = 0;
    for (uint64_t s : sums)
        total += s;
    return total;
}

/// CPU seconds used by the whole process (all threads) so far.
double cpuSeconds()
{
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Timing {
    double wall = 1e300, cpu = 0; ///< the fastest run's wall time, and its CPU time
};

template <class F> Timing bestOf(int runs, F&& f)
{
    Timing best;
    for (int i = 0; i < runs; ++i) {
        const double t0 = seconds(), c0 = cpuSeconds();
        f();
        const double wall = seconds() - t0;
        if (wall < best.wall) best = {wall, cpuSeconds() - c0};
    }
    return best;
}

/// Maps a fresh file of weights, then compares the statistics pass with the read loop.
bool benchDtype(DType dtype, uint64_t bytes)
{
    const bool bf16 = dtype == DType::BF16;
    const std::string path = tempPath(bf16 ? "qs-bench-bf16" : "qs-bench-f32");
    if (path.empty() || !writeWeights(path, bytes, bf16)) {
        std::fprintf(stderr, "error: cannot write %s\n", path.c_str());
        std::filesystem::remove(path);
        return false;
    }
    auto file = MappedFile::open(path);
    std::filesystem::remove(path); // the mapping keeps the data alive until we exit
    if (!file) {
        std::fprintf(stderr, "error: %s\n", file.error().message.c_str());
        return false;
    }
    TensorInfo t;
    t.name = bf16 ? "bench.bf16" : "bench.f32";
    t.dtype = dtype;
    t.typeName = std::string(dtypeName(dtype));
    const int64_t cols = 4096;
    t.shape = {int64_t(bytes / dtypeInfo(dtype).blockBytes) / cols, cols};
    t.outAxis = 0, t.inAxis = 1;
    t.bytes = bytes;
    t.storage = *file;

    volatile uint64_t sink = plainReadLoop(**file); // warm the page cache and the page tables
    StatsOptions opt;
    opt.threads = kThreads;
    bool statsOk = true;
    double mean = 0;
    const Timing readS = bestOf(3, [&] { sink = sink + plainReadLoop(**file); });
    const Timing statsS = bestOf(3, [&] {
        auto s = computeStats(t, opt);
        statsOk = statsOk && s.ok();
        if (s) mean = s->mean;
    });
    if (!statsOk) {
        std::fprintf(stderr, "error: computeStats failed on %s\n", t.name.c_str());
        return false;
    }
    const double gb = double(bytes) / 1e9, ratio = readS.wall / statsS.wall;
    // CPU/wall shows whether both threads really ran (the machine may be shared).
    std::printf("%-5s %5.0f MiB  read loop %6.2f GB/s (cpu/wall %.2f)  stats %6.2f GB/s "
                "(cpu/wall %.2f)  ratio %.2f  %s  (mean %.2e)\n",
                t.typeName.c_str(), double(bytes) / 1048576.0, gb / readS.wall,
                readS.cpu / readS.wall, gb / statsS.wall, statsS.cpu / statsS.wall, ratio,
                ratio >= 0.6 ? "PASS" : "MISS", mean);
    return true;
}

/// A safetensors file with 64 F32 tensors of 8192 x 8192 (16 GiB of data), sparse.
bool benchOpen()
{
    const std::string path = tempPath("qs-bench-sparse") + ".safetensors";
    constexpr int kTensors = 64;
    constexpr uint64_t kTensorBytes = 8192ull * 8192 * 4;
    std::string json = "{\"__metadata__\":{\"format\":\"pt\"}";
    for (int i = 0; i < kTensors; ++i) {
        json += ",\"model.layers." + std::to_string(i) +
                ".mlp.weight\":{\"dtype\":\"F32\","
                "\"shape\":[8192,8192],\"data_offsets\":[" +
                std::to_string(i * kTensorBytes) + "," + std::to_string((i + 1) * kTensorBytes) +
                "]}";
    }
    json += "}";
    json.append((8 - json.size() % 8) % 8, ' ');
    const uint64_t headerLen = json.size();
    FILE* f = std::fopen(path.c_str(), "wb");
    bool ok = f && std::fwrite(&headerLen, 8, 1, f) == 1 &&
              std::fwrite(json.data(), 1, json.size(), f) == json.size();
    ok = f && std::fclose(f) == 0 && ok;
    ok = ok && ::truncate(path.c_str(), off_t(8 + headerLen + kTensors * kTensorBytes)) == 0;
    std::filesystem::remove(path.substr(0, path.size() - 12)); // mkstemp's placeholder
    if (!ok) {
        std::fprintf(stderr, "error: cannot write %s\n", path.c_str());
        std::filesystem::remove(path);
        return false;
    }
    size_t tensors = 0;
    std::string error;
    const double openS = bestOf(5, [&] {
                             auto m = qs::io::openModel(path);
                             if (m)
                                 tensors = m->tensors.size();
                             else
                                 error = m.error().message;
                         }).wall;
    std::filesystem::remove(path);
    if (!error.empty()) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return false;
    }
    std::printf("open  16 GiB sparse safetensors (%zu tensors)  %.4f s  %s\n", tensors, openS,
                openS < 0.2 ? "PASS" : "MISS");
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    const uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
    if (mib == 0 || mib > (1u << 20)) {
        std::fprintf(stderr, "usage: bench_stats [MiB per tensor file, default 1024]\n");
        return 2;
    }
    std::printf("bench_stats: %u threads, best of 3 (open: best of 5)\n", kThreads);
    const uint64_t bytes = mib << 20;
    bool ok = benchDtype(DType::F32, bytes);
    ok = benchDtype(DType::BF16, bytes) && ok;
    ok = benchOpen() && ok;
    return ok ? 0 : 1;
}
