// Scheme strings: every spelling of issue 4, defaults, errors, spec() round trips, and the
// storage convention of quantize.h checked against totals worked out by hand.
#include "quant/quantize.h"
#include "quant/scheme.h"

#include <QtTest>

#include <string>

using namespace qs::quant;
using qs::core::DType;

Q_DECLARE_METATYPE(qs::quant::Family)
Q_DECLARE_METATYPE(qs::quant::Granularity)
Q_DECLARE_METATYPE(qs::quant::Rounding)
Q_DECLARE_METATYPE(qs::quant::Overflow)
Q_DECLARE_METATYPE(qs::core::DType)

class TestScheme : public QObject {
    Q_OBJECT
private slots:
    void parsesIssueSpellings_data();
    void parsesIssueSpellings();
    void options();
    void errorsListValidChoices_data();
    void errorsListValidChoices();
    void specRoundTrip_data();
    void specRoundTrip();
    void storageBytesByHand_data();
    void storageBytesByHand();
};

void TestScheme::parsesIssueSpellings_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<Family>("family");
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("asym");
    QTest::addColumn<Granularity>("granularity");
    QTest::addColumn<int>("groupSize");
    QTest::addColumn<bool>("dq");
    QTest::addColumn<DType>("ggml");
    const auto U = DType::Unsupported;
    const auto C = Granularity::Channel;
    const auto G = Granularity::Group;
    QTest::newRow("int8") << "int8" << Family::Int << 8 << false << C << 0 << false << U;
    QTest::newRow("int8:tensor") << "int8:tensor" << Family::Int << 8 << false
                                 << Granularity::Tensor << 0 << false << U;
    QTest::newRow("int8:channel:asym") << "int8:channel:asym" << Family::Int << 8 << true << C
                                       << 0 << false << U;
    QTest::newRow("int4:g128") << "int4:g128" << Family::Int << 4 << false << G << 128 << false
                               << U;
    QTest::newRow("int4:g128:asym") << "int4:g128:asym" << Family::Int << 4 << true << G << 128
                                    << false << U;
    QTest::newRow("int3:g64") << "int3:g64" << Family::Int << 3 << false << G << 64 << false
                              << U;
    QTest::newRow("int2:inchannel") << "int2:inchannel" << Family::Int << 2 << false
                                    << Granularity::InChannel << 0 << false << U;
    QTest::newRow("fp8_e4m3") << "fp8_e4m3" << Family::Fp8E4M3 << 8 << false << C << 0 << false
                              << U;
    QTest::newRow("fp8_e5m2:tensor") << "fp8_e5m2:tensor" << Family::Fp8E5M2 << 8 << false
                                     << Granularity::Tensor << 0 << false << U;
    QTest::newRow("mxfp4") << "mxfp4" << Family::MxFp4 << 4 << false << G << 32 << false << U;
    QTest::newRow("nvfp4") << "nvfp4" << Family::NvFp4 << 4 << false << G << 16 << false << U;
    QTest::newRow("mxfp8") << "mxfp8" << Family::MxFp8 << 8 << false << G << 32 << false << U;
    QTest::newRow("nf4") << "nf4" << Family::Nf4 << 4 << false << G << 64 << false << U;
    QTest::newRow("nf4:g64:dq") << "nf4:g64:dq" << Family::Nf4 << 4 << false << G << 64 << true
                                << U;
    QTest::newRow("q8_0") << "q8_0" << Family::Ggml << 8 << false << C << 0 << false
                          << DType::Q8_0;
    QTest::newRow("q4_0") << "q4_0" << Family::Ggml << 4 << false << C << 0 << false
                          << DType::Q4_0;
    QTest::newRow("q4_1") << "q4_1" << Family::Ggml << 4 << false << C << 0 << false
                          << DType::Q4_1;
    QTest::newRow("q5_0") << "q5_0" << Family::Ggml << 5 << false << C << 0 << false
                          << DType::Q5_0;
    QTest::newRow("q5_1") << "q5_1" << Family::Ggml << 5 << false << C << 0 << false
                          << DType::Q5_1;
    QTest::newRow("q4_k") << "q4_k" << Family::Ggml << 4 << false << C << 0 << false
                          << DType::Q4_K;
    QTest::newRow("q5_k") << "q5_k" << Family::Ggml << 5 << false << C << 0 << false
                          << DType::Q5_K;
    QTest::newRow("q6_k") << "q6_k" << Family::Ggml << 6 << false << C << 0 << false
                          << DType::Q6_K;
}

