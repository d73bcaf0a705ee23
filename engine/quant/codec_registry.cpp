// The codec registry: one line per format family.
#include "codec.h"

#include <string>

namespace qs::quant {

std::unique_ptr<Codec> makeScaledCodec(const Scheme& s);     // codecs/scaled_codec.cpp
std::unique_ptr<Codec> makeBlockFloatCodec(const Scheme& s); // codecs/block_float_codec.cpp
std::unique_ptr<Codec> makeNf4Codec(const Scheme& s);        // codecs/nf4_codec.cpp
std::unique_ptr<Codec> makeGgmlCodec(const Scheme& s);       // codecs/ggml_codec.cpp

namespace {

struct Registration {
    Family family;
    std::unique_ptr<Codec> (*make)(const Scheme&);
};

constexpr Registration kCodecs[] = {
    {Family::Int, makeScaledCodec},       {Family::Fp8E4M3, makeScaledCodec},
    {Family::Fp8E5M2, makeScaledCodec},   {Family::MxFp4, makeBlockFloatCodec},
    {Family::MxFp8, makeBlockFloatCodec}, {Family::NvFp4, makeBlockFloatCodec},
    {Family::Nf4, makeNf4Codec},          {Family::Ggml, makeGgmlCodec},
};

core::Status checkScheme(const Scheme& s)
{
    auto bad = [&](const std::string& why) {
        return core::makeError(core::ErrorCode::InvalidArgument, "quantize '" + s.spec() + "': " + why);
    };
    if (s.family == Family::Int && (s.bits < 2 || s.bits > 8))
        return bad("int bits " + std::to_string(s.bits) + " outside 2..8");
    const bool sized = (s.family == Family::Int || s.family == Family::Fp8E4M3 || s.family == Family::Fp8E5M2) &&
                       s.granularity == Granularity::Group;
    if ((sized || s.family == Family::Nf4) && (s.groupSize < 1 || s.groupSize > (1 << 20)))
        return bad("group size " + std::to_string(s.groupSize) + " outside 1..1048576");
    return core::Status::success();
}

} // namespace

core::Result<std::unique_ptr<Codec>> makeCodec(const Scheme& scheme)
{
    if (auto st = checkScheme(scheme); !st) return st.error();
    for (const auto& r : kCodecs)
        if (r.family == scheme.family) return r.make(scheme);
    return core::makeError(core::ErrorCode::InvalidArgument, "quantize: no codec for scheme '" + scheme.spec() + "'");
}

} // namespace qs::quant
