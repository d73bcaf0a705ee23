// Saving quantized models: every scheme's stored form, read back through our own reader and
// decoded here from the layout documented in quant/quantize.h and quant/stored.h (a second implementation: bit fields,
// the published E2M1 and NF4 tables, the reader's F16/E4M3 conversions), must reproduce the
// quantizer's dequantized weights exactly; GGUF blocks must be the quantizer's bytes.
#include "quant/quant_test_support.h"

#include "core/dtype.h"
#include "core/storage.h"
#include "io/modelreader.h"
#include "pipeline/save.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

using namespace qs;
using namespace qs::quant;
using namespace quanttest;
using qs::pipeline::saveQuantizedModel;

namespace {

/// A model held in memory: one weight [rows, cols] "layer.weight" and a bias "layer.bias".
struct MemoryModel {
    core::Model model;
    Matrix w;
};

MemoryModel memoryModel(int64_t rows, int64_t cols, uint64_t seed)
{
    MemoryModel m;
    std::mt19937_64 gen(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> v(size_t(rows * cols));
    for (auto& x : v) x = normal(gen);
    v[3] = 0.9f; // an outlier
    m.w = quanttest::matrixOf(rows, cols, v);
    m.model.path = "memory-model.safetensors";
    m.model.format = "safetensors";
    m.model.tensors.push_back(f32Tensor("layer.weight", {rows, cols}, v));
    m.model.tensors.push_back(f32Tensor("layer.bias", {rows}, {v.begin(), v.begin() + rows}));
    return m;
}

std::vector<uint8_t> bytesOf(const core::TensorInfo& t)
{
    auto span = t.storage->bytes();
    if (!span) return {};
    const auto* p = reinterpret_cast<const uint8_t*>(span->data()) + t.offset;
    return {p, p + t.bytes};
}

std::vector<float> floatsOf(const core::TensorInfo& t)
{
    const auto raw = bytesOf(t);
    std::vector<float> out(t.elementCount());
    if (!core::convertToF32(t.dtype, reinterpret_cast<const std::byte*>(raw.data()), out.size(), out.data()))
        return {};
    return out;
}

/// The b-bit field c of a row stored as a little-endian bit stream.
unsigned field(const uint8_t* row, int64_t c, int bits)
{
    unsigned v = 0;
    for (int k = 0; k < bits; ++k) {
        const int64_t bit = c * bits + k;
        v |= unsigned((row[bit / 8] >> (bit % 8)) & 1u) << k;
    }
    return v;
}

float e2m1(unsigned code)
{
    // OCP MX v1.0, table 5.
    static const float table[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                                    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
    return table[code & 15];
}

float nf4(unsigned code)
{
    // bitsandbytes functional.py / QLoRA appendix E.
    static const float levels[16] = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
        0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
        0.7229568362236023f, 1.0f};
    return levels[code & 15];
}

const core::TensorInfo* part(const core::Model& m, const std::string& name)
{
    return m.find(name);
}

/// Decodes "layer.weight" and its companions from a saved file into [rows, cols] floats.
std::vector<float> decode(const core::Model& m, const Scheme& s, int64_t rows, int64_t cols)
{
    const auto* codes = part(m, "layer.weight");
    const auto* scale = part(m, "layer.weight.scale");
    std::vector<float> out(size_t(rows * cols));
    if (!codes) return {};
    if (s.family == Family::Ggml) return floatsOf(*codes); // the reader decodes GGUF blocks
    const auto raw = bytesOf(*codes);
    const int64_t rowBytes = codes->shape.back();
    if (s.family == Family::Int) {
        const auto sc = floatsOf(*scale);
        const auto* zpT = part(m, "layer.weight.zero_point");
        const auto zp = zpT ? bytesOf(*zpT) : std::vector<uint8_t>{};
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                int q = int(field(raw.data() + r * rowBytes, c, s.bits));
                if (!s.asymmetric && q >= (1 << (s.bits - 1))) q -= 1 << s.bits; // two's complement
                size_t g = 0;
                if (s.granularity == Granularity::Channel) g = size_t(r);
                if (s.granularity == Granularity::InChannel) g = size_t(c);
                if (s.granularity == Granularity::Group)
                    g = size_t(r * ((cols + s.groupSize - 1) / s.groupSize) + c / s.groupSize);
                const float z = s.asymmetric ? float(zp[g]) : 0.0f;
                out[size_t(r * cols + c)] = (float(q) - z) * sc[g];
            }
        }
    } else if (s.family == Family::Fp8E4M3 || s.family == Family::Fp8E5M2) {
        const auto v = floatsOf(*codes);
        const auto sc = floatsOf(*scale);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
                out[size_t(r * cols + c)] = v[size_t(r * cols + c)] * sc[sc.size() == 1 ? 0 : size_t(r)];
    } else if (s.family == Family::MxFp4 || s.family == Family::MxFp8 || s.family == Family::NvFp4) {
        const bool nv = s.family == Family::NvFp4;
        const int64_t block = nv ? 16 : 32, gpr = (cols + block - 1) / block;
        const auto scRaw = bytesOf(*scale);
        const auto scF = nv ? floatsOf(*scale) : std::vector<float>{};
        const float t2 = nv ? floatsOf(*part(m, "layer.weight.scale_2"))[0] : 1.0f;
        const auto v8 = s.family == Family::MxFp8 ? floatsOf(*codes) : std::vector<float>{};
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                const size_t g = size_t(r * gpr + c / block);
                const float bs = nv ? scF[g] * t2 : std::ldexp(1.0f, int(scRaw[g]) - 127);
                const float e = s.family == Family::MxFp8 ? v8[size_t(r * cols + c)]
                                                          : e2m1(field(raw.data() + r * rowBytes, c, 4));
                out[size_t(r * cols + c)] = e * bs;
            }
        }
    } else if (s.family == Family::Nf4) {
        const int64_t block = s.groupSize, gpr = (cols + block - 1) / block;
        const auto* am = part(m, "layer.weight.absmax");
        std::vector<float> absmax;
        if (!s.doubleQuant) {
            absmax = floatsOf(*am);
        } else {
            const auto codesA = floatsOf(*am); // I8 codes as floats
            const auto chunkScale = floatsOf(*part(m, "layer.weight.absmax_scale"));
            const float mean = floatsOf(*part(m, "layer.weight.absmax_mean"))[0];
            for (size_t i = 0; i < codesA.size(); ++i) absmax.push_back(codesA[i] * chunkScale[i / 256] + mean);
        }
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) {
                const float a = absmax[size_t(r * gpr + c / block)];
                out[size_t(r * cols + c)] = a > 0.0f ? nf4(field(raw.data() + r * rowBytes, c, 4)) * a : 0.0f;
            }
        }
    }
    return out;
}

