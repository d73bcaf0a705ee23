#include "scheme.h"

#include <array>
#include <charconv>
#include <optional>

namespace qs::quant {

namespace {

using core::DType;
using core::ErrorCode;

struct FormatName {
    std::string_view name;
    Family family;
    int bits;
    DType ggml;
};

constexpr std::array<FormatName, 22> kFormats{{
    {"int2", Family::Int, 2, DType::Unsupported},
    {"int3", Family::Int, 3, DType::Unsupported},
    {"int4", Family::Int, 4, DType::Unsupported},
    {"int5", Family::Int, 5, DType::Unsupported},
    {"int6", Family::Int, 6, DType::Unsupported},
    {"int7", Family::Int, 7, DType::Unsupported},
    {"int8", Family::Int, 8, DType::Unsupported},
    {"fp8_e4m3", Family::Fp8E4M3, 8, DType::Unsupported},
    {"fp8_e5m2", Family::Fp8E5M2, 8, DType::Unsupported},
    {"mxfp4", Family::MxFp4, 4, DType::Unsupported},
    {"mxfp8", Family::MxFp8, 8, DType::Unsupported},
    {"nvfp4", Family::NvFp4, 4, DType::Unsupported},
    {"nf4", Family::Nf4, 4, DType::Unsupported},
    {"q8_0", Family::Ggml, 8, DType::Q8_0},
    {"q4_0", Family::Ggml, 4, DType::Q4_0},
    {"q4_1", Family::Ggml, 4, DType::Q4_1},
    {"q5_0", Family::Ggml, 5, DType::Q5_0},
    {"q5_1", Family::Ggml, 5, DType::Q5_1},
    {"q4_k", Family::Ggml, 4, DType::Q4_K},
    {"q5_k", Family::Ggml, 5, DType::Q5_K},
    {"q6_k", Family::Ggml, 6, DType::Q6_K},
    {"", Family::Int, 0, DType::Unsupported}, // sentinel, never matched
}};

constexpr std::string_view kValidFormats =
    "int2..int8, fp8_e4m3, fp8_e5m2, mxfp4, mxfp8, nvfp4, nf4, q8_0, q4_0, q4_1, q5_0, q5_1, "
    "q4_k, q5_k, q6_k";
constexpr std::string_view kValidOptions =
    "tensor, channel, inchannel, gN (N = 1..1048576), sym, asym, rne, away, stochastic[=SEED], "
    "sat, nan, dq";

/// The fixed block of the block formats (MX 32, NVFP4 16); 0 where the group is free.
int fixedBlock(Family f)
{
    switch (f) {
    case Family::MxFp4:
    case Family::MxFp8: return 32;
    case Family::NvFp4: return 16;
    default: return 0;
    }
}

bool isBlockFamily(Family f)
{
    return f == Family::MxFp4 || f == Family::MxFp8 || f == Family::NvFp4 || f == Family::Nf4;
}

std::string_view formatName(const Scheme& s)
{
    for (const FormatName& f : kFormats) {
        if (f.name.empty()) break;
        if (f.family != s.family) continue;
        if (f.family == Family::Int && f.bits != s.bits) continue;
        if (f.family == Family::Ggml && f.ggml != s.ggmlType) continue;
        return f.name;
    }
    return "invalid";
}

std::optional<Scheme> defaultsFor(std::string_view format)
{
    for (const FormatName& f : kFormats) {
        if (f.name.empty() || f.name != format) continue;
        Scheme s;
        s.family = f.family;
        s.bits = f.bits;
        s.ggmlType = f.ggml;
        if (isBlockFamily(f.family)) {
            s.granularity = Granularity::Group;
            s.groupSize = f.family == Family::Nf4 ? 64 : fixedBlock(f.family);
        }
        return s;
    }
    return std::nullopt;
}

core::Error optionError(std::string_view text, std::string_view option, std::string_view why)
{
    return core::makeError(ErrorCode::InvalidArgument,
                           "scheme '" + std::string(text) + "': option '" +
                               std::string(option) + "' " + std::string(why) +
                               "; valid options: " + std::string(kValidOptions));
}

std::optional<uint64_t> parseNumber(std::string_view digits)
{
    uint64_t v = 0;
    if (digits.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return v;
}

/// Applies one option to `s`; an error names the option and why it does not fit.
std::optional<core::Error> applyOption(Scheme& s, std::string_view text, std::string_view opt)
{
    const bool intLike = s.family == Family::Int;
    const bool scaled = intLike || s.family == Family::Fp8E4M3 || s.family == Family::Fp8E5M2;
    if (s.family == Family::Ggml) return optionError(text, opt, "is not valid for GGUF formats");
    if (opt == "tensor" || opt == "channel" || opt == "inchannel") {
        if (!scaled) return optionError(text, opt, "is not valid for block formats");
        s.granularity = opt == "tensor"    ? Granularity::Tensor
                        : opt == "channel" ? Granularity::Channel
                                           : Granularity::InChannel;
    } else if (opt.size() > 1 && opt[0] == 'g') {
        const auto n = parseNumber(opt.substr(1));
        if (!n || *n < 1 || *n > (1u << 20)) return optionError(text, opt, "is not a group size");
        const int block = fixedBlock(s.family);
        if (block != 0 && int(*n) != block) {
            return optionError(text, opt,
                               "does not match the format's fixed block of " +
                                   std::to_string(block));
        }
        s.granularity = Granularity::Group;
        s.groupSize = int(*n);
    } else if (opt == "sym" || opt == "asym") {
        if (!intLike) return optionError(text, opt, "applies to int formats only");
        s.asymmetric = opt == "asym";
    } else if (opt == "rne" || opt == "away" || opt.starts_with("stochastic")) {
        if (!intLike) return optionError(text, opt, "applies to int formats only");
        if (opt == "rne" || opt == "away") {
            s.rounding = opt == "rne" ? Rounding::NearestEven : Rounding::HalfAway;
            return std::nullopt;
        }
        s.rounding = Rounding::Stochastic;
        s.seed = 0;
        if (opt.size() > 10) {
            const auto seed = opt[10] == '=' ? parseNumber(opt.substr(11)) : std::nullopt;
            if (!seed) return optionError(text, opt, "needs a decimal seed after '='");
            s.seed = *seed;
        }
    } else if (opt == "sat" || opt == "nan") {
        if (s.family != Family::Fp8E4M3 && s.family != Family::Fp8E5M2)
            return optionError(text, opt, "applies to fp8 formats only");
        s.overflow = opt == "sat" ? Overflow::Saturate : Overflow::NaN;
    } else if (opt == "dq") {
        if (s.family != Family::Nf4) return optionError(text, opt, "applies to nf4 only");
        s.doubleQuant = true;
    } else {
        return optionError(text, opt, "is unknown");
    }
    return std::nullopt;
}

} // namespace

std::string Scheme::spec() const
{
    std::string out(formatName(*this));
    if (family == Family::Ggml) return out;
    const bool scaled = family == Family::Int || family == Family::Fp8E4M3 ||
                        family == Family::Fp8E5M2;
    if (scaled) {
        switch (granularity) {
        case Granularity::Tensor: out += ":tensor"; break;
        case Granularity::Channel: break; // the default
        case Granularity::InChannel: out += ":inchannel"; break;
        case Granularity::Group: out += ":g" + std::to_string(groupSize); break;
        }
    } else if (family == Family::Nf4 && groupSize != 64) {
        out += ":g" + std::to_string(groupSize);
    }
    if (family == Family::Int && asymmetric) out += ":asym";
    if (family == Family::Int && rounding == Rounding::HalfAway) out += ":away";
    if (family == Family::Int && rounding == Rounding::Stochastic) {
        out += seed == 0 ? std::string(":stochastic") : ":stochastic=" + std::to_string(seed);
    }
    if (overflow == Overflow::NaN) out += ":nan";
    if (doubleQuant) out += ":dq";
    return out;
}

core::Result<Scheme> parseScheme(std::string_view text)
{
    const size_t colon = text.find(':');
    const std::string_view format = text.substr(0, colon);
    auto scheme = defaultsFor(format);
    if (!scheme) {
        return core::makeError(ErrorCode::InvalidArgument,
                               "scheme '" + std::string(text) + "': unknown format '" +
                                   std::string(format) + "'; valid formats: " +
                                   std::string(kValidFormats));
    }
    std::string_view rest = colon == std::string_view::npos ? std::string_view{}
                                                            : text.substr(colon + 1);
    while (colon != std::string_view::npos) {
        const size_t next = rest.find(':');
        const std::string_view opt = rest.substr(0, next);
        if (opt.empty()) return optionError(text, opt, "is empty");
        if (auto err = applyOption(*scheme, text, opt)) return *err;
        if (next == std::string_view::npos) break;
        rest = rest.substr(next + 1);
    }
    // Normal form, so that spec() round-trips: a group size only with group granularity and a
    // seed only with stochastic rounding.
    if (scheme->granularity != Granularity::Group) scheme->groupSize = 0;
    if (scheme->rounding != Rounding::Stochastic) scheme->seed = 0;
    return *scheme;
}

} // namespace qs::quant
