// loadWeightMatrix: axis roles of the common layouts, dtype conversion, and refusal of tensors
// whose sizes do not fit their bytes. Expected matrices are written out or indexed by hand.
#include "quant/matrix.h"

#include "core/storage.h"

#include <QTemporaryFile>
#include <QtTest>

#include <cstring>
#include <numeric>

using namespace qs;
using namespace qs::quant;
using core::DType;

namespace {

template <class T> std::vector<std::byte> bytesOf(const std::vector<T>& v)
{
    std::vector<std::byte> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

/// A tensor over `data` with `lead` junk bytes before it (so the offset is exercised).
core::TensorInfo tensorOver(DType dtype, const std::vector<std::byte>& data,
                            std::vector<int64_t> shape, int outAxis, int inAxis,
                            uint64_t lead = 3)
{
    core::TensorInfo t;
    t.name = "layer.weight";
    t.dtype = dtype;
    t.typeName = std::string(core::dtypeName(dtype));
    t.shape = std::move(shape);
    std::vector<std::byte> bytes(lead + data.size(), std::byte{0x7F});
    if (!data.empty()) // (insert of an empty range trips GCC 12's -Warray-bounds at -O2)
        std::memcpy(bytes.data() + lead, data.data(), data.size());
    t.offset = lead;
    t.bytes = data.size();
    t.storage = std::make_shared<core::BufferStorage>("model.bin", std::move(bytes));
    t.outAxis = outAxis;
    t.inAxis = inAxis;
    return t;
}

std::vector<float> iota(size_t n)
{
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.f);
    return v;
}

} // namespace

class TestMatrix : public QObject {
    Q_OBJECT
private slots:
    void pytorchLinearUnchanged();
    void onnxMatMulTransposed();
    void largeTransposeMatchesIndexing();
    void conv4dFlattensInputAxes();
    void convTransposeMovesAxisOne();
    void biasAndScalar();
    void halfAndBlockTypes();
    void mappedFile();
    void refusals();
    void cancel();
};

void TestMatrix::pytorchLinearUnchanged()
{
    auto m = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(12)), {3, 4}, 0, 1));
    QVERIFY(m.ok());
    QCOMPARE(m->rows, int64_t(3));
    QCOMPARE(m->cols, int64_t(4));
    QCOMPARE(m->data, iota(12));
}

void TestMatrix::onnxMatMulTransposed()
{
    // ONNX MatMul initializer [in = 2, out = 3]: src = [[0 1 2], [3 4 5]] -> [out, in] =
    // [[0 3], [1 4], [2 5]].
    auto m = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(6)), {2, 3}, 1, 0));
    QVERIFY(m.ok());
    QCOMPARE(m->rows, int64_t(3));
    QCOMPARE(m->cols, int64_t(2));
    QCOMPARE(m->data, (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

void TestMatrix::largeTransposeMatchesIndexing()
{
    // Sizes that are not multiples of any tile: every element checked by its index.
    const int64_t in = 101;
    const int64_t out = 67;
    auto m = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(in * out)), {in, out}, 1, 0));
    QVERIFY(m.ok());
    QCOMPARE(m->rows, out);
    QCOMPARE(m->cols, in);
    for (int64_t o = 0; o < out; ++o)
        for (int64_t i = 0; i < in; ++i) QCOMPARE(m->row(o)[i], float(i * out + o));
}

void TestMatrix::conv4dFlattensInputAxes()
{
    // Conv [out = 2, in = 3, kh = 2, kw = 2]: rows are output channels, the rest in order.
    auto m = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(24)), {2, 3, 2, 2}, 0, 1));
    QVERIFY(m.ok());
    QCOMPARE(m->rows, int64_t(2));
    QCOMPARE(m->cols, int64_t(12));
    QCOMPARE(m->data, iota(24));
}

void TestMatrix::convTransposeMovesAxisOne()
{
    // ConvTranspose [in = 3, out = 2, kh = 1, kw = 2]: element (i, o, 0, k) at 4i + 2o + k goes
    // to row o, column 2i + k. Row 0 = [0 1 4 5 8 9], row 1 = [2 3 6 7 10 11].
    auto m = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(12)), {3, 2, 1, 2}, 1, 0));
    QVERIFY(m.ok());
    QCOMPARE(m->rows, int64_t(2));
    QCOMPARE(m->cols, int64_t(6));
    QCOMPARE(m->data, (std::vector<float>{0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11}));
}

void TestMatrix::biasAndScalar()
{
    auto bias = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(5)), {5}, 0, -1));
    QVERIFY(bias.ok());
    QCOMPARE(bias->rows, int64_t(5));
    QCOMPARE(bias->cols, int64_t(1));
    QCOMPARE(bias->data, iota(5));
    auto noRoles = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(6)), {2, 3}, -1, -1));
    QVERIFY(noRoles.ok());
    QCOMPARE(noRoles->rows, int64_t(1));
    QCOMPARE(noRoles->cols, int64_t(6));
    const std::vector<float> one{2.5f};
    auto scalar = loadWeightMatrix(tensorOver(DType::F32, bytesOf(one), {}, -1, -1));
    QVERIFY(scalar.ok());
    QCOMPARE(scalar->rows, int64_t(1));
    QCOMPARE(scalar->cols, int64_t(1));
    QCOMPARE(scalar->data[0], 2.5f);
    auto empty = loadWeightMatrix(tensorOver(DType::F32, {}, {4, 0}, 0, 1));
    QVERIFY(empty.ok());
    QCOMPARE(empty->rows, int64_t(4));
    QCOMPARE(empty->cols, int64_t(0));
}

