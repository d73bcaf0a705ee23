// ONNX through Debian's libonnx protobuf classes: initializers, Constant nodes and tensors in
// If/Loop/Scan subgraphs, each with the node that consumes it, its op type and axis roles.
#include "modelreader.h"

#include "onnx_tensor.h"

#include <climits>
#include <fstream>
#include <map>
#include <unordered_set>

namespace qs::io {

using core::Error;
using core::ErrorCode;

namespace {

// Protobuf itself stops parsing at 100 nested messages (about 33 subgraph levels); 16 levels
// is far beyond any real model and keeps the recursion shallow.
constexpr int kMaxGraphDepth = 16;

struct Consumer {
    std::string layer, op;
    int input = -1;
    bool transB = false;
    int64_t order = -1; ///< the node's position in a walk of the graph in node order
};

/// Everything a walk over the graph and its subgraphs collects.
struct Walk {
    std::filesystem::path model;
    ExternalFiles files;
    std::vector<core::TensorInfo> tensors;
    std::vector<std::string> scopes; ///< the subgraph each tensor came from ("" = main graph)
    std::map<std::string, Consumer> consumers; ///< first node reading each value name
    int unnamed = 0;
    int64_t nodes = 0; ///< nodes visited so far (subgraph nodes numbered where they appear)
};

core::Result<onnx::ModelProto> parseModel(const std::filesystem::path& path)
{
    const std::string origin = path.string();
    auto file = core::MappedFile::open(path); // uniform errors for missing/dir/empty/device
    if (!file) return file.error();
    if ((*file)->size() > uint64_t(INT_MAX))
        return Error{ErrorCode::Unsupported,
                     origin + ": ONNX protobuf files are limited to 2 GB (larger models keep "
                              "weights in external data files)"};
    // Read with read(2), not through the mapping: protobuf allocates while parsing, which the
    // SIGBUS guard does not allow, and a short read simply fails the parse.
    std::string bytes((*file)->size(), '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(bytes.data(), std::streamsize(bytes.size()));
    bytes.resize(size_t(in.gcount()));
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes) || !model.has_graph())
        return Error{ErrorCode::Format,
                     origin +
                         ": not a valid ONNX protobuf (cannot parse a ModelProto with a graph)"};
    return model;
}

bool attrInt(const onnx::NodeProto& node, const char* name, int64_t fallback)
{
    for (const auto& a : node.attribute())
        if (a.name() == name) return a.i() != 0;
    return fallback != 0;
}

void recordConsumers(const onnx::GraphProto& g, Walk& w, int depth);

void recordNode(const onnx::NodeProto& node, Walk& w, int depth)
{
    const std::string layer =
        node.name().empty() ? node.op_type() + "_" + std::to_string(w.unnamed++) : node.name();
    const int64_t order = w.nodes++;
    for (int i = 0; i < node.input_size(); ++i)
        w.consumers.try_emplace(node.input(i),
                                Consumer{layer, node.op_type(), i, attrInt(node, "transB", 0), order});
    for (const auto& a : node.attribute()) {
        if (a.has_g()) recordConsumers(a.g(), w, depth + 1);
        for (const auto& g : a.graphs())
            recordConsumers(g, w, depth + 1);
    }
}

void recordConsumers(const onnx::GraphProto& g, Walk& w, int depth)
{
    if (depth > kMaxGraphDepth) return;
    for (const auto& node : g.node())
        recordNode(node, w, depth);
}

/// Axis roles from the consuming op (see TensorInfo's comment); rank-based otherwise.
void assignRoles(core::TensorInfo& t, const Consumer* c)
{
    const int rank = int(t.shape.size());
    if (c && c->input == 1 && rank >= 2) {
        if (c->op == "MatMul" || (c->op == "Gemm" && !c->transB)) {
            t.outAxis = rank - 1, t.inAxis = rank - 2;
            return;
        }
        if (c->op == "Gemm") {
            t.outAxis = 0, t.inAxis = 1;
            return;
        }
        if (c->op == "Conv") {
            t.outAxis = 0, t.inAxis = 1;
            return;
        }
        if (c->op == "ConvTranspose") {
            t.outAxis = 1, t.inAxis = 0;
            return;
        }
    }
    core::assignRolesByRank(t);
}

core::Status addTensor(const onnx::TensorProto& proto, const std::string& name, Walk& w,
                       const std::string& scope)
{
    auto t = onnxTensor(proto, name, w.model, w.files);
    if (!t) return t.error();
    w.tensors.push_back(std::move(*t));
    w.scopes.push_back(scope);
    return {};
}

core::Status collectTensors(const onnx::GraphProto& g, Walk& w, int depth, const std::string& scope)
{
    if (depth > kMaxGraphDepth)
        return Error{ErrorCode::Format, w.model.string() + ": subgraphs nest deeper than " +
                                            std::to_string(kMaxGraphDepth) + " levels"};
    for (const auto& init : g.initializer())
        if (auto st = addTensor(init, init.name(), w, scope); !st) return st;
    for (int n = 0; n < g.node_size(); ++n) {
        const auto& node = g.node(n);
        const std::string nodeScope =
            (scope.empty() ? "" : scope + "/") +
            (node.name().empty() ? node.op_type() + "#" + std::to_string(n) : node.name());
        for (const auto& a : node.attribute()) {
            if (node.op_type() == "Constant" && a.name() == "value" && a.has_t() &&
                node.output_size() > 0)
                if (auto st = addTensor(a.t(), node.output(0), w, scope); !st) return st;
            if (a.has_g())
                if (auto st = collectTensors(a.g(), w, depth + 1, nodeScope + "." + a.name()); !st)
                    return st;
            for (int k = 0; k < a.graphs_size(); ++k)
                if (auto st = collectTensors(a.graphs(k), w, depth + 1,
                                             nodeScope + "." + a.name() + std::to_string(k));
                    !st)
                    return st;
        }
    }
    return {};
}

void addMetadata(const onnx::ModelProto& m, core::Model& out)
{
    auto add = [&](std::string k, std::string v) {
        if (!v.empty()) out.metadata.push_back({std::move(k), std::move(v)});
    };
    add("ir_version", std::to_string(m.ir_version()));
    for (const auto& op : m.opset_import())
        add("opset " + (op.domain().empty() ? std::string("ai.onnx") : op.domain()),
            std::to_string(op.version()));
    add("producer_name", m.producer_name());
    add("producer_version", m.producer_version());
    add("domain", m.domain());
    if (m.model_version()) add("model_version", std::to_string(m.model_version()));
    add("doc_string", m.doc_string().substr(0, 1000));
    add("graph", m.graph().name());
    for (const auto& p : m.metadata_props())
        add(p.key(), p.value());
}

} // namespace

