// ONNX reader: models built field by field with the protobuf classes, saved to a temporary
// folder and read back. Expected shapes, roles and values are the ones each test put in;
// FLOAT16 bit patterns are worked out by hand in the comments.
#include "io/modelreader.h"
#include "onnx_builder_helpers.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <map>

using namespace qs;
using namespace qs::onnxtest;

class TstOnnx : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString pathOf(const char* name) const { return m_dir.filePath(QString::fromLatin1(name)); }
    core::Model readBack(const onnx::ModelProto& m, const char* file);

private slots:
    void roles_data();
    void roles();
    void typedFields_data();
    void typedFields();
    void externalDataIsMapped();
    void constantNode();
    void ifSubgraphInitializer();
    void metadata();
    void demoModel();
};

core::Model TstOnnx::readBack(const onnx::ModelProto& m, const char* file)
{
    const QString path = pathOf(file);
    if (!saveModel(m, path))
        qFatal("cannot write %s", qPrintable(path));
    auto model = io::readOnnx(path.toStdString());
    if (!model)
        qFatal("%s", model.error().message.c_str());
    return *model;
}

void TstOnnx::roles_data()
{
    QTest::addColumn<QString>("tensor");
    QTest::addColumn<int>("outAxis");
    QTest::addColumn<int>("inAxis");
    QTest::addColumn<QString>("layer");
    QTest::addColumn<QString>("op");
    // MatMul B is [in,out]; Gemm B is [in,out] unless transB=1 ([out,in]); Conv W is
    // [out,in,kh,kw]; ConvTranspose W is [in,out,kh,kw]; a bias falls back to rank rules.
    QTest::newRow("MatMul B") << "mm_w" << 1 << 0 << "mm" << "MatMul";
    QTest::newRow("Gemm B transB=1") << "gemm_t_w" << 0 << 1 << "gemm_t" << "Gemm";
    QTest::newRow("Gemm B transB=0") << "gemm_w" << 1 << 0 << "gemm" << "Gemm";
    QTest::newRow("Conv W") << "conv_w" << 0 << 1 << "conv" << "Conv";
    QTest::newRow("ConvTranspose W") << "convt_w" << 1 << 0 << "convt" << "ConvTranspose";
    QTest::newRow("Add bias, unnamed node") << "bias" << 0 << -1 << "Add_0" << "Add";
    QTest::newRow("unused") << "orphan" << 0 << 1 << "orphan" << "";
}

