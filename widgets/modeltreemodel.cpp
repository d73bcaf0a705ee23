#include "modeltreemodel.h"

#include <QStringList>

#include <algorithm>
#include <cmath>
#include <climits>
#include <map>

namespace qs::widgets {

struct ModelTreeModel::Node {
    QString name;
    Node* parent = nullptr;
    int row = 0;
    int tensor = -1; ///< index into Model::tensors for leaves
    uint64_t parameters = 0, bytes = 0;
    bool holdsWeight = false; ///< a weight leaf, or a layer with one below it
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

QString ModelTreeModel::helperGroupName() { return QStringLiteral("(helper constants)"); }

namespace {

/// Tensor indices in display order: by the consuming node's graph position where known
/// (unknown last), else file order.
std::vector<size_t> displayOrder(const core::Model& m)
{
    std::vector<size_t> order(m.tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const auto ga = m.tensors[a].graphOrder, gb = m.tensors[b].graphOrder;
        return (ga < 0 ? INT64_MAX : ga) < (gb < 0 ? INT64_MAX : gb);
    });
    return order;
}

} // namespace

void ModelTreeModel::setModel(std::shared_ptr<const core::Model> model)
{
    beginResetModel();
    m_model = std::move(model);
    m_root = std::make_unique<Node>();
    m_states.clear();
    if (m_model) {
        std::vector<size_t> helpers;
        for (size_t i : displayOrder(*m_model)) {
            const auto& t = m_model->tensors[i];
            if (core::isHelperConstant(t)) {
                helpers.push_back(i);
                continue;
            }
            Node* layer = m_root.get();
            if (!t.layer.empty())
                for (const QString& part : QString::fromStdString(t.layer).split('.', Qt::SkipEmptyParts))
                    layer = layer->child(part);
            addLeaf(layer, i);
        }
        if (!helpers.empty()) {
            Node* group = m_root->child(helperGroupName());
            for (size_t i : helpers) addLeaf(group, i);
        }
    }
    endResetModel();
}

void ModelTreeModel::addLeaf(Node* layer, size_t tensorIndex)
{
    const auto& t = m_model->tensors[tensorIndex];
    auto leaf = std::make_unique<Node>();
    leaf->name = QString::fromStdString(t.name);
    leaf->parent = layer;
    leaf->row = int(layer->children.size());
    leaf->tensor = int(tensorIndex);
    leaf->parameters = t.elementCount();
    leaf->bytes = t.bytes;
    leaf->holdsWeight = core::isWeightTensor(t);
    for (Node* up = layer; up; up = up->parent) {
        up->parameters += leaf->parameters, up->bytes += leaf->bytes;
        up->holdsWeight = up->holdsWeight || leaf->holdsWeight;
    }
    layer->children.push_back(std::move(leaf));
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
    if (role == WeightRole) return n->holdsWeight;
    const QuantState* q = nullptr;
    if (n->tensor >= 0) {
        auto it = m_states.find(n->tensor);
        if (it != m_states.end()) q = &it->second;
    }
    if (index.column() >= Scheme) return quantData(q, index.column(), role);
    if (role == Qt::TextAlignmentRole && (index.column() == Parameters || index.column() == Size))
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == SortRole) {
        if (index.column() == Parameters) return QVariant::fromValue<qulonglong>(n->parameters);
        if (index.column() == Size) return QVariant::fromValue<qulonglong>(n->bytes);
        if (index.column() == Name) return naturalSortKey(n->name);
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
    static const char* names[] = {"Name", "Op", "DType", "Shape", "Parameters", "Size", "Scheme", "Bits/w", "SQNR dB"};
    return section >= 0 && section < ColumnCount ? QString(names[section]) : QVariant();
}

QVariant ModelTreeModel::quantData(const QuantState* q, int column, int role) const
{
    if (!q) return {};
    if (role == Qt::TextAlignmentRole && column != Scheme) return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::BackgroundRole && column == Sqnr) return sqnrColor(q->sqnrDb);
    if (role == SortRole) {
        if (column == Bits) return q->bitsPerWeight;
        if (column == Sqnr) return q->sqnrDb;
        return q->scheme;
    }
    if (role == Qt::ToolTipRole)
        return tr("%1: %2 bits per weight as stored, SQNR %3 dB").arg(q->scheme).arg(q->bitsPerWeight, 0, 'f', 3).arg(q->sqnrDb, 0, 'f', 2);
    if (role != Qt::DisplayRole) return {};
    if (column == Scheme) return q->scheme;
    if (column == Bits) return QString::number(q->bitsPerWeight, 'f', 3);
    return std::isinf(q->sqnrDb) ? QString("exact") : QString::number(q->sqnrDb, 'f', 2);
}

void ModelTreeModel::setQuantState(int tensorIndex, const std::optional<QuantState>& state)
{
    if (state) m_states[tensorIndex] = *state;
    else m_states.erase(tensorIndex);
    // The row of that tensor (leaves only carry a state).
    std::vector<const Node*> stack{m_root.get()};
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (n->tensor == tensorIndex) {
            emit dataChanged(createIndex(n->row, Scheme, const_cast<Node*>(n)), createIndex(n->row, Sqnr, const_cast<Node*>(n)));
            return;
        }
        for (const auto& c : n->children) stack.push_back(c.get());
    }
}

void ModelTreeModel::clearQuantStates()
{
    beginResetModel();
    m_states.clear();
    endResetModel();
}

QColor sqnrColor(double sqnrDb)
{
    if (std::isnan(sqnrDb)) return {};
    const double t = std::clamp((sqnrDb - 10.0) / 20.0, 0.0, 1.0); // 10 dB red .. 30 dB green
    QColor c = QColor::fromHsvF(float(t * 120.0 / 360.0), 0.45f, 0.95f);
    c.setAlphaF(0.6f);
    return c;
}

QString naturalSortKey(const QString& text)
{
    QString key;
    key.reserve(text.size() + 16);
    for (qsizetype i = 0; i < text.size();) {
        if (!text[i].isDigit()) {
            key += text[i].toLower();
            ++i;
            continue;
        }
        qsizetype j = i;
        while (j < text.size() && text[j].isDigit()) ++j;
        QStringView digits = QStringView(text).mid(i, j - i);
        while (digits.size() > 1 && digits.front() == u'0') digits = digits.mid(1); // 007 == 7
        key += QString(qMax<qsizetype>(0, 20 - digits.size()), u'0') + digits.toString();
        i = j;
    }
    return key;
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