void TestMatrix::halfAndBlockTypes()
{
    // F16 [in = 2, out = 2]: 1, -2, 0.5, 65504 (0x3C00 0xC000 0x3800 0x7BFF), transposed.
    const std::vector<uint16_t> halves{0x3C00, 0xC000, 0x3800, 0x7BFF};
    auto h = loadWeightMatrix(tensorOver(DType::F16, bytesOf(halves), {2, 2}, 1, 0));
    QVERIFY(h.ok());
    QCOMPARE(h->data, (std::vector<float>{1.f, 0.5f, -2.f, 65504.f}));
    // Q8_0 [2, 32]: two blocks, d = 0.5 (0x3800) and d = -1 (0xBC00), codes j - 16.
    std::vector<std::byte> q8;
    for (uint16_t d : {uint16_t(0x3800), uint16_t(0xBC00)}) {
        q8.push_back(std::byte(d & 0xFF));
        q8.push_back(std::byte(d >> 8));
        for (int j = 0; j < 32; ++j) q8.push_back(std::byte(uint8_t(int8_t(j - 16))));
    }
    auto q = loadWeightMatrix(tensorOver(DType::Q8_0, q8, {2, 32}, 0, 1));
    QVERIFY(q.ok());
    QCOMPARE(q->rows, int64_t(2));
    for (int j = 0; j < 32; ++j) {
        QCOMPARE(q->row(0)[j], float(j - 16) * 0.5f);
        QCOMPARE(q->row(1)[j], float(j - 16) * -1.f);
    }
}

void TestMatrix::mappedFile()
{
    // The same ONNX layout read through a file mapping (the guarded path).
    QTemporaryFile file;
    QVERIFY(file.open());
    const std::vector<std::byte> data = bytesOf(iota(6));
    file.write("abcd", 4);
    file.write(reinterpret_cast<const char*>(data.data()), qint64(data.size()));
    file.flush();
    auto mapped = core::MappedFile::open(file.fileName().toStdString());
    QVERIFY(mapped.ok());
    core::TensorInfo t;
    t.name = "w";
    t.dtype = DType::F32;
    t.typeName = "F32";
    t.shape = {2, 3};
    t.storage = *mapped;
    t.offset = 4;
    t.bytes = 24;
    t.outAxis = 1;
    t.inAxis = 0;
    auto m = loadWeightMatrix(t);
    QVERIFY(m.ok());
    QCOMPARE(m->data, (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

void TestMatrix::refusals()
{
    // Unreadable dtype.
    auto t = tensorOver(DType::F32, bytesOf(iota(4)), {2, 2}, 0, 1);
    t.dtype = DType::Unsupported;
    t.typeName = "IQ2_XXS";
    auto r = loadWeightMatrix(t);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, core::ErrorCode::Unsupported);
    QVERIFY(r.error().message.find("model.bin") == 0);
    QVERIFY(r.error().message.find("IQ2_XXS") != std::string::npos);
    // The shape needs more bytes than the tensor has.
    t = tensorOver(DType::F32, bytesOf(iota(4)), {2, 3}, 0, 1);
    QVERIFY(!loadWeightMatrix(t).ok());
    // The declared byte range runs past the storage.
    t = tensorOver(DType::F32, bytesOf(iota(4)), {2, 2}, 0, 1);
    t.offset = 10;
    QVERIFY(!loadWeightMatrix(t).ok());
    t.offset = ~uint64_t(0) - 4; // offset + size overflows
    QVERIFY(!loadWeightMatrix(t).ok());
    // Negative and overflowing shapes.
    t = tensorOver(DType::F32, bytesOf(iota(4)), {-2, -2}, 0, 1);
    QVERIFY(!loadWeightMatrix(t).ok());
    t = tensorOver(DType::F32, bytesOf(iota(4)), {int64_t(1) << 40, int64_t(1) << 40}, 0, 1);
    QVERIFY(!loadWeightMatrix(t).ok());
    // A block type with a partial block.
    t = tensorOver(DType::Q8_0, std::vector<std::byte>(34), {1, 20}, 0, 1);
    QVERIFY(!loadWeightMatrix(t).ok());
    // No storage.
    t.storage.reset();
    QVERIFY(!loadWeightMatrix(t).ok());
}

void TestMatrix::cancel()
{
    core::Progress progress;
    progress.cancelRequested = true;
    auto r = loadWeightMatrix(tensorOver(DType::F32, bytesOf(iota(64)), {8, 8}, 1, 0), &progress);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, core::ErrorCode::Cancelled);
}

QTEST_GUILESS_MAIN(TestMatrix)
#include "tst_matrix.moc"
