// The layer tree over a hand-built model: grouping, sums, sorting and filtering.
#include "modeltreemodel.h"
#include "tensorfilterproxy.h"

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
    void naturalSortKeys_data()
    {
        QTest::addColumn<QString>("a");
        QTest::addColumn<QString>("b"); ///< a sorts before b
        QTest::newRow("layers 2 < 10") << "layers.2" << "layers.10";
        QTest::newRow("10 < 18") << "blocks.10.attn" << "blocks.18.attn";
        QTest::newRow("same number, then text") << "p2o.MatMul.7" << "p2o.MatMul.7a";
        QTest::newRow("leading zeros equal value") << "conv07" << "conv8";
        QTest::newRow("case-insensitive") << "Alpha" << "beta";
        QTest::newRow("paddle helper 2 < 166") << "p2o.helper.constant.2" << "p2o.helper.constant.166";
        QTest::newRow("bare numbers") << "9" << "10";
    }
    void naturalSortKeys()
    {
        QFETCH(QString, a);
        QFETCH(QString, b);
        QVERIFY2(widgets::naturalSortKey(a) < widgets::naturalSortKey(b), qPrintable(a + " vs " + b));
        QVERIFY(!(widgets::naturalSortKey(b) < widgets::naturalSortKey(a)));
    }
    void sortsNamesNaturally()
    {
        auto m = std::make_shared<core::Model>();
        for (int i : {10, 2, 18}) m->tensors.push_back(tensor("layers." + std::to_string(i) + ".w", {2, 2}));
        widgets::ModelTreeModel model;
        model.setModel(m);
        widgets::TensorFilterProxy proxy;
        proxy.setSourceModel(&model);
        proxy.sort(widgets::ModelTreeModel::Name, Qt::AscendingOrder);
        const QModelIndex layers = proxy.index(0, 0);
        QCOMPARE(layers.data().toString(), QString("layers"));
        QStringList order;
        for (int r = 0; r < proxy.rowCount(layers); ++r) order << proxy.index(r, 0, layers).data().toString();
        QCOMPARE(order, (QStringList{"2", "10", "18"}));
    }
    void graphOrderAndHelperConstants()
    {
        // An exported graph: initializers listed alphabetically, consumed in another order, with
        // helper constants (a Reshape shape, Gather indices, a scalar) beside the weights.
        auto t = [](std::string name, std::vector<int64_t> shape, std::string op, int input, int64_t order,
                    core::DType d = core::DType::F32) {
            core::TensorInfo x = tensor(name, std::move(shape), op);
            x.dtype = d;
            x.layer = name.substr(0, name.rfind('.'));
            x.opInput = input;
            x.graphOrder = order;
            return x;
        };
        auto m = std::make_shared<core::Model>();
        m->tensors = {t("a_last.w", {4, 4}, "MatMul", 1, 9),
                      t("b_first.w", {4, 4}, "MatMul", 1, 0),
                      t("c.shape", {2}, "Reshape", 1, 3, core::DType::I64),
                      t("d.embed", {10, 4}, "Gather", 0, 1),
                      t("e.idx", {3, 1}, "Gather", 1, 2, core::DType::I64),
                      t("f.eps", {1}, "Add", 1, 4)};
        widgets::ModelTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setModel(m);
        QStringList top;
        for (int r = 0; r < model.rowCount(); ++r) top << model.index(r, 0).data().toString();
        // Graph order for the weights (the embedding table is Gather's data, a weight), helper
        // constants last under their own row.
        QCOMPARE(top, (QStringList{"b_first", "d", "a_last", widgets::ModelTreeModel::helperGroupName()}));
        const QModelIndex helpers = model.index(3, 0);
        QCOMPARE(model.rowCount(helpers), 3);
        QVERIFY(!helpers.data(widgets::ModelTreeModel::WeightRole).toBool());
        QVERIFY(model.index(0, 0).data(widgets::ModelTreeModel::WeightRole).toBool());
        // "Weights only" hides the helper row.
        widgets::TensorFilterProxy proxy;
        QAbstractItemModelTester proxyTester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        proxy.setSourceModel(&model);
        QCOMPARE(proxy.rowCount(), 4);
        proxy.setWeightsOnly(true);
        QCOMPARE(proxy.rowCount(), 3);
        proxy.setWeightsOnly(false);
        QCOMPARE(proxy.rowCount(), 4);
    }
    void weightsOnlyHidesBiasesAndNorms()
    {
        widgets::ModelTreeModel model;
        model.setModel(sampleModel());
        widgets::TensorFilterProxy proxy;
        proxy.setSourceModel(&model);
        proxy.setWeightsOnly(true);
        const QModelIndex up = proxy.mapFromSource(model.indexOfTensor("model.layers.0.mlp.up.weight").parent());
        QVERIFY(up.isValid());
        QCOMPARE(proxy.rowCount(up), 1); // the bias is hidden
        QVERIFY(!proxy.mapFromSource(model.indexOfTensor("model.layers.0.mlp.up.bias")).isValid());
    }
    void quantizedStateColumns()
    {
        widgets::ModelTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setModel(sampleModel());
        model.setQuantState(0, widgets::ModelTreeModel::QuantState{"int4", 4.5, 19.04});
        model.setQuantState(2, widgets::ModelTreeModel::QuantState{"int8", 8.25, 43.5});
        const QModelIndex up = model.indexOfTensor("model.layers.0.mlp.up.weight");
        QCOMPARE(up.siblingAtColumn(widgets::ModelTreeModel::Scheme).data().toString(), QString("int4"));
        QCOMPARE(up.siblingAtColumn(widgets::ModelTreeModel::Bits).data().toString(), QString("4.500"));
        QCOMPARE(up.siblingAtColumn(widgets::ModelTreeModel::Sqnr).data().toString(), QString("19.04"));
        // Colour: 10 dB red (hue 0) .. 30 dB green (hue 120); 19.04 dB is 45.2% of the way.
        const QColor c = up.siblingAtColumn(widgets::ModelTreeModel::Sqnr).data(Qt::BackgroundRole).value<QColor>();
        QVERIFY(std::abs(c.hsvHueF() * 360.0 - 0.452 * 120.0) < 1.0);
        QCOMPARE(widgets::sqnrColor(5.0).hsvHue(), 0);
        QCOMPARE(widgets::sqnrColor(40.0).hsvHue(), 120);
        // Sorting by SQNR compares numbers (19.04 < 43.5; as text "19.04" > "043.5"-style
        // mistakes cannot happen).
        QCOMPARE(up.siblingAtColumn(widgets::ModelTreeModel::Sqnr).data(widgets::ModelTreeModel::SortRole).toDouble(), 19.04);
        const QModelIndex other = model.indexOfTensor("model.layers.1.mlp.up.weight");
        QCOMPARE(other.siblingAtColumn(widgets::ModelTreeModel::Sqnr).data(widgets::ModelTreeModel::SortRole).toDouble(), 43.5);
        // Clearing takes the state away; a tensor without one shows nothing.
        model.setQuantState(0, std::nullopt);
        QVERIFY(!up.siblingAtColumn(widgets::ModelTreeModel::Scheme).data().isValid());
        QVERIFY(!model.indexOfTensor("lm_head.weight").siblingAtColumn(widgets::ModelTreeModel::Sqnr).data().isValid());
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
