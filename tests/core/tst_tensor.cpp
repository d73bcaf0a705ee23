// Tensor roles a view needs: which tensors are helper constants and which are weights.
#include "core/tensor.h"

#include <QtTest>

using namespace qs;

class TestTensor : public QObject {
    Q_OBJECT
private slots:
    void helperConstantsAndWeights_data()
    {
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<QList<qint64>>("shape");
        QTest::addColumn<QString>("op");
        QTest::addColumn<int>("input");
        QTest::addColumn<bool>("helper");
        QTest::addColumn<bool>("weight");
        QTest::newRow("linear weight") << "F32" << QList<qint64>{64, 32} << "" << -1 << false << true;
        QTest::newRow("conv kernel") << "F16" << QList<qint64>{8, 3, 3, 3} << "Conv" << 1 << false << true;
        QTest::newRow("bias") << "F32" << QList<qint64>{64} << "Add" << 1 << false << false;
        QTest::newRow("scalar epsilon") << "F32" << QList<qint64>{} << "Add" << 1 << true << false;
        QTest::newRow("one-element exponent") << "F32" << QList<qint64>{1} << "Pow" << 1 << true << false;
        QTest::newRow("reshape shape") << "I64" << QList<qint64>{3} << "Reshape" << 1 << true << false;
        QTest::newRow("axes without op") << "I32" << QList<qint64>{2} << "" << -1 << true << false;
        QTest::newRow("gather indices 2-D") << "I64" << QList<qint64>{4, 2} << "Gather" << 1 << true << false;
        QTest::newRow("embedding table (Gather data)") << "F32" << QList<qint64>{1000, 64} << "Gather" << 0 << false << true;
        QTest::newRow("slice starts") << "F32" << QList<qint64>{2, 2} << "Slice" << 1 << true << false;
        QTest::newRow("int8 weight") << "I8" << QList<qint64>{16, 16} << "MatMulInteger" << 1 << false << true;
        QTest::newRow("constant of shape") << "I64" << QList<qint64>{2, 1} << "ConstantOfShape" << 0 << true << false;
        QTest::newRow("position ids 2-D") << "I64" << QList<qint64>{1, 512} << "" << -1 << false << true;
    }
    void helperConstantsAndWeights()
    {
        QFETCH(QString, dtype);
        QFETCH(QList<qint64>, shape);
        QFETCH(QString, op);
        QFETCH(int, input);
        QFETCH(bool, helper);
        QFETCH(bool, weight);
        core::TensorInfo t;
        t.dtype = dtype == "F32" ? core::DType::F32 : dtype == "F16" ? core::DType::F16
                : dtype == "I8"  ? core::DType::I8  : dtype == "I32" ? core::DType::I32 : core::DType::I64;
        for (qint64 d : shape) t.shape.push_back(d);
        t.op = op.toStdString();
        t.opInput = input;
        QCOMPARE(core::isHelperConstant(t), helper);
        QCOMPARE(core::isWeightTensor(t), weight);
    }
};

QTEST_GUILESS_MAIN(TestTensor)
#include "tst_tensor.moc"
