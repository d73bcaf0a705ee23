// safetensors reading: files written here byte by byte (u64 LE header length, JSON header,
// data section), with every dtype the format names. Expected values are written in the test:
// the bytes of floats and integers the test stored, and bit patterns decoded by hand from
// the IEEE / OCP FP8 layouts (noted next to each one).
#include "stnpy_helpers.h"

#include "io/modelreader.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>

using namespace qs;
using namespace qs::stnpytest;

namespace {

template <class T> QByteArray bytesOf(std::initializer_list<T> values)
{
    QByteArray b;
    for (T v : values) {
        char raw[sizeof(T)];
        std::memcpy(raw, &v, sizeof(T)); // the test host is little-endian, as the format is
        b.append(raw, sizeof(T));
    }
    return b;
}

/// One tensor of the all-dtypes file: its header entry and the values it must read back as.
struct Case {
    std::string name;
    std::string dtype;
    std::string shape; // JSON array text
    QByteArray data;
    std::vector<float> expected;
    core::DType want;
};

std::vector<Case> allDtypeCases()
{
    using D = core::DType;
    return {
        {"f64", "F64", "[3]", bytesOf<double>({0.5, -3.0, 0.1}), {0.5f, -3.0f, 0.1f}, D::F64},
        {"f32",
         "F32",
         "[2,2]",
         bytesOf<float>({1.5f, -2.25f, 0.0f, 1e-30f}),
         {1.5f, -2.25f, 0.0f, 1e-30f},
         D::F32},
        // f16: 0x3C00 = 1, 0xC000 = -2, 0x7BFF = 65504 (max), 0x0001 = 2^-24 (smallest subnormal)
        {"f16",
         "F16",
         "[4]",
         bytesOf<uint16_t>({0x3C00, 0xC000, 0x7BFF, 0x0001}),
         {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)},
         D::F16},
        // bf16 is the top half of an f32: 0x3F80 = 1, 0xC040 = -3, 0x4049 = 3.140625
        {"bf16",
         "BF16",
         "[3]",
         bytesOf<uint16_t>({0x3F80, 0xC040, 0x4049}),
         {1.0f, -3.0f, 3.140625f},
         D::BF16},
        // E4M3 (bias 7): 0x38 = 1, 0x7E = 2^8 * 1.75 = 448, 0xB0 = -2^-1, 0x01 = 2^-6 / 8
        {"e4m3",
         "F8_E4M3",
         "[4]",
         bytesOf<uint8_t>({0x38, 0x7E, 0xB0, 0x01}),
         {1.0f, 448.0f, -0.5f, std::ldexp(1.0f, -9)},
         D::F8_E4M3},
        // E5M2 (bias 15): 0x3C = 1, 0x7B = 2^15 * 1.75 = 57344, 0xC0 = -2, 0x01 = 2^-14 / 4
        {"e5m2",
         "F8_E5M2",
         "[4]",
         bytesOf<uint8_t>({0x3C, 0x7B, 0xC0, 0x01}),
         {1.0f, 57344.0f, -2.0f, std::ldexp(1.0f, -16)},
         D::F8_E5M2},
        {"i64",
         "I64",
         "[2]",
         bytesOf<int64_t>({-5, int64_t(1) << 40}),
         {-5.0f, std::ldexp(1.0f, 40)},
         D::I64},
        {"i32", "I32", "[2]", bytesOf<int32_t>({-7, 123456}), {-7.0f, 123456.0f}, D::I32},
        {"i16", "I16", "[2]", bytesOf<int16_t>({-32768, 300}), {-32768.0f, 300.0f}, D::I16},
        {"i8", "I8", "[2]", bytesOf<int8_t>({-128, 127}), {-128.0f, 127.0f}, D::I8},
        {"u64",
         "U64",
         "[1]",
         bytesOf<uint64_t>({uint64_t(1) << 63}),
         {std::ldexp(1.0f, 63)},
         D::U64},
        // 2^32 - 1 has no f32; the nearest is 2^32
        {"u32", "U32", "[2]", bytesOf<uint32_t>({4294967295u, 7}), {4294967296.0f, 7.0f}, D::U32},
        {"u16", "U16", "[1]", bytesOf<uint16_t>({65535}), {65535.0f}, D::U16},
        {"u8", "U8", "[2]", bytesOf<uint8_t>({255, 0}), {255.0f, 0.0f}, D::U8},
        {"flags", "BOOL", "[2]", bytesOf<uint8_t>({0, 1}), {0.0f, 1.0f}, D::BOOL},
        {"scalar", "F32", "[]", bytesOf<float>({42.0f}), {42.0f}, D::F32},
        {"empty", "F32", "[0,3]", QByteArray(), {}, D::F32},
    };
}