/// A GGUF v3 file written by hand from the GGUF specification: typed metadata (a string, a
/// u32, general.alignment = 64, an array of strings) and two F32 tensors, "blk.0.ffn.weight"
/// ne = [256, 4] holding `w` and "blk.0.norm" ne = [4] holding 1, 2, 3, 4.
QByteArray handWrittenGguf(const std::vector<float>& w)
{
    QByteArray b;
    const auto u32 = [&b](uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
    const auto u64 = [&b](uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); };
    const auto str = [&](const char* s) { u64(std::strlen(s)); b.append(s); };
    b.append("GGUF");
    u32(3);
    u64(2); // tensors
    u64(4); // key/values
    str("general.architecture"); u32(8); str("llama");
    str("llama.block_count"); u32(4); u32(2);
    str("general.alignment"); u32(4); u32(64);
    str("tokenizer.ggml.tokens"); u32(9); u32(8); u64(3); str("a"); str("bb"); str("ccc");
    str("blk.0.ffn.weight"); u32(2); u64(256); u64(4); u32(0); u64(0);
    str("blk.0.norm"); u32(1); u64(4); u32(0); u64(4096);
    while (b.size() % 64 != 0) b.append('\0');
    b.append(reinterpret_cast<const char*>(w.data()), qsizetype(w.size() * 4));
    const float norm[4] = {1, 2, 3, 4};
    b.append(reinterpret_cast<const char*>(norm), sizeof norm);
    return b;
}