void TstOnnx::roles()
{
    QFETCH(QString, tensor);
    QFETCH(int, outAxis);
    QFETCH(int, inAxis);
    QFETCH(QString, layer);
    QFETCH(QString, op);
    auto m = emptyModel();
    auto* g = m.mutable_graph();
    *g->add_initializer() = floatTensor("mm_w", {3, 2}, std::vector<float>(6, 1.f), true);
    *g->add_initializer() = floatTensor("gemm_t_w", {2, 3}, std::vector<float>(6, 1.f), false);
    *g->add_initializer() = floatTensor("gemm_w", {3, 2}, std::vector<float>(6, 1.f), true);
    *g->add_initializer() = floatTensor("conv_w", {4, 2, 1, 1}, std::vector<float>(8, 1.f), true);
    *g->add_initializer() = floatTensor("convt_w", {2, 4, 1, 1}, std::vector<float>(8, 1.f), true);
    *g->add_initializer() = floatTensor("bias", {2}, {1.f, 2.f}, true);
    *g->add_initializer() = floatTensor("orphan", {2, 2}, {1.f, 2.f, 3.f, 4.f}, true);
    *g->add_node() = makeNode("MatMul", "mm", {"x", "mm_w"}, {"y1"});
    auto gemmT = makeNode("Gemm", "gemm_t", {"y1", "gemm_t_w"}, {"y2"});
    addIntAttribute(gemmT, "transB", 1);
    *g->add_node() = gemmT;
    auto gemm = makeNode("Gemm", "gemm", {"y1", "gemm_w"}, {"y3"});
    addIntAttribute(gemm, "transB", 0);
    *g->add_node() = gemm;
    *g->add_node() = makeNode("Conv", "conv", {"img", "conv_w"}, {"c"});
    *g->add_node() = makeNode("ConvTranspose", "convt", {"c", "convt_w"}, {"d"});
    *g->add_node() = makeNode("Add", "", {"y2", "bias"}, {"z"});
    const auto model = readBack(m, "roles.onnx");
    QCOMPARE(model.tensors.size(), size_t(7));
    const auto* t = model.find(tensor.toStdString());
    QVERIFY(t);
    QCOMPARE(t->outAxis, outAxis);
    QCOMPARE(t->inAxis, inAxis);
    QCOMPARE(QString::fromStdString(t->layer), layer);
    QCOMPARE(QString::fromStdString(t->op), op);
    // The consuming node's input slot and position in node order: mm 0, gemm_t 1, gemm 2,
    // conv 3, convt 4, the Add 5; the orphan has no consumer.
    const std::map<QString, std::pair<int, int64_t>> slot = {
        {"mm_w", {1, 0}}, {"gemm_t_w", {1, 1}}, {"gemm_w", {1, 2}}, {"conv_w", {1, 3}},
        {"convt_w", {1, 4}}, {"bias", {1, 5}}, {"orphan", {-1, -1}}};
    QCOMPARE(t->opInput, slot.at(tensor).first);
    QCOMPARE(t->graphOrder, slot.at(tensor).second);
}

void TstOnnx::typedFields_data()
{
    QTest::addColumn<int>("which");
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QString>("typeName");
    QTest::addColumn<std::vector<float>>("expected");
    QTest::newRow("raw_data FLOAT") << 0 << int(core::DType::F32) << "FLOAT"
                                    << std::vector<float>{1.5f, -2.f, 0.25f, 8.f};
    QTest::newRow("float_data") << 1 << int(core::DType::F32) << "FLOAT"
                                << std::vector<float>{3.f, -0.5f, 7.f, 1e-3f};
    // FLOAT16 in int32_data: 0x3C00 = 1.0, 0xC000 = -2.0, 0x3800 = 0.5, 0x7BFF = 65504.
    QTest::newRow("FLOAT16 int32_data") << 2 << int(core::DType::F16) << "FLOAT16"
                                        << std::vector<float>{1.f, -2.f, 0.5f, 65504.f};
    // BFLOAT16 is the top half of a float: 0x3F80 = 1.0, 0xC040 = -3.0, 0x4120 = 10.0,
    // 0x3E00 = 0.125.
    QTest::newRow("BFLOAT16 int32_data") << 3 << int(core::DType::BF16) << "BFLOAT16"
                                         << std::vector<float>{1.f, -3.f, 10.f, 0.125f};
    QTest::newRow("INT8 int32_data") << 4 << int(core::DType::I8) << "INT8"
                                     << std::vector<float>{-128.f, -1.f, 0.f, 127.f};
    QTest::newRow("int64_data") << 5 << int(core::DType::I64) << "INT64"
                                << std::vector<float>{-5.f, 0.f, 1000000.f, 42.f};
    QTest::newRow("double_data") << 6 << int(core::DType::F64) << "DOUBLE"
                                 << std::vector<float>{0.5f, -4.f, 2.25f, 100.f};
}

