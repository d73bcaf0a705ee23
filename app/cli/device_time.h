#pragma once
/// The Vulkan backend's dispatch timings in a command's report (quantize, inspect --stats):
/// the GPU time between the timestamps around each dispatch, and the CPU wall time from its
/// submit to its fence, each summed over the dispatches the command ran; and a note when its
/// pipeline-cache file was not usable.
#include "backends/backend.h"
#include "backends/vulkan/vk_device.h"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>

namespace qs::cli {

/// The totals of `backend` when it is the Vulkan backend; nullopt for the others.
std::optional<backends::vulkan::DispatchTotals> deviceTime(const backends::Backend& backend);

/// "device time: GPU 1.25 ms over 8 dispatches, wall 3.5 ms from submit to fence", saying so
/// where some or all dispatches have no GPU time, or where none ran.
std::string deviceTimeText(const backends::vulkan::DispatchTotals& t);

/// {"dispatches", "timed_dispatches", "gpu_ms" (null without timed dispatches), "wall_ms"}.
nlohmann::ordered_json deviceTimeJson(const backends::vulkan::DispatchTotals& t);

/// Prints "note: WARNING" to `err` when the backend has a warning (Backend::warning: e.g. the
/// Vulkan pipeline-cache file was ignored or could not be written); else nothing.
void printPipelineCacheWarning(const backends::Backend& backend, std::ostream& err);

} // namespace qs::cli