std::string metadataValue(const core::Model& m, const std::string& key)
{
    int found = 0;
    std::string value;
    for (const auto& kv : m.metadata) {
        if (kv.key == key) { value = kv.value; ++found; }
    }
    return found == 1 ? value : "(" + std::to_string(found) + " entries)";
}

/// Saves `model` under `plan` into `dir` as `name`, then opens
/// the file back with our reader; the first error of either step.
core::Result<core::Model> saveAndOpen(const core::Model& model, const Plan& plan, const QTemporaryDir& dir,
                                      const char* name, const ApplyOptions& options = {},
                                      ModelReport* report = nullptr)
{
    const auto path = dir.filePath(name).toStdString();
    auto saved = saveQuantizedModel(model, plan, path, options);
    if (!saved) return saved.error();
    if (report) *report = *saved;
    return io::openModel(path);
}

} // namespace

class TestSave : public QObject {
    Q_OBJECT
private slots:
    void safetensorsDecodesExactly_data();
    void safetensorsDecodesExactly();
    void ggufHoldsTheBlocks_data();
    void ggufHoldsTheBlocks();
    void keptTensorsAreCopied();
    void awqStoresSmoothing();
    void gptqDecodesExactly_data();
    void gptqDecodesExactly();
    void outliersAreStored_data();
    void outliersAreStored();
    void ggufKeepsTypedMetadata();
    void refusals();
    void failedSaveKeepsExistingFile();
    void onlyOneTensor();
};

void TestSave::safetensorsDecodesExactly_data()
{
    QTest::addColumn<QString>("spec");
    // 7 x 70: partial groups and blocks, bit fields that straddle bytes.
    for (const char* s : {"int8", "int8:tensor", "int8:channel:asym", "int4:g32", "int4:g32:asym", "int3:g32",
                          "int5:g64:asym", "int2:inchannel", "int6:channel:stochastic=7", "fp8_e4m3",
                          "fp8_e5m2:tensor", "mxfp4", "mxfp8", "nvfp4", "nf4", "nf4:g32", "nf4:g64:dq"})
        QTest::newRow(s) << QString(s);
}

void TestSave::safetensorsDecodesExactly()
{
    QFETCH(QString, spec);
    const auto scheme = parseScheme(spec.toStdString());
    QVERIFY(scheme);
    auto m = memoryModel(7, 70, 11);
    QTemporaryDir dir;
    Plan plan;
    plan.scheme = *scheme;
    ModelReport report;
    auto back = saveAndOpen(m.model, plan, dir, "q.safetensors", {}, &report);
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    QCOMPARE(back->format, std::string("safetensors"));

    auto expected = quantizeRtn(m.w, *scheme);
    QVERIFY(expected);
    const auto decoded = decode(*back, *scheme, 7, 70);
    QCOMPARE(decoded.size(), expected->dequant.data.size());
    for (size_t i = 0; i < decoded.size(); ++i) {
        if (decoded[i] != expected->dequant.data[i])
            QFAIL(qPrintable(QString("element %1: decoded %2, quantizer %3").arg(i).arg(decoded[i]).arg(expected->dequant.data[i])));
    }
    // The report and the metadata say what was stored.
    QCOMPARE(report.tensors[0].status, std::string("quantized"));
    bool described = false;
    for (const auto& kv : back->metadata)
        described |= kv.key == "quantscope.tensor.layer.weight" && kv.value.find(scheme->spec()) != std::string::npos;
    QVERIFY(described);
}

void TestSave::ggufHoldsTheBlocks_data()
{
    QTest::addColumn<QString>("spec");
    for (const char* s : {"q8_0", "q4_0", "q5_1", "q4_k", "q6_k"}) QTest::newRow(s) << QString(s);
}