void TstOnnx::typedFields()
{
    QFETCH(int, which);
    QFETCH(int, dtype);
    QFETCH(QString, typeName);
    QFETCH(std::vector<float>, expected);
    onnx::TensorProto t;
    switch (which) {
    case 0: t = floatTensor("w", {2, 2}, expected, true); break;
    case 1: t = floatTensor("w", {2, 2}, expected, false); break;
    case 2: t = int32FieldTensor("w", 10, {2, 2}, {0x3C00, 0xC000, 0x3800, 0x7BFF}); break;
    case 3: t = int32FieldTensor("w", 16, {2, 2}, {0x3F80, 0xC040, 0x4120, 0x3E00}); break;
    case 4: t = int32FieldTensor("w", 3, {2, 2}, {-128, -1, 0, 127}); break;
    case 5:
        t.set_name("w");
        t.set_data_type(onnx::TensorProto_DataType_INT64);
        t.add_dims(2), t.add_dims(2);
        for (int64_t v : {-5, 0, 1000000, 42})
            t.add_int64_data(v);
        break;
    default:
        t.set_name("w");
        t.set_data_type(onnx::TensorProto_DataType_DOUBLE);
        t.add_dims(2), t.add_dims(2);
        for (double v : {0.5, -4.0, 2.25, 100.0})
            t.add_double_data(v);
    }
    auto m = emptyModel();
    *m.mutable_graph()->add_initializer() = t;
    const auto model = readBack(m, "typed.onnx");
    QCOMPARE(model.tensors.size(), size_t(1));
    const auto& info = model.tensors[0];
    QCOMPARE(int(info.dtype), dtype);
    QCOMPARE(QString::fromStdString(info.typeName), typeName);
    QCOMPARE(info.shape, (std::vector<int64_t>{2, 2}));
    QCOMPARE(info.bytes, 4 * *core::byteSizeFor(info.dtype, 1));
    bool ok = false;
    QCOMPARE(tensorValues(info, &ok), expected);
    QVERIFY(ok);
}

void TstOnnx::externalDataIsMapped()
{
    // 16 filler bytes, then the six floats the tensor points at with offset 16.
    const std::vector<float> values{1.f, 2.f, 3.f, -4.f, 5.5f, 6.f};
    QByteArray bin(16, char(0x7F));
    bin.append(reinterpret_cast<const char*>(values.data()), qsizetype(values.size() * 4));
    QFile f(pathOf("weights.bin"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bin), qint64(bin.size()));
    f.close();
    auto m = emptyModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("ext");
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    t->add_dims(2), t->add_dims(3);
    t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    const std::pair<const char*, const char*> keys[] = {
        {"location", "weights.bin"}, {"offset", "16"}, {"length", "24"}};
    for (const auto& [k, v] : keys) {
        auto* e = t->add_external_data();
        e->set_key(k);
        e->set_value(v);
    }
    *m.mutable_graph()->add_node() = makeNode("MatMul", "proj", {"x", "ext"}, {"y"});
    const auto model = readBack(m, "external.onnx");
    QCOMPARE(model.tensors.size(), size_t(1));
    const auto& info = model.tensors[0];
    QVERIFY(info.storage);
    QVERIFY(info.storage->isMapped());
    QCOMPARE(info.offset, uint64_t(16));
    QCOMPARE(info.bytes, uint64_t(24));
    QCOMPARE(info.outAxis, 1);
    bool ok = false;
    QCOMPARE(tensorValues(info, &ok), values);
    QVERIFY(ok);
}

void TstOnnx::constantNode()
{
    auto m = emptyModel();
    auto* g = m.mutable_graph();
    auto c = makeNode("Constant", "const", {}, {"scale"});
    auto* a = c.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto_AttributeType_TENSOR);
    *a->mutable_t() = floatTensor("", {3}, {0.5f, 1.5f, -2.f}, true);
    *g->add_node() = c;
    *g->add_node() = makeNode("Mul", "scale_mul", {"x", "scale"}, {"y"});
    const auto model = readBack(m, "constant.onnx");
    QCOMPARE(model.tensors.size(), size_t(1));
    const auto& t = model.tensors[0];
    QCOMPARE(t.name, std::string("scale"));
    QCOMPARE(t.op, std::string("Mul"));
    QCOMPARE(t.layer, std::string("scale_mul"));
    bool ok = false;
    QCOMPARE(tensorValues(t, &ok), (std::vector<float>{0.5f, 1.5f, -2.f}));
    QVERIFY(ok);
}

