#include "onednn_linear.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <optional>
#include <vector>

namespace qs::backends::onednn {

using core::Error;
using core::ErrorCode;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

namespace {

/// Turns a oneDNN exception into an Error at the backend boundary.
template <class F>
auto catchOnednn(const char* what, F&& f) -> decltype(f())
{
    try {
        return f();
    } catch (const dnnl::error& e) {
        return Error{ErrorCode::Unsupported, std::string("oneDNN ") + what + ": " + e.what()};
    } catch (const std::exception& e) {
        return Error{ErrorCode::Io, std::string("oneDNN ") + what + ": " + e.what()};
    }
}

dnnl::engine& cpuEngine()
{
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::memory::desc matrixDesc(int64_t rows, int64_t cols, dt type, tag layout)
{
    return dnnl::memory::desc({rows, cols}, type, layout);
}

/// Reorders `src` into a new memory of `dstDesc`, with optional per-row output scales.
dnnl::memory reorderTo(const dnnl::memory& src, const dnnl::memory::desc& dstDesc,
                       const dnnl::primitive_attr& attr = {})
{
    dnnl::memory dst(dstDesc, cpuEngine());
    dnnl::stream stream(cpuEngine());
    dnnl::reorder::primitive_desc pd(cpuEngine(), src.get_desc(), cpuEngine(), dstDesc, attr);
    dnnl::reorder(pd).execute(stream, const_cast<dnnl::memory&>(src), dst);
    stream.wait();
    return dst;
}

bool slowInt8Kernel(const std::string& impl)
{
    return impl.find("gemm:jit") != std::string::npos || impl.find("ref") != std::string::npos;
}

} // namespace

struct Linear::State {
    Precision precision = Precision::F32;
    int64_t batch = 0, in = 0, out = 0;
    dnnl::stream stream{cpuEngine()};
    dnnl::matmul matmul;
    dnnl::memory weights; ///< prepacked in the primitive's preferred layout
    dnnl::memory src;     ///< the matmul's source (f32 user buffer, or bf16/int8 converted)
    dnnl::memory dst;     ///< f32
    dnnl::memory userSrc; ///< f32 [batch, in] the caller's x is copied into
    std::optional<dnnl::reorder> srcConvert; ///< f32 -> bf16/u8/s8 activation conversion
    std::string impl;
};

Linear::Linear(std::unique_ptr<State> state) : m_state(std::move(state)) {}
Linear::~Linear() = default;

namespace {

/// Builds the matmul for src type `srcType` and weights `weightsUser` ([out, in] row-major
/// user memory), prepacks the weights and prepares the source conversion.
void buildState(Linear::State& s, dt srcType, dt weightType, const dnnl::memory& weightsUser,
                const dnnl::primitive_attr& mmAttr, const dnnl::primitive_attr& srcAttr);

} // namespace

core::Result<std::unique_ptr<Linear>> Linear::create(const quant::Matrix& w, int64_t batch,
                                                     Precision precision)
{
    if (precision == Precision::Int8)
        return Error{ErrorCode::InvalidArgument, "oneDNN linear: use createInt8 for int8"};
    if (precision == Precision::WeightOnly)
        return Error{ErrorCode::Unsupported, "oneDNN linear: oneDNN 2.6 has no weight-only formats"};
    if (w.rows <= 0 || w.cols <= 0 || batch <= 0)
        return Error{ErrorCode::InvalidArgument, "oneDNN linear: empty weights or batch"};
    return catchOnednn("linear (f32/bf16/f16)", [&]() -> core::Result<std::unique_ptr<Linear>> {
        auto s = std::make_unique<State>();
        s->precision = precision;
        s->batch = batch, s->in = w.cols, s->out = w.rows;
        // [out, in] row-major is the [in, out] ("K x N") matrix in column-major order: tag ba.
        dnnl::memory user(matrixDesc(w.cols, w.rows, dt::f32, tag::ba), cpuEngine(),
                          const_cast<float*>(w.data.data()));
        const dt type = precision == Precision::BF16  ? dt::bf16
                        : precision == Precision::F16 ? dt::f16
                                                      : dt::f32;
        buildState(*s, type, type, user, {}, {});
        return std::unique_ptr<Linear>(new Linear(std::move(s)));
    });
}

core::Result<std::unique_ptr<Linear>> Linear::createInt8(const Int8Weights& w, int64_t batch,
                                                         const ActivationRange& range)
{
    const auto n = static_cast<uint64_t>(std::max<int64_t>(w.rows, 0)) *
                   static_cast<uint64_t>(std::max<int64_t>(w.cols, 0));
    if (w.rows <= 0 || w.cols <= 0 || batch <= 0 || w.codes.size() != n ||
        w.scales.size() != static_cast<uint64_t>(w.rows))
        return Error{ErrorCode::InvalidArgument,
                     "oneDNN int8 linear: codes must be rows*cols and scales one per row"};
    if (!(range.absmax > 0.0f) || !std::isfinite(range.absmax))
        return Error{ErrorCode::InvalidArgument,
                     "oneDNN int8 linear: the activation range must be positive and finite"};
    return catchOnednn("linear (int8)", [&]() -> core::Result<std::unique_ptr<Linear>> {
        auto s = std::make_unique<State>();
        s->precision = Precision::Int8;
        s->batch = batch, s->in = w.cols, s->out = w.rows;
        const dt srcType = range.nonNegative ? dt::u8 : dt::s8;
        const float sx = activationScale(range); // the definition the reference uses
        dnnl::primitive_attr srcAttr; // x -> round(x / sx), saturated
        srcAttr.set_output_scales(0, {1.0f / sx});
        std::vector<float> outScales(w.scales.begin(), w.scales.end());
        for (float& v : outScales)
            v *= sx;
        dnnl::primitive_attr mmAttr; // int32 accumulator * sx * sw[n], per column of dst
        mmAttr.set_output_scales(1 << 1, outScales);
        dnnl::memory user(matrixDesc(w.cols, w.rows, dt::s8, tag::ba), cpuEngine(),
                          const_cast<int8_t*>(w.codes.data()));
        buildState(*s, srcType, dt::s8, user, mmAttr, srcAttr);
        return std::unique_ptr<Linear>(new Linear(std::move(s)));
    });
}

namespace {

void buildState(Linear::State& s, dt srcType, dt weightType, const dnnl::memory& weightsUser,
                const dnnl::primitive_attr& mmAttr, const dnnl::primitive_attr& srcAttr)
{
    auto& eng = cpuEngine();
    const auto srcDesc = matrixDesc(s.batch, s.in, srcType, tag::ab);
    const auto anyWeights = matrixDesc(s.in, s.out, weightType, tag::any);
    const auto dstDesc = matrixDesc(s.batch, s.out, dt::f32, tag::ab);
    dnnl::matmul::desc desc(srcDesc, anyWeights, dstDesc);
    dnnl::matmul::primitive_desc pd(desc, mmAttr, eng);
    s.impl = pd.impl_info_str();
    s.matmul = dnnl::matmul(pd);
    s.weights = reorderTo(weightsUser, pd.weights_desc()); // prepack once
    s.userSrc = dnnl::memory(matrixDesc(s.batch, s.in, dt::f32, tag::ab), eng);
    s.dst = dnnl::memory(dstDesc, eng);
    if (srcType == dt::f32) {
        s.src = s.userSrc;
    } else {
        s.src = dnnl::memory(srcDesc, eng);
        dnnl::reorder::primitive_desc rpd(eng, s.userSrc.get_desc(), eng, srcDesc, srcAttr);
        s.srcConvert = dnnl::reorder(rpd);
    }
}

} // namespace

core::Status Linear::run(std::span<const float> x, std::span<float> y)
{
    State& s = *m_state;
    if (x.size() != static_cast<size_t>(s.batch * s.in) ||
        y.size() != static_cast<size_t>(s.batch * s.out))
        return Error{ErrorCode::InvalidArgument, "oneDNN linear: x or y has the wrong size"};
    return catchOnednn("linear run", [&]() -> core::Status {
        std::memcpy(s.userSrc.get_data_handle(), x.data(), x.size_bytes());
        if (s.srcConvert)
            s.srcConvert->execute(s.stream, s.userSrc, s.src);
        s.matmul.execute(s.stream, {{DNNL_ARG_SRC, s.src},
                                    {DNNL_ARG_WEIGHTS, s.weights},
                                    {DNNL_ARG_DST, s.dst}});
        s.stream.wait();
        std::memcpy(y.data(), s.dst.get_data_handle(), y.size_bytes());
        return core::Status{};
    });
}

Precision Linear::precision() const { return m_state->precision; }
const std::string& Linear::implementation() const { return m_state->impl; }

bool Linear::isSlowPath() const
{
    return m_state->precision == Precision::Int8 && slowInt8Kernel(m_state->impl);
}

uint64_t Linear::weightBytes() const { return m_state->weights.get_desc().get_size(); }

core::Result<std::vector<int8_t>> reorderQuantizeInt8(const quant::Matrix& w,
                                                      std::span<const float> scales)
{
    if (w.rows <= 0 || w.cols <= 0 || scales.size() != static_cast<size_t>(w.rows))
        return Error{ErrorCode::InvalidArgument,
                     "oneDNN reorder: need a non-empty matrix and one scale per row"};
    return catchOnednn("reorder f32 -> s8", [&]() -> core::Result<std::vector<int8_t>> {
        std::vector<float> inverse(scales.size());
        for (size_t i = 0; i < scales.size(); ++i)
            inverse[i] = 1.0f / scales[i];
        dnnl::primitive_attr attr;
        attr.set_output_scales(1 << 0, inverse); // one scale per row (dimension 0)
        dnnl::memory src(matrixDesc(w.rows, w.cols, dt::f32, tag::ab), cpuEngine(),
                         const_cast<float*>(w.data.data()));
        std::vector<int8_t> codes(static_cast<size_t>(w.rows * w.cols));
        dnnl::memory dst(matrixDesc(w.rows, w.cols, dt::s8, tag::ab), cpuEngine(), codes.data());
        dnnl::stream stream(cpuEngine());
        dnnl::reorder::primitive_desc pd(cpuEngine(), src.get_desc(), cpuEngine(),
                                         dst.get_desc(), attr);
        dnnl::reorder(pd).execute(stream, src, dst);
        stream.wait();
        return codes;
    });
}

core::Status f16MatmulSupport()
{
    static const core::Status support = catchOnednn("f16 matmul", []() -> core::Status {
        const auto src = matrixDesc(1, 16, dt::f16, tag::ab);
        const auto weights = matrixDesc(16, 16, dt::f16, tag::any);
        const auto dst = matrixDesc(1, 16, dt::f32, tag::ab);
        dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), cpuEngine());
        return core::Status{};
    });
    return support;
}

std::string cpuIsaName()
{
    switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 with AMX";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 with VNNI and BF16";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 with VNNI";
    case dnnl::cpu_isa::avx512_core: return "AVX-512 (no VNNI: int8 products saturate at int16)";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2 with VNNI";
    case dnnl::cpu_isa::avx2: return "AVX2 (no VNNI: int8 products saturate at int16)";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    default: return "other";
    }
}

} // namespace qs::backends::onednn