void TestSave::ggufHoldsTheBlocks()
{
    QFETCH(QString, spec);
    const auto scheme = parseScheme(spec.toStdString());
    QVERIFY(scheme);
    auto m = memoryModel(3, 512, 5);
    QTemporaryDir dir;
    Plan plan;
    plan.scheme = *scheme;
    auto back = saveAndOpen(m.model, plan, dir, "q.gguf");
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    const auto* t = back->find("layer.weight");
    QVERIFY(t);
    QCOMPARE(t->dtype, scheme->ggmlType);
    QCOMPARE(t->shape, (std::vector<int64_t>{3, 512}));
    auto expected = quantizeRtn(m.w, *scheme);
    QVERIFY(expected);
    const auto raw = bytesOf(*t);
    QCOMPARE(raw.size(), expected->codes.size());
    QVERIFY(std::memcmp(raw.data(), expected->codes.data(), raw.size()) == 0);
    // The reader's dequantization (checked against ggml elsewhere) gives the quantizer's values.
    QCOMPARE(floatsOf(*t), expected->dequant.data);
}

void TestSave::keptTensorsAreCopied()
{
    auto m = memoryModel(4, 64, 2);
    QTemporaryDir dir;
    for (const char* name : {"k.safetensors", "k.gguf"}) {
        Plan plan;
        plan.scheme = *parseScheme(std::string(name).ends_with(".gguf") ? "q8_0" : "int8");
        auto back = saveAndOpen(m.model, plan, dir, name);
        QVERIFY(back);
        const auto* bias = back->find("layer.bias");
        QVERIFY(bias);
        QCOMPARE(bias->shape, (std::vector<int64_t>{4}));
        QCOMPARE(bytesOf(*bias), bytesOf(m.model.tensors[1]));
    }
}

void TestSave::awqStoresSmoothing()
{
    auto m = memoryModel(16, 64, 9);
    const auto calib = syntheticCalibration(64, 64, 3, 2);
    Plan plan;
    plan.scheme = *parseScheme("int4:g32");
    plan.method = Method::Awq;
    ApplyOptions options;
    options.only = "layer.weight";
    options.calib = &calib;
    QTemporaryDir dir;
    auto back = saveAndOpen(m.model, plan, dir, "awq.safetensors", options);
    QVERIFY(back);
    const auto* smooth = back->find("layer.weight.smooth");
    QVERIFY(smooth);
    const auto s = floatsOf(*smooth);
    QCOMPARE(int64_t(s.size()), int64_t(64));
    auto expected = quantizeWithMethod(m.w, plan.scheme, Method::Awq, plan.options, &calib);
    QVERIFY(expected);
    const auto stored = decode(*back, plan.scheme, 16, 64);
    // The file holds W diag(s): dividing by s gives the quantizer's weights (to float rounding).
    for (int64_t r = 0; r < 16; ++r) {
        for (int64_t c = 0; c < 64; ++c) {
            const float want = expected->dequant().row(r)[c];
            const float got = stored[size_t(r * 64 + c)] / s[size_t(c)];
            QVERIFY2(std::fabs(got - want) <= 1e-6f * std::max(1.0f, std::fabs(want)),
                     qPrintable(QString("(%1,%2): %3 vs %4").arg(r).arg(c).arg(got).arg(want)));
        }
    }
}

void TestSave::gptqDecodesExactly_data()
{
    QTest::addColumn<QString>("spec");
    for (const char* s : {"int4:g32", "int3:g32:asym", "int8", "fp8_e4m3", "nf4:g32"}) QTest::newRow(s) << QString(s);
}

