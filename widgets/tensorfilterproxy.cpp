#include "tensorfilterproxy.h"

#include "modeltreemodel.h"

namespace qs::widgets {

TensorFilterProxy::TensorFilterProxy(QObject* parent) : QSortFilterProxyModel(parent)
{
    setRecursiveFilteringEnabled(true); // a match keeps its parent layers visible
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setFilterKeyColumn(-1); // name, op, dtype, shape
    setSortRole(ModelTreeModel::SortRole);
}

void TensorFilterProxy::setWeightsOnly(bool on)
{
    if (on == m_weightsOnly) return;
    m_weightsOnly = on;
    invalidateRowsFilter();
}

bool TensorFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_weightsOnly) {
        const QModelIndex i = sourceModel()->index(sourceRow, 0, sourceParent);
        if (!i.data(ModelTreeModel::WeightRole).toBool()) return false;
    }
    return QSortFilterProxyModel::filterAcceptsRow(sourceRow, sourceParent);
}

} // namespace qs::widgets