/// Header text and data section for `cases`, laid out in order.
std::pair<std::string, QByteArray> layout(const std::vector<Case>& cases,
                                          const std::string& metadata)
{
    std::string json = "{";
    if (!metadata.empty()) json += "\"__metadata__\":" + metadata + ",";
    QByteArray data;
    for (const auto& c : cases) {
        const auto begin = data.size();
        data.append(c.data);
        json += "\"" + c.name + "\":{\"dtype\":\"" + c.dtype + "\",\"shape\":" + c.shape +
                ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) +
                "]},";
    }
    json.back() = '}';
    return {json, data};
}

bool sameFloats(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return false;
    return true;
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT

private slots:
    void allDtypes_data();
    void allDtypes();
    void metadataAndRoles();
    void emptyTensorSharesOffset();
    void escapedNames();
    void shardedIndex();
    void folderOpensTheModelInside_data();
    void folderOpensTheModelInside();
    void sparse16GiBOpensWithoutReading();
    void demoModel();

private:
    QString path(const QString& name) const { return m_dir.filePath(name); }
    core::Model openAllDtypes();

    QTemporaryDir m_dir;
};

core::Model TestSafetensors::openAllDtypes()
{
    const auto [json, data] =
        layout(allDtypeCases(), "{\"format\":\"pt\",\"note\":\"a \\\"quoted\\\" word\"}");
    const QString p = path("all.safetensors");
    if (!writeFile(p, safetensorsFile(json, data))) return {};
    auto m = io::readSafetensors(p.toStdString());
    if (!m) {
        qWarning("%s", m.error().message.c_str());
        return {};
    }
    return std::move(*m);
}

void TestSafetensors::allDtypes_data()
{
    QTest::addColumn<int>("index");
    const auto cases = allDtypeCases();
    for (size_t i = 0; i < cases.size(); ++i)
        QTest::newRow(cases[i].name.c_str()) << int(i);
}

void TestSafetensors::allDtypes()
{
    QFETCH(int, index);
    const Case c = allDtypeCases()[size_t(index)];
    const core::Model m = openAllDtypes();
    QCOMPARE(m.tensors.size(), allDtypeCases().size());
    const core::TensorInfo* t = m.find(c.name);
    QVERIFY(t);
    QCOMPARE(t->dtype, c.want);
    QCOMPARE(t->typeName, c.dtype);
    QCOMPARE(t->bytes, uint64_t(c.data.size()));
    QCOMPARE(t->elementCount(), uint64_t(c.expected.size()));
    bool ok = false;
    const auto values = readValues(*t, &ok);
    QVERIFY(ok);
    QVERIFY2(sameFloats(values, c.expected), c.name.c_str());
}

void TestSafetensors::metadataAndRoles()
{
    const core::Model m = openAllDtypes();
    QCOMPARE(m.format, std::string("safetensors"));
    QCOMPARE(m.metadata.size(), size_t(2));
    QCOMPARE(m.metadata[0].key, std::string("format"));
    QCOMPARE(m.metadata[0].value, std::string("pt"));
    QCOMPARE(m.metadata[1].value, std::string("a \"quoted\" word"));
    // Data starts after the 8-byte length and the header: the first tensor is there.
    const QByteArray raw = [&] {
        QFile f(path("all.safetensors"));
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }();
    uint64_t n = 0;
    std::memcpy(&n, raw.constData(), 8);
    QCOMPARE(m.find("f64")->offset, 8 + n);
    QCOMPARE(m.totalBytes(), uint64_t(raw.size()) - 8 - n);
    // [2,2] is a Linear weight [out, in]; [3] a bias; [] and [0,3] follow the rank rule too.
    QCOMPARE(m.find("f32")->outAxis, 0);
    QCOMPARE(m.find("f32")->inAxis, 1);
    QCOMPARE(m.find("f64")->outAxis, 0);
    QCOMPARE(m.find("f64")->inAxis, -1);
    QCOMPARE(m.find("scalar")->outAxis, -1);
    QVERIFY(m.find("scalar")->shape.empty());
    QCOMPARE(m.find("empty")->shape, (std::vector<int64_t>{0, 3}));
}

void TestSafetensors::emptyTensorSharesOffset()
{
    // An empty tensor listed after a full one at the same begin offset is not an overlap.
    const std::string json =
        "{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"b.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}";
    const QString p = path("empty_first.safetensors");
    QVERIFY(writeFile(p, safetensorsFile(json, bytesOf<float>({2.0f}))));
    auto m = io::readSafetensors(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->tensors.size(), size_t(2));
    QCOMPARE(m->find("a.weight")->layer, std::string("a"));
}

