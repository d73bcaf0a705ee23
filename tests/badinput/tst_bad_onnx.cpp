// Crafted bad ONNX files (run under ASan+UBSan): each must give an Error whose message starts
// with the model's path and names the problem; an unknown data type is listed Unsupported.
// Models are built with the protobuf classes, then broken field by field or byte by byte.
#include "io/modelreader.h"

#include <onnx/onnx_pb.h>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

#include <cstring>

using namespace qs;

namespace {

enum class Bad {
    Garbage, Truncated, Empty, AbsoluteLocation, DotDotLocation, SymlinkLocation, PastEnd,
    OffsetOverflow, OffsetTooBig, MissingFile, LengthMismatch, RawSizeMismatch, FloatCount,
    NegativeDim, ProductOverflow, DeepSubgraphs, Over2GB
};

/// A model with one FLOAT [2,3] initializer "w" (raw_data, 24 bytes) read by a MatMul.
onnx::ModelProto goodModel()
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.add_opset_import()->set_version(13);
    auto* g = m.mutable_graph();
    auto* t = g->add_initializer();
    t->set_name("w");
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    t->add_dims(2);
    t->add_dims(3);
    t->set_raw_data(std::string(24, '\0'));
    auto* n = g->add_node();
    n->set_op_type("MatMul");
    n->add_input("x");
    n->add_input("w");
    n->add_output("y");
    return m;
}

/// Points "w" at external data with the given location, offset and length keys.
void makeExternal(onnx::ModelProto& m, const std::string& location, const std::string& offset,
                  const std::string& length)
{
    auto* t = m.mutable_graph()->mutable_initializer(0);
    t->clear_raw_data();
    t->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    const std::pair<const char*, const std::string*> keys[] = {
        {"location", &location}, {"offset", &offset}, {"length", &length}};
    for (const auto& [k, v] : keys) {
        if (v->empty())
            continue;
        auto* e = t->add_external_data();
        e->set_key(k);
        e->set_value(*v);
    }
}

/// `depth` If nodes nested through their then_branch attributes.
void nestIfs(onnx::GraphProto& g, int depth)
{
    if (depth == 0)
        return;
    auto* n = g.add_node();
    n->set_op_type("If");
    n->add_input("c");
    n->add_output("o");
    auto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(onnx::AttributeProto_AttributeType_GRAPH);
    nestIfs(*a->mutable_g(), depth - 1);
}

QByteArray serialized(const onnx::ModelProto& m)
{
    std::string s;
    m.SerializeToString(&s);
    return QByteArray(s.data(), qsizetype(s.size()));
}

/// The bytes of the model file for case `bad`.
QByteArray craft(Bad bad)
{
    auto m = goodModel();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    switch (bad) {
    case Bad::Garbage: return QByteArray(64, char(0xFF)); // endless varint
    case Bad::Truncated: {
        const QByteArray full = serialized(m);
        return full.left(full.size() - 10); // the graph's length runs past the end
    }
    case Bad::Empty: return {};
    case Bad::AbsoluteLocation: makeExternal(m, "/etc/hostname", "0", "24"); break;
    case Bad::DotDotLocation: makeExternal(m, "sub/../../outside.bin", "0", "24"); break;
    case Bad::SymlinkLocation: makeExternal(m, "link.bin", "0", "24"); break;
    case Bad::PastEnd: makeExternal(m, "data.bin", "20", "24"); break; // data.bin has 32 bytes
    case Bad::OffsetOverflow: makeExternal(m, "data.bin", "18446744073709551608", "24"); break;
    case Bad::OffsetTooBig: makeExternal(m, "data.bin", "99999999999999999999", "24"); break;
    case Bad::MissingFile: makeExternal(m, "nowhere.bin", "0", "24"); break;
    case Bad::LengthMismatch: makeExternal(m, "data.bin", "0", "20"); break;
    case Bad::RawSizeMismatch: w->set_raw_data(std::string(20, '\0')); break;
    case Bad::FloatCount:
        w->clear_raw_data();
        for (int i = 0; i < 5; ++i)
            w->add_float_data(float(i));
        break;
    case Bad::NegativeDim: w->set_dims(1, -3); break;
    case Bad::ProductOverflow:
        w->set_dims(0, int64_t(1) << 40);
        w->set_dims(1, int64_t(1) << 40);
        break;
    case Bad::DeepSubgraphs: nestIfs(*m.mutable_graph(), 20); break;
    case Bad::Over2GB: break; // written as a sparse file by the test
    }
    return serialized(m);
}

} // namespace

class TestBadOnnx : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

private slots:
    void initTestCase();
    void rejected_data();
    void rejected();
    void unknownDataTypeListed_data();
    void unknownDataTypeListed();
};

