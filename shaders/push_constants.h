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

#include "common/push_stats.h"
#include "common/push_metric_sums.h"
#include "common/push_error_map.h"

static_assert(sizeof(TensorStatsPush) == 44);
static_assert(offsetof(TensorStatsPush, shift) == 4 && offsetof(TensorStatsPush, scale) == 8);
static_assert(offsetof(TensorStatsPush, outDim) == 12 && offsetof(TensorStatsPush, inStride) == 40);
static_assert(sizeof(MetricSumsPush) == 4);
static_assert(sizeof(ErrorMapPush) == 16);
static_assert(offsetof(ErrorMapPush, kind) == 8 && offsetof(ErrorMapPush, pooling) == 12);
} // namespace qs::shaders

namespace qs::shaders {
#include "common/push_quantize_blocks.h"

static_assert(sizeof(QuantizeBlocksPush) == 16);
static_assert(offsetof(QuantizeBlocksPush, blocks) == 0 && offsetof(QuantizeBlocksPush, cols) == 4 &&
              offsetof(QuantizeBlocksPush, perRow) == 8 && offsetof(QuantizeBlocksPush, tensorScale) == 12);
} // namespace qs::shaders

namespace qs::shaders {
#include "common/push_linear.h"

static_assert(sizeof(LinearPush) == 32);
static_assert(offsetof(LinearPush, batch) == 0 && offsetof(LinearPush, inFeatures) == 4);
static_assert(offsetof(LinearPush, rowWords) == 12 && offsetof(LinearPush, outStride) == 20);
static_assert(offsetof(LinearPush, groupWidth) == 24 && offsetof(LinearPush, groupsPerRow) == 28);
#include "common/push_quantize.h"

static_assert(sizeof(QuantizeRangePush) == 16);
static_assert(offsetof(QuantizeRangePush, perRow) == 12);
static_assert(sizeof(QuantizeEncodePush) == 72);
static_assert(offsetof(QuantizeEncodePush, rounding) == 20);
static_assert(offsetof(QuantizeEncodePush, seedLo) == 32);
static_assert(offsetof(QuantizeEncodePush, expBits) == 48);
static_assert(offsetof(QuantizeEncodePush, saturate) == 68);
} // namespace qs::shaders

namespace qs::shaders {
#include "common/push_gemm.h"

static_assert(sizeof(SgemmPush) == 28);
static_assert(offsetof(SgemmPush, k) == 8 && offsetof(SgemmPush, ldb) == 16 && offsetof(SgemmPush, transB) == 24);
} // namespace qs::shaders
