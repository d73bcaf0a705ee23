// Codecs agree with themselves along every path: the vectorised RTN pass, the element coder
// GPTQ uses and the plain decoder must give the same codes and the same values bit for bit,
// and the stored parts must have exactly the sizes of the layout the storage cost comes from.
#include "quant_test_support.h"

#include "quant/codec.h"
#include "quant/quantize.h"

#include <QTest>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>

using namespace qs::quant;
using namespace quanttest;

namespace {

/// Gaussian weights with an outlier column, a zero stretch, NaN and Inf, odd shape.
Matrix weights(int64_t rows, int64_t cols)
{
    std::mt19937 gen(3);
    std::normal_distribution<float> normal(0.f, 0.1f);
    std::vector<float> v(size_t(rows * cols));
    for (auto& x : v) x = normal(gen);
    for (int64_t r = 0; r < rows; ++r) v[size_t(r * cols + 3)] *= 30.f;
    for (int64_t c = 0; c < std::min<int64_t>(cols, 40); ++c) v[size_t(cols + c)] = 0.f;
    v[7] = kNaN;
    v[size_t(cols + 50)] = kInf;
    v[size_t(2 * cols + 9)] = -kInf;
    return matrixOf(rows, cols, v);
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i])) return false;
    return true;
}

} // namespace

class TestCodec : public QObject {
    Q_OBJECT
private slots:
    void pathsAgree_data()
    {
        QTest::addColumn<QString>("spec");
        for (const char* s : {"int8", "int8:asym", "int4:g32", "int4:g32:asym", "int3:tensor:asym", "int2:inchannel",
                              "int5:g7:away", "int4:g16:stochastic=9", "fp8_e4m3", "fp8_e5m2:tensor:nan", "fp8_e4m3:g32",
                              "mxfp4", "mxfp8", "nvfp4", "nf4", "nf4:g32", "nf4:dq", "q8_0", "q4_0", "q4_1", "q5_0",
                              "q5_1", "q4_k", "q5_k", "q6_k"})
            QTest::newRow(s) << s;
    }

    void pathsAgree()
    {
        QFETCH(QString, spec);
        auto scheme = parseScheme(spec.toStdString());
        QVERIFY(scheme);
        const bool ggml = scheme->family == Family::Ggml;
        const Matrix w = weights(9, ggml ? 512 : 203);
        auto q = quantizeRtn(w, *scheme);
        QVERIFY2(q, q ? "" : q.error().message.c_str());
        auto codec = makeCodec(*scheme);
        QVERIFY(codec);
        // dequant is decode(codes), whichever way it is decoded.
        QVERIFY(sameBits(decodeCodes(**codec, *q).data, q->dequant.data));
        // The element coder (GPTQ's path) gives the same code and value for every weight.
        if (const ElementCoder* coder = (*codec)->elements()) {
            for (int64_t r = 0; r < w.rows; ++r) {
                for (int64_t c = 0; c < w.cols; ++c) {
                    const GroupCoding g = coder->coding(*q, q->grid.groupOf(r, c));
                    const size_t i = size_t(r * w.cols + c);
                    const uint8_t code = coder->encode(w.data[i], g, uint64_t(i));
                    QCOMPARE(code, q->codes[i]);
                    QCOMPARE(std::bit_cast<uint32_t>(coder->decode(code, g)), std::bit_cast<uint32_t>(q->dequant.data[i]));
                }
            }
        }
        // The stored parts have the layout's names, dtypes, shapes and sizes.
        auto parts = (*codec)->store(*q);
        QVERIFY(parts);
        const auto layout = (*codec)->layout(w.rows, w.cols);
        QCOMPARE(parts->size(), layout.size());
        for (size_t k = 0; k < layout.size(); ++k) {
            QCOMPARE((*parts)[k].suffix, layout[k].suffix);
            QCOMPARE((*parts)[k].dtype, layout[k].dtype);
            QCOMPARE((*parts)[k].shape, layout[k].shape);
            QCOMPARE(uint64_t((*parts)[k].data.size()), layout[k].byteSize());
        }
        QCOMPARE(q->bytes, totalBytes(layout));
        // Every decoded weight is one of its group's levels (the grid the histogram draws).
        for (int64_t r = 0; r < w.rows; r += 4) {
            const int64_t g = q->grid.groupOf(r, 0);
            const auto levels = (*codec)->groupLevels(*q, g);
            QVERIFY(!levels.empty());
            QVERIFY(std::is_sorted(levels.begin(), levels.end()));
            for (int64_t c = 0; c < w.cols; ++c) {
                if (q->grid.groupOf(r, c) != g) continue;
                const float v = q->dequant.data[size_t(r * w.cols + c)];
                if (!std::isfinite(v)) continue;
                QVERIFY2(std::binary_search(levels.begin(), levels.end(), v),
                         qPrintable(QString("row %1 col %2: %3 is not a level").arg(r).arg(c).arg(double(v))));
            }
        }
    }

    void levelsByHand()
    {
        // int4 symmetric per channel: absmax 7 -> scale 1, levels -7..7 (15 values).
        auto q = quantizeRtn(matrixOf(1, 3, {7.f, -2.f, 0.5f}), *parseScheme("int4"));
        QVERIFY(q);
        auto codec = makeCodec(*parseScheme("int4"));
        std::vector<float> want;
        for (int k = -7; k <= 7; ++k) want.push_back(float(k));
        QCOMPARE((*codec)->groupLevels(*q, 0), want);
        // int2 asymmetric [0, 3]: scale 1, zero point 0, levels 0..3.
        auto a = quantizeRtn(matrixOf(1, 2, {0.f, 3.f}), *parseScheme("int2:asym"));
        QVERIFY(a);
        QCOMPARE((*makeCodec(*parseScheme("int2:asym")))->groupLevels(*a, 0), (std::vector<float>{0.f, 1.f, 2.f, 3.f}));
        // NF4 block absmax 2: the 16 published levels times 2.
        auto n = quantizeRtn(matrixOf(1, 2, {2.f, -1.f}), *parseScheme("nf4"));
        QVERIFY(n);
        const auto levels = (*makeCodec(*parseScheme("nf4")))->groupLevels(*n, 0);
        QCOMPARE(levels.size(), size_t(16));
        QCOMPARE(levels.front(), -2.f);
        QCOMPARE(levels.back(), 2.f);
        QCOMPARE(levels[7], 0.f);
    }

    void elementCoderOnlyWhereGroupsFitOneAtATime()
    {
        // Input-channel scales span every row, NF4 double quantization ties every absmax to the
        // tensor, GGUF blocks search their own scales: GPTQ cannot code those column by column.
        for (const char* s : {"int8:inchannel", "nf4:dq", "q4_k", "mxfp4", "nvfp4"}) {
            auto codec = makeCodec(*parseScheme(s));
            QVERIFY(codec);
            QVERIFY2((*codec)->elements() == nullptr, s);
        }
        for (const char* s : {"int8", "int4:g128:asym", "fp8_e4m3:tensor", "nf4"}) {
            auto codec = makeCodec(*parseScheme(s));
            QVERIFY(codec);
            QVERIFY2((*codec)->elements() != nullptr, s);
        }
    }
};

QTEST_GUILESS_MAIN(TestCodec)
#include "tst_codec.moc"