void TestBadOnnx::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QDir(m_dir.path()).mkpath("model");
    QFile data(m_dir.filePath("model/data.bin"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    QCOMPARE(data.write(QByteArray(32, '\x01')), qint64(32));
    data.close();
    QFile outside(m_dir.filePath("outside.bin"));
    QVERIFY(outside.open(QIODevice::WriteOnly));
    QCOMPARE(outside.write(QByteArray(32, '\x02')), qint64(32));
    outside.close();
    QVERIFY(QFile::link(m_dir.filePath("model/data.bin"), m_dir.filePath("model/link.bin")));
}

void TestBadOnnx::rejected_data()
{
    QTest::addColumn<int>("bad");
    QTest::addColumn<QString>("expected");
    QTest::newRow("garbage") << int(Bad::Garbage) << "not a valid ONNX protobuf";
    QTest::newRow("truncated") << int(Bad::Truncated) << "not a valid ONNX protobuf";
    QTest::newRow("empty file") << int(Bad::Empty) << "empty";
    QTest::newRow("absolute location") << int(Bad::AbsoluteLocation)
                                       << "must be a relative path";
    QTest::newRow("../ location") << int(Bad::DotDotLocation) << "escapes the model's folder";
    QTest::newRow("symlink") << int(Bad::SymlinkLocation) << "is a symbolic link";
    QTest::newRow("offset+length past end") << int(Bad::PastEnd) << "runs past the end";
    QTest::newRow("offset+length over 2^64") << int(Bad::OffsetOverflow) << "runs past the end";
    QTest::newRow("offset over 2^64") << int(Bad::OffsetTooBig) << "is not a whole number";
    QTest::newRow("missing external file") << int(Bad::MissingFile) << "does not exist";
    QTest::newRow("external length != shape") << int(Bad::LengthMismatch)
                                              << "does not match the 24 bytes";
    QTest::newRow("raw_data size") << int(Bad::RawSizeMismatch)
                                   << "tensor 'w': raw_data has 20 bytes";
    QTest::newRow("float_data count") << int(Bad::FloatCount)
                                      << "holds 5 values but its shape needs 6";
    QTest::newRow("negative dim") << int(Bad::NegativeDim) << "negative dimension -3";
    QTest::newRow("dims product overflow") << int(Bad::ProductOverflow) << "overflows 64 bits";
    QTest::newRow("subgraphs too deep") << int(Bad::DeepSubgraphs) << "nest deeper than";
    QTest::newRow("over 2 GB") << int(Bad::Over2GB) << "limited to 2 GB";
}

void TestBadOnnx::rejected()
{
    QFETCH(int, bad);
    QFETCH(QString, expected);
    const QString path = m_dir.filePath(QStringLiteral("model/bad_%1.onnx").arg(bad));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    const QByteArray bytes = craft(Bad(bad));
    QCOMPARE(f.write(bytes), qint64(bytes.size()));
    f.close();
    if (Bad(bad) == Bad::Over2GB) // sparse: costs no disk space
        QCOMPARE(::truncate(path.toLocal8Bit().constData(), (off_t(1) << 31) + 4096), 0);
    const auto model = io::readOnnx(path.toStdString());
    QVERIFY(!model);
    const QString message = QString::fromStdString(model.error().message);
    QVERIFY2(message.startsWith(path), qPrintable(message));
    QVERIFY2(message.contains(expected), qPrintable(message));
    QFile::remove(path);
}

void TestBadOnnx::unknownDataTypeListed_data()
{
    QTest::addColumn<int>("dataType");
    QTest::addColumn<QString>("typeName");
    QTest::newRow("999") << 999 << "ONNX type 999";
    QTest::newRow("STRING") << 8 << "STRING";
    QTest::newRow("COMPLEX64") << 14 << "COMPLEX64";
    QTest::newRow("negative") << -7 << "ONNX type -7";
}

void TestBadOnnx::unknownDataTypeListed()
{
    QFETCH(int, dataType);
    QFETCH(QString, typeName);
    auto m = goodModel();
    m.mutable_graph()->mutable_initializer(0)->set_data_type(dataType);
    const QString path = m_dir.filePath("model/unknown_type.onnx");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(serialized(m));
    f.close();
    const auto model = io::readOnnx(path.toStdString());
    QVERIFY2(model, model ? "" : model.error().message.c_str());
    QCOMPARE(model->tensors.size(), size_t(1));
    const auto& t = model->tensors[0];
    QCOMPARE(t.dtype, core::DType::Unsupported);
    QCOMPARE(QString::fromStdString(t.typeName), typeName);
    QVERIFY(!t.readable());
}

QTEST_GUILESS_MAIN(TestBadOnnx)
#include "tst_bad_onnx.moc"
