#include "modeltreemodel.h"

#include <QStringList>

#include <map>

namespace qs::widgets {

struct ModelTreeModel::Node {
    QString name;
    Node* parent = nullptr;
    int row = 0;
    int tensor = -1; ///< index into Model::tensors for leaves
    uint64_t parameters = 0, bytes = 0;
    std::vector<std::unique_ptr<Node>> children;
    std::map<QString, Node*> byName; ///< layer children by name, for building

    Node* child(const QString& childName)
    {
        auto it = byName.find(childName);
        if (it != byName.end()) return it->second;
        auto n = std::make_unique<Node>();
        n->name = childName;
        n->parent = this;
        n->row = int(children.size());
        Node* raw = n.get();
        children.push_back(std::move(n));
        byName.emplace(childName, raw);
        return raw;
    }
};

ModelTreeModel::ModelTreeModel(QObject* parent) : QAbstractItemModel(parent), m_root(std::make_unique<Node>()) {}
ModelTreeModel::~ModelTreeModel() = default;

void ModelTreeModel::setModel(std::shared_ptr<const core::Model> model)
{
    beginResetModel();
    m_model = std::move(model);
    m_root = std::make_unique<Node>();
    if (m_model) {
        for (size_t i = 0; i < m_model->tensors.size(); ++i) {
            const auto& t = m_model->tensors[i];
            Node* layer = m_root.get();
            if (!t.layer.empty())
                for (const QString& part : QString::fromStdString(t.layer).split('.', Qt::SkipEmptyParts))
                    layer = layer->child(part);
            auto leaf = std::make_unique<Node>();
            leaf->name = QString::fromStdString(t.name);
            leaf->parent = layer;
            leaf->row = int(layer->children.size());
            leaf->tensor = int(i);
            leaf->parameters = t.elementCount();
            leaf->bytes = t.bytes;
            for (Node* up = layer; up; up = up->parent)
                up->parameters += leaf->parameters, up->bytes += leaf->bytes;
            layer->children.push_back(std::move(leaf));
        }
    }
    endResetModel();
}

QModelIndex ModelTreeModel::indexOfTensor(const QString& name) const
{
    std::vector<const Node*> stack{m_root.get()};
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (n->tensor >= 0 && n->name == name) return createIndex(n->row, 0, const_cast<Node*>(n));
        for (const auto& c : n->children) stack.push_back(c.get());
    }
    return {};
}

ModelTreeModel::Node* ModelTreeModel::nodeFor(const QModelIndex& index) const
{
    return index.isValid() ? static_cast<Node*>(index.internalPointer()) : m_root.get();
}

QModelIndex ModelTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    const Node* p = nodeFor(parent);
    if (row < 0 || column < 0 || column >= ColumnCount || row >= int(p->children.size())) return {};
    return createIndex(row, column, p->children[size_t(row)].get());
}

QModelIndex ModelTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid()) return {};
    const Node* p = nodeFor(child)->parent;
    if (!p || p == m_root.get()) return {};
    return createIndex(p->row, 0, const_cast<Node*>(p));
}

int ModelTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() && parent.column() != 0) return 0;
    return int(nodeFor(parent)->children.size());
}

int ModelTreeModel::columnCount(const QModelIndex&) const { return ColumnCount; }

namespace {

QString shapeText(const std::vector<int64_t>& shape)
{
    QStringList parts;
    for (int64_t d : shape) parts << QString::number(d);
    return "[" + parts.join(", ") + "]";
}

} // namespace

QVariant ModelTreeModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid()) return {};
    const Node* n = nodeFor(index);
    const core::TensorInfo* t = n->tensor >= 0 ? &m_model->tensors[size_t(n->tensor)] : nullptr;
    if (role == TensorIndexRole) return n->tensor;
    if (role == Qt::TextAlignmentRole && (index.column() == Parameters || index.column() == Size))
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == SortRole) {
        if (index.column() == Parameters) return QVariant::fromValue<qulonglong>(n->parameters);
        if (index.column() == Size) return QVariant::fromValue<qulonglong>(n->bytes);
        role = Qt::DisplayRole;
    }
    if (role == Qt::ToolTipRole && t)
        return QString("%1\n%2 %3, %4 parameters, %5 bytes\nout axis %6, in axis %7")
            .arg(n->name, QString::fromStdString(t->readable() ? std::string(core::dtypeName(t->dtype)) : t->typeName),
                 shapeText(t->shape), QString::number(n->parameters), QString::number(n->bytes))
            .arg(t->outAxis).arg(t->inAxis);
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
    case Name: return n->name;
    case Op: return t ? QString::fromStdString(t->op) : QString();
    case DType:
        if (!t) return {};
        return t->readable() ? QString::fromStdString(std::string(core::dtypeName(t->dtype)))
                             : QString::fromStdString(t->typeName) + " (unsupported)";
    case Shape: return t ? shapeText(t->shape) : QString();
    case Parameters: return formatCount(n->parameters);
    case Size: return formatBytes(n->bytes);
    default: return {};
    }
}

QVariant ModelTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* names[] = {"Name", "Op", "DType", "Shape", "Parameters", "Size"};
    return section >= 0 && section < ColumnCount ? QString(names[section]) : QVariant();
}

QString formatBytes(uint64_t bytes)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    return u == 0 ? QString("%1 B").arg(bytes) : QString("%1 %2").arg(v, 0, 'f', 2).arg(units[u]);
}

QString formatCount(uint64_t n)
{
    if (n < 10000) return QString::number(n);
    const char* units[] = {"", "K", "M", "B", "T"};
    double v = double(n);
    int u = 0;
    while (v >= 1000 && u < 4) v /= 1000, ++u;
    return QString("%1%2").arg(v, 0, 'f', 1).arg(units[u]);
}

} // namespace qs::widgets
