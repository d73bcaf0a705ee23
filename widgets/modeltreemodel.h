#pragma once
/// The tensors of a model as a tree of layers: `model.layers.3.mlp.down_proj` becomes
/// model > layers > 3 > mlp > down_proj, with the tensors as leaves. Layer rows sum the
/// parameters and bytes of everything under them. Rows come in graph order where the format
/// has a graph (ONNX), else in file order; helper constants (core::isHelperConstant: shapes,
/// indices, scalars) are gathered under one "(helper constants)" row at the end. Sorting by
/// name is natural: layers 2, 10, 18, not 10, 18, 2.
#include "core/tensor.h"

#include <QAbstractItemModel>
#include <QColor>

#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace qs::widgets {

class ModelTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { Name, Op, DType, Shape, Parameters, Size, Scheme, Bits, Sqnr, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, ///< numbers for Parameters and Size, text otherwise
        TensorIndexRole,            ///< index into Model::tensors, -1 for a layer row
        WeightRole,                 ///< bool: a weight tensor (core::isWeightTensor), or a layer holding one
    };
    /// The name of the row that gathers helper constants.
    static QString helperGroupName();

    explicit ModelTreeModel(QObject* parent = nullptr);
    ~ModelTreeModel() override;

    void setModel(std::shared_ptr<const core::Model> model);

    /// The quantized state of one tensor, shown in the Scheme, Bits and Sqnr columns.
    struct QuantState {
        QString scheme;
        double bitsPerWeight = 0;
        double sqnrDb = 0; ///< +Inf when exact
    };
    /// Sets (or, with nullopt, clears) the quantized state of tensor `tensorIndex`.
    void setQuantState(int tensorIndex, const std::optional<QuantState>& state);
    void clearQuantStates();
    const core::Model* model() const { return m_model.get(); }
    /// The index of the tensor's row, or an invalid index.
    QModelIndex indexOfTensor(const QString& name) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    struct Node;

private:
    Node* nodeFor(const QModelIndex& index) const;
    void addLeaf(Node* layer, size_t tensorIndex);
    QVariant quantData(const QuantState* q, int column, int role) const;

    std::shared_ptr<const core::Model> m_model;
    std::unique_ptr<Node> m_root;
    std::map<int, QuantState> m_states; ///< by tensor index
};

/// A key whose text order is natural order: every run of digits zero-padded to 20 digits
/// ("layers.2" < "layers.10"), compared case-insensitively.
QString naturalSortKey(const QString& text);

/// The background of an SQNR cell: red below 10 dB, through amber, green from 30 dB up (the
/// hue interpolated linearly in between); invalid for NaN.
QColor sqnrColor(double sqnrDb);

/// "1.50 MiB", "12 B"
QString formatBytes(uint64_t bytes);
/// "1.2M", "7.0B", "512"
QString formatCount(uint64_t n);

} // namespace qs::widgets
