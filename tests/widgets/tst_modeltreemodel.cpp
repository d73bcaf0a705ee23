// The layer tree over a hand-built model: grouping, sums, sorting and filtering.
#include "modeltreemodel.h"

#include <QAbstractItemModelTester>
#include <QSortFilterProxyModel>
#include <QtTest>

using namespace qs;

namespace {

core::TensorInfo tensor(const std::string& name, std::vector<int64_t> shape, const std::string& op = {})
{
    core::TensorInfo t;
    t.name = name;
    t.dtype = core::DType::F32;
    t.typeName = "F32";
    t.shape = std::move(shape);
    t.bytes = t.elementCount() * 4;
    t.layer = core::layerFromName(name);
    t.op = op;
    return t;
}

std::shared_ptr<const core::Model> sampleModel()
{
    auto m = std::make_shared<core::Model>();
    m->tensors = {tensor("model.layers.0.mlp.up.weight", {8, 4}, "MatMul"),
                  tensor("model.layers.0.mlp.up.bias", {8}),
                  tensor("model.layers.1.mlp.up.weight", {100, 4}),
                  tensor("lm_head.weight", {3, 2})};
    return m;
}

} // namespace

class TestModelTreeModel : public QObject {
    Q_OBJECT
private slots:
    void groupsByLayerAndSums()
    {
        widgets::ModelTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setModel(sampleModel());
        QCOMPARE(model.rowCount(), 2); // "model" and "lm_head"
        const QModelIndex root = model.index(0, 0);
        QCOMPARE(root.data().toString(), QString("model"));
        // 8*4 + 8 + 100*4 = 440 parameters under "model", 1760 bytes.
        QCOMPARE(model.index(0, widgets::ModelTreeModel::Parameters).data(widgets::ModelTreeModel::SortRole).toULongLong(), 440ull);
        QCOMPARE(model.index(0, widgets::ModelTreeModel::Size).data(widgets::ModelTreeModel::SortRole).toULongLong(), 1760ull);
        const QModelIndex up = model.indexOfTensor("model.layers.0.mlp.up.weight");
        QVERIFY(up.isValid());
        QCOMPARE(up.parent().data().toString(), QString("up"));
        QCOMPARE(up.siblingAtColumn(widgets::ModelTreeModel::Shape).data().toString(), QString("[8, 4]"));
        QCOMPARE(up.siblingAtColumn(widgets::ModelTreeModel::Op).data().toString(), QString("MatMul"));
        QCOMPARE(up.data(widgets::ModelTreeModel::TensorIndexRole).toInt(), 0);
        QCOMPARE(model.rowCount(up.parent()), 2); // weight and bias
    }
    void sortsNumerically()
    {
        widgets::ModelTreeModel model;
        model.setModel(sampleModel());
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setSortRole(widgets::ModelTreeModel::SortRole);
        proxy.sort(widgets::ModelTreeModel::Parameters, Qt::DescendingOrder);
        // "model" (440) before "lm_head" (6): as text "6" would sort above "440".
        QCOMPARE(proxy.index(0, 0).data().toString(), QString("model"));
        proxy.sort(widgets::ModelTreeModel::Parameters, Qt::AscendingOrder);
        QCOMPARE(proxy.index(0, 0).data().toString(), QString("lm_head"));
    }
    void filterKeepsParentsOfMatches()
    {
        widgets::ModelTreeModel model;
        model.setModel(sampleModel());
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setRecursiveFilteringEnabled(true);
        proxy.setFilterCaseSensitivity(Qt::CaseInsensitive);
        proxy.setFilterKeyColumn(-1);
        proxy.setFilterFixedString("MATMUL");
        QCOMPARE(proxy.rowCount(), 1);
        QModelIndex i = proxy.index(0, 0);
        QStringList path;
        while (proxy.rowCount(i) > 0) {
            QCOMPARE(proxy.rowCount(i), 1);
            path << i.data().toString();
            i = proxy.index(0, 0, i);
        }
        QCOMPARE(path.join('.'), QString("model.layers.0.mlp.up"));
        QCOMPARE(i.data().toString(), QString("model.layers.0.mlp.up.weight"));
    }
    void formats()
    {
        QCOMPARE(widgets::formatBytes(512), QString("512 B"));
        QCOMPARE(widgets::formatBytes(1536), QString("1.50 KiB"));
        QCOMPARE(widgets::formatCount(1234567), QString("1.2M"));
    }
};

QTEST_MAIN(TestModelTreeModel)
#include "tst_modeltreemodel.moc"