void TestSafetensors::escapedNames()
{
    // JSON escapes: \" and \u00e9 (UTF-8 C3 A9) and \/ must come out decoded.
    const std::string json = "{\"model.caf\\u00e9.w\\\"q\\/k\":{\"dtype\":\"F32\",\"shape\":[1],"
                             "\"data_offsets\":[0,4]}}";
    const QString p = path("escaped.safetensors");
    QVERIFY(writeFile(p, safetensorsFile(json, bytesOf<float>({-1.0f}))));
    auto m = io::readSafetensors(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->tensors.size(), size_t(1));
    QCOMPARE(m->tensors[0].name, std::string("model.caf\xC3\xA9.w\"q/k"));
    QCOMPARE(m->tensors[0].layer, std::string("model.caf\xC3\xA9"));
}

void TestSafetensors::shardedIndex()
{
    const std::string s1 =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}}";
    const std::string s2 =
        "{\"layers.1.weight\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]},"
        "\"layers.1.bias\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[4,5]}}";
    QVERIFY(writeFile(path("model-00001-of-00002.safetensors"),
                      safetensorsFile(s1, bytesOf<float>({3.0f, 4.0f}))));
    QByteArray d2 = bytesOf<uint16_t>({0x3F80, 0xBF00}); // bf16 1 and -0.5
    d2.append(char(-9));
    QVERIFY(writeFile(path("model-00002-of-00002.safetensors"), safetensorsFile(s2, d2)));
    const std::string index = "{\"metadata\":{\"total_size\":17},\"weight_map\":{"
                              "\"layers.0.weight\":\"model-00001-of-00002.safetensors\","
                              "\"layers.1.weight\":\"model-00002-of-00002.safetensors\","
                              "\"layers.1.bias\":\"model-00002-of-00002.safetensors\"}}";
    const QString ip = path("model.safetensors.index.json");
    QVERIFY(writeFile(ip, QByteArray::fromStdString(index)));

    for (auto m : {io::readSafetensorsIndex(ip.toStdString()), io::openModel(ip.toStdString())}) {
        QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
        QCOMPARE(m->tensors.size(), size_t(3));
        QCOMPARE(m->totalBytes(), uint64_t(8 + 4 + 1));
        QCOMPARE(m->totalParameters(), uint64_t(2 + 2 + 1));
        bool ok = false;
        QVERIFY(sameFloats(readValues(*m->find("layers.0.weight"), &ok), {3.0f, 4.0f}) && ok);
        QVERIFY(sameFloats(readValues(*m->find("layers.1.weight"), &ok), {1.0f, -0.5f}) && ok);
        QVERIFY(sameFloats(readValues(*m->find("layers.1.bias"), &ok), {-9.0f}) && ok);
        bool total = false, shardMeta = false;
        for (const auto& kv : m->metadata) {
            total |= kv.key == "total_size" && kv.value == "17";
            shardMeta |= kv.key.find("format") != std::string::npos && kv.value == "pt";
        }
        QVERIFY(total);
        QVERIFY(shardMeta);
    }
}

void TestSafetensors::folderOpensTheModelInside_data()
{
    // Files to create in a folder (name: tensor in it), and the tensor the folder opens to or
    // the error it gives.
    QTest::addColumn<QStringList>("files");
    QTest::addColumn<QString>("opens");
    QTest::addColumn<QString>("error");
    QTest::newRow("model.safetensors") << QStringList{"model.safetensors:a", "config.json:"} << "a" << "";
    QTest::newRow("model.safetensors beside others") << QStringList{"model.safetensors:a", "other.safetensors:b"} << "a" << "";
    QTest::newRow("one safetensors file") << QStringList{"weights.safetensors:b", "tokenizer.json:"} << "b" << "";
    QTest::newRow("index wins") << QStringList{"model.safetensors:a", "model-00001-of-00001.safetensors:s",
                                               "model.safetensors.index.json:s"} << "s" << "";
    QTest::newRow("two without index") << QStringList{"a.safetensors:a", "b.safetensors:b"} << ""
                                       << "several .safetensors files and no index (a.safetensors, b.safetensors)";
    QTest::newRow("empty") << QStringList{} << "" << "no model in this folder";
    QTest::newRow("only config") << QStringList{"config.json:"} << "" << "no model in this folder";
}