void TestScheme::parsesIssueSpellings()
{
    QFETCH(QString, text);
    QFETCH(Family, family);
    QFETCH(int, bits);
    QFETCH(bool, asym);
    QFETCH(Granularity, granularity);
    QFETCH(int, groupSize);
    QFETCH(bool, dq);
    QFETCH(DType, ggml);
    auto s = parseScheme(text.toStdString());
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    QCOMPARE(s->family, family);
    QCOMPARE(s->bits, bits);
    QCOMPARE(s->asymmetric, asym);
    QCOMPARE(s->granularity, granularity);
    QCOMPARE(s->groupSize, groupSize);
    QCOMPARE(s->doubleQuant, dq);
    QCOMPARE(s->ggmlType, ggml);
    QCOMPARE(s->rounding, Rounding::NearestEven);
    QCOMPARE(s->overflow, Overflow::Saturate);
}

void TestScheme::options()
{
    auto away = parseScheme("int4:g32:away");
    QVERIFY(away.ok());
    QCOMPARE(away->rounding, Rounding::HalfAway);
    auto sto = parseScheme("int4:stochastic=42");
    QVERIFY(sto.ok());
    QCOMPARE(sto->rounding, Rounding::Stochastic);
    QCOMPARE(sto->seed, uint64_t(42));
    auto stoDefault = parseScheme("int6:stochastic");
    QVERIFY(stoDefault.ok());
    QCOMPARE(stoDefault->seed, uint64_t(0));
    auto nan = parseScheme("fp8_e4m3:tensor:nan");
    QVERIFY(nan.ok());
    QCOMPARE(nan->overflow, Overflow::NaN);
    // The last of conflicting options wins, and a group size only survives with group
    // granularity.
    auto last = parseScheme("int4:g128:channel:asym:sym");
    QVERIFY(last.ok());
    QCOMPARE(last->granularity, Granularity::Channel);
    QCOMPARE(last->groupSize, 0);
    QVERIFY(!last->asymmetric);
    auto nf = parseScheme("nf4:g128");
    QVERIFY(nf.ok());
    QCOMPARE(nf->groupSize, 128);
}

void TestScheme::errorsListValidChoices_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("unknown format") << "int9" << "valid formats: int2..int8, fp8_e4m3";
    QTest::newRow("empty") << "" << "valid formats:";
    QTest::newRow("q2_k is not quantizable") << "q2_k" << "q6_k";
    QTest::newRow("unknown option") << "int8:foo" << "valid options: tensor, channel";
    QTest::newRow("empty option") << "int8:" << "is empty";
    QTest::newRow("bad group") << "int4:g0" << "is not a group size";
    QTest::newRow("group not a number") << "int4:gx" << "'gx'";
    QTest::newRow("asym on fp8") << "fp8_e4m3:asym" << "int formats only";
    QTest::newRow("dq on int") << "int4:dq" << "nf4 only";
    QTest::newRow("mx fixed block") << "mxfp4:g64" << "fixed block of 32";
    QTest::newRow("nv fixed block") << "nvfp4:g32" << "fixed block of 16";
    QTest::newRow("granularity on block format") << "nf4:channel" << "block formats";
    QTest::newRow("options on ggml") << "q4_k:g32" << "GGUF formats";
    QTest::newRow("bad seed") << "int4:stochastic=x" << "decimal seed";
    QTest::newRow("sat on int") << "int8:sat" << "fp8 formats only";
    QTest::newRow("case matters") << "INT8" << "unknown format 'INT8'";
}

void TestScheme::errorsListValidChoices()
{
    QFETCH(QString, text);
    QFETCH(QString, mentions);
    auto s = parseScheme(text.toStdString());
    QVERIFY(!s.ok());
    QCOMPARE(s.error().code, qs::core::ErrorCode::InvalidArgument);
    const QString msg = QString::fromStdString(s.error().message);
    QVERIFY2(msg.startsWith("scheme '" + text + "'"), qPrintable(msg));
    QVERIFY2(msg.contains(mentions), qPrintable(msg));
}

void TestScheme::specRoundTrip_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("canonical");
    const char* same[] = {"int8", "int8:tensor", "int8:asym", "int4:g128", "int4:g128:asym",
                          "int3:g64", "int2:inchannel", "int5:away", "int4:g32:stochastic",
                          "int4:stochastic=7", "fp8_e4m3", "fp8_e4m3:tensor:nan",
                          "fp8_e5m2:tensor", "fp8_e5m2:g32", "mxfp4", "mxfp8", "nvfp4", "nf4",
                          "nf4:dq", "nf4:g128:dq", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
                          "q4_k", "q5_k", "q6_k"};
    for (const char* t : same) QTest::newRow(t) << t << t;
    QTest::newRow("defaults spelled out") << "int8:channel:sym:rne" << "int8";
    QTest::newRow("nf4 default group") << "nf4:g64:dq" << "nf4:dq";
    QTest::newRow("mx block spelled out") << "mxfp4:g32" << "mxfp4";
    QTest::newRow("fp8 saturate spelled out") << "fp8_e4m3:channel:sat" << "fp8_e4m3";
}

void TestScheme::specRoundTrip()
{
    QFETCH(QString, text);
    QFETCH(QString, canonical);
    auto s = parseScheme(text.toStdString());
    QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
    QCOMPARE(QString::fromStdString(s->spec()), canonical);
    auto back = parseScheme(s->spec());
    QVERIFY(back.ok());
    QVERIFY(*back == *s);
}