void TstOnnx::ifSubgraphInitializer()
{
    auto m = emptyModel();
    auto* g = m.mutable_graph();
    *g->add_initializer() = floatTensor("top", {2}, {1.f, 2.f}, true);
    onnx::GraphProto thenBranch;
    thenBranch.set_name("then");
    *thenBranch.add_initializer() = floatTensor("inner_w", {4, 3}, std::vector<float>(12, 0.5f),
                                                false);
    *thenBranch.add_node() = makeNode("MatMul", "inner_mm", {"x", "inner_w"}, {"y"});
    onnx::GraphProto elseBranch;
    elseBranch.set_name("else");
    *elseBranch.add_node() = makeNode("Identity", "id", {"x"}, {"y"});
    auto node = makeNode("If", "branch", {"cond"}, {"out"});
    for (const auto& [name, graph] : {std::pair{"then_branch", &thenBranch},
                                      std::pair{"else_branch", &elseBranch}}) {
        auto* a = node.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto_AttributeType_GRAPH);
        *a->mutable_g() = *graph;
    }
    *g->add_node() = node;
    const auto model = readBack(m, "if.onnx");
    QCOMPARE(model.tensors.size(), size_t(2));
    const auto* inner = model.find("inner_w");
    QVERIFY(inner);
    QCOMPARE(inner->shape, (std::vector<int64_t>{4, 3}));
    QCOMPARE(inner->op, std::string("MatMul"));
    QCOMPARE(inner->layer, std::string("inner_mm"));
    QCOMPARE(inner->outAxis, 1);
    QCOMPARE(inner->inAxis, 0);
    bool ok = false;
    QCOMPARE(tensorValues(*inner, &ok), std::vector<float>(12, 0.5f));
    QVERIFY(ok);
    QVERIFY(model.find("top"));
}

void TstOnnx::metadata()
{
    auto m = emptyModel();
    auto* ml = m.add_opset_import();
    ml->set_domain("ai.onnx.ml");
    ml->set_version(3);
    m.set_doc_string("a test model");
    auto* p = m.add_metadata_props();
    p->set_key("author");
    p->set_value("quantscope");
    const auto model = readBack(m, "meta.onnx");
    QCOMPARE(model.format, std::string("onnx"));
    QVERIFY(model.tensors.empty());
    auto value = [&](const std::string& key) {
        for (const auto& e : model.metadata)
            if (e.key == key)
                return QString::fromStdString(e.value);
        return QStringLiteral("<missing>");
    };
    QCOMPARE(value("ir_version"), QStringLiteral("8"));
    QCOMPARE(value("opset ai.onnx"), QStringLiteral("13"));
    QCOMPARE(value("opset ai.onnx.ml"), QStringLiteral("3"));
    QCOMPARE(value("producer_name"), QStringLiteral("qs-test"));
    QCOMPARE(value("producer_version"), QStringLiteral("1.0"));
    QCOMPARE(value("doc_string"), QStringLiteral("a test model"));
    QCOMPARE(value("graph"), QStringLiteral("g"));
    QCOMPARE(value("author"), QStringLiteral("quantscope"));
}

void TstOnnx::demoModel()
{
    const std::filesystem::path path =
        std::filesystem::path(QS_SOURCE_DIR) / "resources/demo/digits_mlp.onnx";
    if (!std::filesystem::exists(path))
        QSKIP("resources/demo/digits_mlp.onnx is not there");
    auto model = io::readOnnx(path);
    QVERIFY2(model, model ? "" : model.error().message.c_str());
    QVERIFY(!model->tensors.empty());
    for (const auto& t : model->tensors) {
        QVERIFY(t.readable());
        bool ok = false;
        const auto values = tensorValues(t, &ok);
        QVERIFY2(ok, t.name.c_str());
        QCOMPARE(values.size(), size_t(t.elementCount()));
    }
}

QTEST_GUILESS_MAIN(TstOnnx)
#include "tst_onnx.moc"