void TestSafetensors::folderOpensTheModelInside()
{
    QFETCH(QStringList, files);
    QFETCH(QString, opens);
    QFETCH(QString, error);
    QTemporaryDir dir;
    for (const QString& f : files) {
        const QString name = f.section(':', 0, 0), tensor = f.section(':', 1);
        QByteArray bytes = "{}";
        if (name.endsWith(".index.json"))
            bytes = QByteArray("{\"weight_map\":{\"") + tensor.toUtf8() + "\":\"model-00001-of-00001.safetensors\"}}";
        else if (name.endsWith(".safetensors"))
            bytes = safetensorsFile("{\"" + tensor.toStdString() + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                                    bytesOf<float>({1.0f}));
        QVERIFY(writeFile(dir.filePath(name), bytes));
    }
    auto m = io::openModel(dir.path().toStdString());
    if (error.isEmpty()) {
        QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
        QCOMPARE(m->tensors.size(), size_t(1));
        QCOMPARE(QString::fromStdString(m->tensors[0].name), opens);
    } else {
        QVERIFY(!m.ok());
        const std::string& msg = m.error().message;
        QVERIFY2(msg.rfind(dir.path().toStdString() + ": ", 0) == 0, msg.c_str());
        QVERIFY2(msg.find(error.toStdString()) != std::string::npos, msg.c_str());
    }
}

void TestSafetensors::sparse16GiBOpensWithoutReading()
{
    // Two 8 GiB tensors in a sparse file: opening reads the header only. (How long it takes is
    // measured by bench_stats, not asserted here.)
    const uint64_t half = uint64_t(1) << 33;
    const std::string json =
        "{\"big.a\":{\"dtype\":\"F32\",\"shape\":[2,1073741824],\"data_offsets\":[0," +
        std::to_string(half) +
        "]},\"big.b\":{\"dtype\":\"BF16\",\"shape\":[4,1073741824],"
        "\"data_offsets\":[" +
        std::to_string(half) + "," + std::to_string(2 * half) + "]}}";
    const QString p = path("sparse.safetensors");
    QFile f(p);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(safetensorsFile(json, QByteArray())), qint64(8 + json.size()));
    if (!f.resize(qint64(8 + json.size() + 2 * half)))
        QSKIP("the temporary folder's file system cannot hold a 16 GiB sparse file");
    f.close();
    auto m = io::openModel(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    QCOMPARE(m->tensors.size(), size_t(2));
    QCOMPARE(m->totalBytes(), 2 * half);
    QCOMPARE(m->totalParameters(), uint64_t(2 + 4) << 30);
    QCOMPARE(m->find("big.b")->offset, 8 + json.size() + half);
    QFile::remove(p);
}

void TestSafetensors::demoModel()
{
    const QString p = QStringLiteral(QS_SOURCE_DIR "/resources/demo/digits_mlp.safetensors");
    QFile f(p);
    if (!f.open(QIODevice::ReadOnly))
        QSKIP("resources/demo/digits_mlp.safetensors is not in this checkout");
    const QByteArray raw = f.readAll();
    auto m = io::openModel(p.toStdString());
    QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
    // Second, independent reading of the header with Qt's JSON parser.
    uint64_t n = 0;
    std::memcpy(&n, raw.constData(), 8);
    const QJsonObject header = QJsonDocument::fromJson(raw.mid(8, qsizetype(n))).object();
    QCOMPARE(size_t(header.size() - (header.contains("__metadata__") ? 1 : 0)), m->tensors.size());
    QCOMPARE(m->metadata.size(), size_t(header.value("__metadata__").toObject().size()));
    for (const auto& t : m->tensors) {
        const QJsonObject e = header.value(QString::fromStdString(t.name)).toObject();
        QCOMPARE(t.typeName, e.value("dtype").toString().toStdString());
        const QJsonArray shape = e.value("shape").toArray();
        QCOMPARE(t.shape.size(), size_t(shape.size()));
        for (qsizetype i = 0; i < shape.size(); ++i)
            QCOMPARE(t.shape[size_t(i)], int64_t(shape[i].toInteger()));
        const auto begin = uint64_t(e.value("data_offsets").toArray()[0].toInteger());
        QCOMPARE(t.offset, 8 + n + begin);
        QCOMPARE(t.dtype, core::DType::F32);
        bool ok = false;
        const auto values = readValues(t, &ok);
        QVERIFY(ok);
        // The file's own bytes at that offset, as floats.
        std::vector<float> expected(values.size());
        std::memcpy(expected.data(), raw.constData() + t.offset, expected.size() * sizeof(float));
        QVERIFY(sameFloats(values, expected));
    }
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
