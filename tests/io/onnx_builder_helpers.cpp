#include "onnx_builder_helpers.h"

#include "core/faultguard.h"

#include <QFile>

#include <cstring>

namespace qs::onnxtest {

onnx::TensorProto floatTensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values, bool raw)
{
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (int64_t d : dims)
        t.add_dims(d);
    if (raw) {
        // The test machines are little-endian, which is the byte order raw_data requires.
        std::string bytes(values.size() * sizeof(float), '\0');
        std::memcpy(bytes.data(), values.data(), bytes.size());
        t.set_raw_data(bytes);
    } else {
        for (float v : values)
            t.add_float_data(v);
    }
    return t;
}

onnx::TensorProto int32FieldTensor(const std::string& name, int32_t dataType,
                                   const std::vector<int64_t>& dims,
                                   const std::vector<int32_t>& values)
{
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(dataType);
    for (int64_t d : dims)
        t.add_dims(d);
    for (int32_t v : values)
        t.add_int32_data(v);
    return t;
}

onnx::NodeProto makeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs)
{
    onnx::NodeProto n;
    n.set_op_type(op);
    n.set_name(name);
    for (const auto& i : inputs)
        n.add_input(i);
    for (const auto& o : outputs)
        n.add_output(o);
    return n;
}

void addIntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value)
{
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(value);
}

onnx::ModelProto emptyModel()
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    m.set_producer_name("qs-test");
    m.set_producer_version("1.0");
    m.mutable_graph()->set_name("g");
    return m;
}

bool saveModel(const onnx::ModelProto& model, const QString& path)
{
    std::string bytes;
    if (!model.SerializeToString(&bytes))
        return false;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return false;
    return f.write(bytes.data(), qint64(bytes.size())) == qint64(bytes.size());
}

std::vector<float> tensorValues(const core::TensorInfo& t, bool* ok)
{
    *ok = false;
    if (!t.storage)
        return {};
    auto bytes = t.storage->bytes();
    if (!bytes || t.offset > bytes->size() || t.bytes > bytes->size() - t.offset)
        return {};
    std::vector<float> out(t.elementCount());
    bool converted = false;
    auto st = core::guarded(t.storage->origin(), [&] {
        converted = core::convertToF32(t.dtype, bytes->data() + t.offset, out.size(), out.data());
    });
    *ok = st.ok() && converted;
    return out;
}

} // namespace qs::onnxtest
