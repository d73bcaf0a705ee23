#pragma once
/// The parallel chunk loop the quantizers and codecs share (progress and cancellation).
#include "core/progress.h"
#include "core/result.h"

#include <cstdint>
#include <functional>

namespace qs::quant {

/// Runs fn(begin, end, thread) over [0, count) in chunks of `chunk` on the process-wide thread
/// pool (core::parallelChunks, chunkThreads() threads), reporting (doneBefore + finished,
/// total) to `progress` after each chunk. Returns
/// Cancelled (naming `what`) when the progress asks to stop.
core::Status forChunks(int64_t count, int64_t chunk, core::Progress* progress,
                       uint64_t doneBefore, uint64_t total, const char* what,
                       const std::function<void(int64_t, int64_t, unsigned)>& fn);

/// Threads forChunks uses: every `thread` it passes is below this (for per-thread scratch).
unsigned chunkThreads();

} // namespace qs::quant
