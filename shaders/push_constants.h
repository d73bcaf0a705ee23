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
#include "common/push_linear.h"

static_assert(sizeof(LinearPush) == 44);
static_assert(offsetof(LinearPush, batch) == 0 && offsetof(LinearPush, inFeatures) == 4);
static_assert(offsetof(LinearPush, rowWords) == 12 && offsetof(LinearPush, outStride) == 20);
static_assert(offsetof(LinearPush, granularity) == 32 && offsetof(LinearPush, groupsPerRow) == 40);
} // namespace qs::shaders