void TestScheme::storageBytesByHand_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<qint64>("rows");
    QTest::addColumn<qint64>("cols");
    QTest::addColumn<quint64>("bytes");
    // int8 per channel, 4 x 64: 256 bytes of codes + 4 F32 scales = 272.
    QTest::newRow("int8 channel") << "int8" << 4ll << 64ll << 272ull;
    // asym adds an 8-bit zero point per channel: 272 + 4.
    QTest::newRow("int8 channel asym") << "int8:asym" << 4ll << 64ll << 276ull;
    // per tensor: 256 + 4.
    QTest::newRow("int8 tensor") << "int8:tensor" << 4ll << 64ll << 260ull;
    // per input channel: 256 + 64 * 4.
    QTest::newRow("int8 inchannel") << "int8:inchannel" << 4ll << 64ll << 512ull;
    // int4 g128, 2 x 256: 512 * 4 bits = 256 bytes + 4 groups * 2 bytes (FP16) = 264.
    QTest::newRow("int4 g128") << "int4:g128" << 2ll << 256ll << 264ull;
    // asym: each group also has a zero point, stored as U8: 4 bytes more.
    QTest::newRow("int4 g128 asym") << "int4:g128:asym" << 2ll << 256ll << 268ull;
    // int4, 3 x 5: each row's codes start on a byte: 3 * ceil(20 / 8) = 9 bytes + 3 F32 = 21.
    QTest::newRow("int4 padded rows") << "int4" << 3ll << 5ll << 21ull;
    // int3 asym per tensor, 2 x 3: 2 * ceil(9 / 8) = 4 bytes + F32 scale + U8 zero point = 9.
    QTest::newRow("int3 tensor asym") << "int3:tensor:asym" << 2ll << 3ll << 9ull;
    // int3 g64, 1 x 100: 300 bits + 2 groups (64 and a short 36) * 16 = 332 bits -> 42 bytes.
    QTest::newRow("int3 g64 short last group") << "int3:g64" << 1ll << 100ll << 42ull;
    // fp8 per channel: 3 x 10 bytes + 3 F32 = 42.
    QTest::newRow("fp8 channel") << "fp8_e4m3" << 3ll << 10ll << 42ull;
    // MXFP4 2 x 64: 128 * 4 bits + 4 blocks * 8 bits = 544 bits = 68 bytes (4.25 bits/weight).
    QTest::newRow("mxfp4") << "mxfp4" << 2ll << 64ll << 68ull;
    // MXFP8 1 x 32: 32 bytes + 1.
    QTest::newRow("mxfp8") << "mxfp8" << 1ll << 32ll << 33ull;
    // NVFP4 1 x 32: 16 bytes + 2 E4M3 block scales + 4 bytes tensor scale.
    QTest::newRow("nvfp4") << "nvfp4" << 1ll << 32ll << 22ull;
    // NF4 1 x 128: 64 bytes + 2 F32 absmax = 72 (4.5 bits/weight).
    QTest::newRow("nf4") << "nf4" << 1ll << 128ll << 72ull;
    // NF4 dq 64 x 256 = 16384 weights, 256 blocks: 8192 + 256 bytes + one F32 chunk scale +
    // the F32 mean = 8456 bytes (4.12890625 bits/weight).
    QTest::newRow("nf4 dq") << "nf4:dq" << 64ll << 256ll << 8456ull;
    // Q8_0 1 x 64: 2 blocks of 34 bytes; Q4_K 1 x 256: one block of 144.
    QTest::newRow("q8_0") << "q8_0" << 1ll << 64ll << 68ull;
    QTest::newRow("q4_k") << "q4_k" << 1ll << 256ll << 144ull;
    QTest::newRow("empty") << "int8" << 0ll << 64ll << 0ull;
}

void TestScheme::storageBytesByHand()
{
    QFETCH(QString, spec);
    QFETCH(qint64, rows);
    QFETCH(qint64, cols);
    QFETCH(quint64, bytes);
    auto s = parseScheme(spec.toStdString());
    QVERIFY(s.ok());
    QCOMPARE(storageBytes(*s, rows, cols), bytes);
    // quantizeRtn reports the same figure (on zeros; the storage does not depend on values).
    Matrix w;
    w.rows = rows;
    w.cols = cols;
    w.data.assign(size_t(rows * cols), 0.0f);
    auto q = quantizeRtn(w, *s);
    QVERIFY2(q.ok(), q.ok() ? "" : q.error().message.c_str());
    QCOMPARE(q->bytes, bytes);
    if (rows * cols > 0) QCOMPARE(q->bitsPerWeight, double(bytes) * 8.0 / double(rows * cols));
}

QTEST_APPLESS_MAIN(TestScheme)
#include "tst_scheme.moc"
