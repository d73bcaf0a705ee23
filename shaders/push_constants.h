#pragma once
/// The C++ side of the push-constant blocks in shaders/common/push_*.h: the same header the
/// shaders include, seen as C++ structs, with their sizes and offsets checked against the
/// std430 layout GLSL gives them (4-byte scalars at consecutive offsets).
#include "common/push_layout.h" // first: it includes <cstdint> outside the namespace

#include <cstddef>

namespace qs::shaders {
#include "common/push_probe.h"

static_assert(sizeof(ReadBandwidthPush) == 4);
static_assert(offsetof(ReadBandwidthPush, count) == 0);
} // namespace qs::shaders

namespace qs::shaders {
#include "common/push_quantize_blocks.h"

static_assert(sizeof(QuantizeBlocksPush) == 16);
static_assert(offsetof(QuantizeBlocksPush, blocks) == 0 && offsetof(QuantizeBlocksPush, cols) == 4 &&
              offsetof(QuantizeBlocksPush, perRow) == 8 && offsetof(QuantizeBlocksPush, tensorScale) == 12);
} // namespace qs::shaders
