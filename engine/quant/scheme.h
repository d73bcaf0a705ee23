#pragma once
/// A quantization scheme: a number format plus its granularity and options, parsed from the
/// short strings the CLI and saved plans use ("int8", "int4:g128:asym", "nf4:g64:dq", "q4_k").
#include "core/dtype.h"
#include "core/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace qs::quant {

enum class Family : uint8_t {
    Int,     ///< INT2..INT8, symmetric (signed, zero point 0) or asymmetric (unsigned + zero point)
    Fp8E4M3, ///< OCP E4M3FN with an F32 scale per tensor or channel
    Fp8E5M2, ///< E5M2 with an F32 scale per tensor or channel
    MxFp4,   ///< OCP MX: 32 E2M1 values + one E8M0 power-of-two scale (4.25 bits/weight)
    MxFp8,   ///< OCP MX: 32 E4M3 values + one E8M0 scale (8.25 bits/weight)
    NvFp4,   ///< 16 E2M1 values + one E4M3 block scale, plus one F32 tensor scale
    Nf4,     ///< QLoRA NormalFloat4: 16 levels, absmax per block (64), optional double quant
    Ggml,    ///< a GGUF block type, byte-identical to ggml's reference quantizer
};

enum class Granularity : uint8_t {
    Tensor,    ///< one scale for the whole tensor
    Channel,   ///< one scale per output channel (row)
    InChannel, ///< one scale per input channel (column)
    Group,     ///< one scale per `groupSize` consecutive input channels of a row
};

enum class Rounding : uint8_t {
    NearestEven, ///< round half to even (default; what hardware and numpy.round do)
    HalfAway,    ///< round half away from zero (C's std::round)
    Stochastic,  ///< floor(x + u), u ~ U[0,1) from a seeded generator: unbiased in expectation
};

/// What to do with values above the format's largest finite value (FP8 E4M3 has no Inf).
enum class Overflow : uint8_t { Saturate, NaN };

struct Scheme {
    Family family = Family::Int;
    int bits = 8;                 ///< Int: 2..8; the element width otherwise
    bool asymmetric = false;      ///< Int only
    Granularity granularity = Granularity::Channel;
    int groupSize = 0;            ///< Group: 32/64/128/256; block size of MX (32), NV (16), NF4
    Rounding rounding = Rounding::NearestEven;
    uint64_t seed = 0;            ///< Stochastic rounding seed
    Overflow overflow = Overflow::Saturate;
    bool doubleQuant = false;     ///< NF4: quantize the block absmax values to 8 bits
    core::DType ggmlType = core::DType::Unsupported; ///< Ggml family: Q8_0, Q4_K, ...

    /// The canonical spelling; parseScheme(spec()) gives back an equal scheme.
    std::string spec() const;
    bool operator==(const Scheme&) const = default;
};

/// Parses a scheme string: `FORMAT[:OPTION]...`.
///   FORMAT  int2..int8 | fp8_e4m3 | fp8_e5m2 | mxfp4 | mxfp8 | nvfp4 | nf4 |
///           q8_0 | q4_0 | q4_1 | q5_0 | q5_1 | q4_k | q5_k | q6_k
///   OPTION  tensor | channel | inchannel | gN (group of N along the input axis) |
///           sym | asym | rne | away | stochastic[=SEED] | sat | nan | dq
/// Defaults: int = per-channel symmetric, fp8 = per-channel, nf4 = g64.
/// An unknown format or option gives an InvalidArgument error listing what is valid.
core::Result<Scheme> parseScheme(std::string_view text);

} // namespace qs::quant
