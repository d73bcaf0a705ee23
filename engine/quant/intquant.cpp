// The parallel chunk loop of the quantizers.
#include "intquant.h"


#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <string>

namespace qs::quant {

unsigned chunkThreads() { return core::defaultThreadCount(); }

core::Status forChunks(int64_t count, int64_t chunk, core::Progress* progress,
                       uint64_t doneBefore, uint64_t total, const char* what,
                       const std::function<void(int64_t, int64_t, unsigned)>& fn)
{
    auto cancelled = [progress] { return progress != nullptr && progress->cancelled(); };
    if (count > 0) {
        chunk = std::max<int64_t>(chunk, 1);
        const auto chunks = uint64_t((count + chunk - 1) / chunk);
        std::atomic<uint64_t> done{0};
        auto body = [&](uint64_t c, unsigned thread) {
            const int64_t begin = int64_t(c) * chunk;
            const int64_t end = std::min(count, begin + chunk);
            fn(begin, end, thread);
            const uint64_t now = done.fetch_add(uint64_t(end - begin)) + uint64_t(end - begin);
            if (progress != nullptr && progress->report) progress->report(doneBefore + now, total);
        };
        if (chunks == 1) {
            body(0, 0); // no hand-over to the pool for small work (GPTQ calls this per group)
        } else {
            core::parallelChunks(chunks, chunkThreads(), body, cancelled);
        }
    }
    if (cancelled()) {
        return core::makeError(core::ErrorCode::Cancelled, std::string(what) + ": cancelled");
    }
    return core::Status::success();
}

} // namespace qs::quant
