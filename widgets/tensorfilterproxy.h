#pragma once
/// The layer tree's filter: text over name, op, dtype and shape (a match keeps its parent
/// layers visible), and optionally weight tensors only (ModelTreeModel::WeightRole).
#include <QSortFilterProxyModel>

namespace qs::widgets {

class TensorFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit TensorFilterProxy(QObject* parent = nullptr);

    bool weightsOnly() const { return m_weightsOnly; }
    void setWeightsOnly(bool on);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    bool m_weightsOnly = false;
};

} // namespace qs::widgets
