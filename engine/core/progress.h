#pragma once
/// Progress reporting and cancellation for long engine operations. The engine never touches a
/// GUI; the caller decides what a report does (the GUI posts it to its thread).
#include <atomic>
#include <cstdint>
#include <functional>

namespace qs::core {

struct Progress {
    /// Set by the caller (any thread) to ask the operation to stop; it then returns Cancelled.
    std::atomic<bool> cancelRequested{false};
    /// Called from worker threads with (done, total) work units; may be empty. Must be cheap
    /// and thread-safe.
    std::function<void(uint64_t done, uint64_t total)> report;

    bool cancelled() const { return cancelRequested.load(std::memory_order_relaxed); }
};

} // namespace qs::core
