#pragma once
/// Time a compute device spent on work, from the device's own clock where it has one: the GPU
/// timestamps written around each dispatch, beside the CPU wall time from submit to fence.
/// Summed over dispatches; a dispatch without timestamps counts for the wall time only.
#include <cstdint>
#include <optional>

namespace qs::core {

struct DeviceTime {
    uint64_t dispatches = 0;
    uint64_t timedDispatches = 0; ///< dispatches with a GPU time
    double wallSeconds = 0;       ///< over all dispatches
    double gpuSeconds = 0;        ///< over timedDispatches

    /// One dispatch: its wall time and, where the queue has timestamps, its GPU time.
    void add(double wall, std::optional<double> gpu)
    {
        ++dispatches;
        wallSeconds += wall;
        if (gpu) {
            ++timedDispatches;
            gpuSeconds += *gpu;
        }
    }
    void add(const DeviceTime& o)
    {
        dispatches += o.dispatches;
        timedDispatches += o.timedDispatches;
        wallSeconds += o.wallSeconds;
        gpuSeconds += o.gpuSeconds;
    }
};

} // namespace qs::core