void TestSave::gptqDecodesExactly()
{
    QFETCH(QString, spec);
    auto m = memoryModel(8, 96, 21);
    const auto calib = syntheticCalibration(128, 96, 5);
    Plan plan;
    plan.scheme = *parseScheme(spec.toStdString());
    plan.method = Method::Gptq;
    ApplyOptions options;
    options.only = "layer.weight";
    options.calib = &calib;
    QTemporaryDir dir;
    auto back = saveAndOpen(m.model, plan, dir, "gptq.safetensors", options);
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    auto expected = quantizeWithMethod(m.w, plan.scheme, Method::Gptq, plan.options, &calib);
    QVERIFY(expected);
    QCOMPARE(decode(*back, plan.scheme, 8, 96), expected->dequant().data);
}

void TestSave::outliersAreStored_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<bool>("llmInt8");
    for (const char* s : {"int8", "int4:g32:asym", "nf4:g32", "q8_0"}) {
        QTest::newRow(qPrintable(QString("llm.int8 ") + s)) << QString(s) << true;
        QTest::newRow(qPrintable(QString("spqr ") + s)) << QString(s) << false;
    }
}

void TestSave::outliersAreStored()
{
    QFETCH(QString, spec);
    QFETCH(bool, llmInt8);
    // 6 x 96: with a weight threshold of 0.5 only column 3 (0.9 planted in row 0) is kept, so
    // the quantized part has 95 columns (q8_0 needs whole blocks: 64 + 32 columns instead).
    const bool ggml = spec.startsWith('q');
    auto m = memoryModel(6, ggml ? 64 : 96, 13);
    Plan plan;
    plan.scheme = *parseScheme(spec.toStdString());
    plan.method = llmInt8 ? Method::LlmInt8 : Method::Spqr;
    plan.options.outlierThreshold = ggml ? 10.0 : 0.5; // q8_0: nothing kept, the part stays whole
    plan.options.spqrPercent = 2.0;
    QTemporaryDir dir;
    auto back = saveAndOpen(m.model, plan, dir, ggml ? "o.gguf" : "o.safetensors");
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    auto expected = quantizeWithMethod(m.w, plan.scheme, plan.method, plan.options, nullptr);
    QVERIFY(expected);
    const int64_t rows = m.w.rows, cols = m.w.cols;
    std::vector<float> decoded;
    if (llmInt8) {
        const auto keptCols = floatsOf(*back->find("layer.weight.outlier_columns"));
        const auto keptValues = floatsOf(*back->find("layer.weight.outlier_weights"));
        const auto k = int64_t(keptCols.size());
        QCOMPARE(k, ggml ? int64_t(0) : int64_t(1));
        const auto rest = decode(*back, plan.scheme, rows, cols - k);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0, next = 0, kc = 0; c < cols; ++c) {
                if (kc < k && int64_t(keptCols[size_t(kc)]) == c) decoded.push_back(keptValues[size_t(r * k + kc++)]);
                else decoded.push_back(rest[size_t(r * (cols - k) + next++)]);
            }
        }
    } else {
        decoded = decode(*back, plan.scheme, rows, cols);
        const auto index = floatsOf(*back->find("layer.weight.outlier_index"));
        const auto values = floatsOf(*back->find("layer.weight.outlier_values"));
        QCOMPARE(int64_t(index.size()), int64_t(std::llround(0.02 * double(rows * cols))));
        for (size_t i = 0; i < index.size(); ++i) decoded[size_t(index[i])] = values[i];
    }
    QCOMPARE(decoded, expected->dequant().data);
}

