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

#include "common/push_quantize.h"

static_assert(sizeof(QuantizeRangePush) == 16);
static_assert(offsetof(QuantizeRangePush, perRow) == 12);
static_assert(sizeof(QuantizeEncodePush) == 72);
static_assert(offsetof(QuantizeEncodePush, rounding) == 20);
static_assert(offsetof(QuantizeEncodePush, seedLo) == 32);
static_assert(offsetof(QuantizeEncodePush, expBits) == 48);
static_assert(offsetof(QuantizeEncodePush, saturate) == 68);
} // namespace qs::shaders