core::Result<core::Model> readOnnx(const std::filesystem::path& path)
{
    auto proto = parseModel(path);
    if (!proto) return proto.error();
    Walk w;
    w.model = path;
    recordConsumers(proto->graph(), w, 0);
    if (auto st = collectTensors(proto->graph(), w, 0, ""); !st) return st.error();
    core::Model m;
    m.path = path.string();
    m.format = "onnx";
    addMetadata(*proto, m);
    std::unordered_set<std::string> names;
    for (size_t i = 0; i < w.tensors.size(); ++i) {
        auto& t = w.tensors[i];
        const auto it = w.consumers.find(t.name);
        const Consumer* c = it == w.consumers.end() ? nullptr : &it->second;
        assignRoles(t, c);
        t.layer = c ? c->layer : core::layerFromName(t.name);
        t.op = c ? c->op : std::string();
        t.opInput = c ? c->input : -1;
        t.graphOrder = c ? c->order : -1;
        // Subgraphs have their own name scopes: a name seen before gets its subgraph appended.
        if (!names.insert(t.name).second) {
            if (!w.scopes[i].empty()) t.name += " (" + w.scopes[i] + ")";
            if (w.scopes[i].empty() || !names.insert(t.name).second)
                return Error{ErrorCode::Format,
                             m.path + ": two tensors are named '" + t.name + "'"};
        }
        m.tensors.push_back(std::move(t));
    }
    return m;
}

} // namespace qs::io