void TestSave::ggufKeepsTypedMetadata()
{
    auto m = memoryModel(4, 256, 17);
    QTemporaryDir dir;
    const QString source = dir.filePath("src.gguf");
    {
        QFile f(source);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(handWrittenGguf(m.w.data));
    }
    auto model = io::openModel(source.toStdString());
    QVERIFY2(model, model ? "" : model.error().message.c_str());
    Plan plan;
    plan.scheme = *parseScheme("q8_0");
    auto back = saveAndOpen(*model, plan, dir, "q8.gguf");
    QVERIFY2(back, back ? "" : back.error().message.c_str());
    QCOMPARE(metadataValue(*back, "general.architecture"), std::string("llama"));
    QCOMPARE(metadataValue(*back, "llama.block_count"), std::string("2"));
    QCOMPARE(metadataValue(*back, "general.alignment"), std::string("64"));
    QCOMPARE(metadataValue(*back, "tokenizer.ggml.tokens"), metadataValue(*model, "tokenizer.ggml.tokens"));
    QCOMPARE(metadataValue(*back, "quantscope.format"), std::string("quantized-v1"));
    const auto* t = back->find("blk.0.ffn.weight");
    QVERIFY(t);
    QCOMPARE(t->dtype, core::DType::Q8_0);
    QCOMPARE(t->shape, (std::vector<int64_t>{4, 256}));
    for (const auto& tensor : back->tensors) QCOMPARE(tensor.offset % 64, uint64_t(0));
    QCOMPARE(floatsOf(*back->find("blk.0.norm")), (std::vector<float>{1, 2, 3, 4}));
    // Saving the saved file again replaces, not repeats, the quantscope.* keys.
    plan.scheme = *parseScheme("q4_0");
    auto again = saveAndOpen(*back, plan, dir, "q4.gguf");
    QVERIFY2(again, again ? "" : again.error().message.c_str());
    QCOMPARE(metadataValue(*again, "quantscope.format"), std::string("quantized-v1"));
    QCOMPARE(metadataValue(*again, "general.architecture"), std::string("llama"));
}

void TestSave::refusals()
{
    auto m = memoryModel(4, 64, 1);
    QTemporaryDir dir;
    Plan plan;
    plan.scheme = *parseScheme("int4:g32");
    auto r = saveQuantizedModel(m.model, plan, dir.filePath("x.bin").toStdString());
    QVERIFY(!r);
    QVERIFY(r.error().message.find(".gguf or .safetensors") != std::string::npos);
    r = saveQuantizedModel(m.model, plan, dir.filePath("x.gguf").toStdString());
    QVERIFY(!r);
    QVERIFY(r.error().message.find("save it as .safetensors") != std::string::npos);
    plan.scheme = *parseScheme("q8_0");
    r = saveQuantizedModel(m.model, plan, dir.filePath("x.safetensors").toStdString());
    QVERIFY(!r);
    QVERIFY(r.error().message.find("save it as .gguf") != std::string::npos);
    QVERIFY(!QFile::exists(dir.filePath("x.safetensors")));
    QVERIFY(!QFile::exists(dir.filePath("x.gguf")));
}

void TestSave::failedSaveKeepsExistingFile()
{
    auto m = memoryModel(4, 64, 1); // 64 columns: no whole Q4_K super-block
    QTemporaryDir dir;
    const auto path = dir.filePath("keep.gguf");
    {
        std::ofstream f(path.toStdString());
        f << "the user's file";
    }
    Plan plan;
    plan.scheme = *parseScheme("q4_k");
    auto r = saveQuantizedModel(m.model, plan, path.toStdString());
    QVERIFY(!r);
    QVERIFY2(r.error().message.find("layer.weight") != std::string::npos, r.error().message.c_str());
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("the user's file"));
    QVERIFY(!QFile::exists(path + ".tmp"));
}

void TestSave::onlyOneTensor()
{
    auto m = memoryModel(4, 64, 4);
    m.model.tensors.push_back(f32Tensor("other.weight", {2, 64}, std::vector<float>(128, 0.25f)));
    QTemporaryDir dir;
    Plan plan;
    plan.scheme = *parseScheme("int8");
    ApplyOptions options;
    options.only = "layer.weight";
    auto back = saveAndOpen(m.model, plan, dir, "one.safetensors", options);
    QVERIFY(back);
    QCOMPARE(back->find("layer.weight")->dtype, core::DType::I8);
    QVERIFY(back->find("layer.weight.scale"));
    QCOMPARE(back->find("other.weight")->dtype, core::DType::F32);
    QVERIFY(!back->find("other.weight.scale"));
}

QTEST_APPLESS_MAIN(TestSave)
#include "tst_save.moc"
