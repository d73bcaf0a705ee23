// Whole-model plans: globs, the last matching override, skip, per-override scheme/method/clip,
// every malformed plan file refused with a message naming the key, and clip parsing.
#include "quant_test_support.h"

#include "quant/plan.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace qs;
using namespace qs::quant;
using namespace quanttest;

namespace {

/// Rows of seven 1s and one 1.9: in int3 (levels -3..3) min-max gives scale 1.9 / 3, so every
/// 1 lands on 1.27, while a clip near 1.5 (scale 0.5) stores the 1s exactly: MSE clipping
/// chooses differently from min-max.
const std::vector<float> kRows = {1, 1, 1, 1, 1, 1, 1, 1.9f, -1, -1, -1, -1, -1, -1, -1, -1.9f};

core::Model modelOf()
{
    core::Model m;
    m.path = "model";
    m.format = "test";
    for (const char* name : {"a.weight", "b.weight", "c.weight"})
        m.tensors.push_back(f32Tensor(name, {2, 8}, kRows));
    m.tensors.push_back(f32Tensor("a.bias", {2}, {1, 2}));
    return m;
}

const TensorReport& row(const ModelReport& r, const std::string& name)
{
    for (const auto& t : r.tensors)
        if (t.name == name) return t;
    qFatal("no row %s", name.c_str());
}

std::string specOf(const char* text) { return parseScheme(text)->spec(); }

} // namespace

class TestPlan : public QObject {
    Q_OBJECT

private slots:
    void glob_data();
    void glob();
    void clip_data();
    void clip();
    void lastMatchWins();
    void overridesApplyMethodAndClip();
    void failedTensorsAreCountedAndNamed();
    void perTensorCalibration();
    void badPlans_data();
    void badPlans();
    void missingFile();
    void writtenPlanReadsBack_data();
    void writtenPlanReadsBack();
    void writtenText();
    void unwritablePlans_data();
    void unwritablePlans();
};

void TestPlan::glob_data()
{
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("match");
    QTest::newRow("exact") << "lm_head.weight" << "lm_head.weight" << true;
    QTest::newRow("exact differs") << "lm_head.weight" << "lm_head.bias" << false;
    QTest::newRow("star suffix") << "*.down_proj.weight" << "model.layers.3.mlp.down_proj.weight" << true;
    QTest::newRow("star middle") << "model.*.weight" << "model.layers.0.q.weight" << true;
    QTest::newRow("star empty run") << "a*b" << "ab" << true;
    QTest::newRow("two stars backtrack") << "*a*b" << "xaxaxb" << true;
    QTest::newRow("star no match") << "*.bias" << "x.weight" << false;
    QTest::newRow("question one char") << "layer.?.w" << "layer.7.w" << true;
    QTest::newRow("question not two") << "layer.?.w" << "layer.17.w" << false;
    QTest::newRow("only star") << "*" << "" << true;
    QTest::newRow("prefix only") << "abc" << "abcd" << false;
}

void TestPlan::glob()
{
    QFETCH(QString, pattern);
    QFETCH(QString, text);
    QFETCH(bool, match);
    QCOMPARE(globMatch(pattern.toStdString(), text.toStdString()), match);
}

void TestPlan::clip_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<int>("method");
    QTest::addColumn<double>("percentile");
    const int mm = int(ClipMethod::MinMax), pc = int(ClipMethod::Percentile), mse = int(ClipMethod::Mse);
    QTest::newRow("minmax") << "minmax" << true << mm << 0.0;
    QTest::newRow("mse") << "mse" << true << mse << 0.0;
    QTest::newRow("p99.9") << "p99.9" << true << pc << 99.9;
    QTest::newRow("p100") << "p100" << true << pc << 100.0;
    QTest::newRow("p0.5") << "p0.5" << true << pc << 0.5;
    QTest::newRow("p0") << "p0" << false << 0 << 0.0;
    QTest::newRow("p100.1") << "p100.1" << false << 0 << 0.0;
    QTest::newRow("p alone") << "p" << false << 0 << 0.0;
    QTest::newRow("p letters") << "p9x" << false << 0 << 0.0;
    QTest::newRow("negative") << "p-5" << false << 0 << 0.0;
    QTest::newRow("MinMax case") << "MinMax" << false << 0 << 0.0;
    QTest::newRow("empty") << "" << false << 0 << 0.0;
}

void TestPlan::clip()
{
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(int, method);
    QFETCH(double, percentile);
    auto r = parseClip(text.toStdString());
    QCOMPARE(r.ok(), valid);
    if (!valid) {
        QVERIFY2(r.error().message.find("valid are minmax, mse, pNN") != std::string::npos, r.error().message.c_str());
        return;
    }
    QCOMPARE(int(r->method), method);
    if (r->method == ClipMethod::Percentile) QCOMPARE(r->percentile, percentile);
}

void TestPlan::lastMatchWins()
{
    auto plan = parsePlan(R"({"scheme": "int4:g128", "method": "rtn", "clip": "p99",
        "overrides": [{"match": "*.weight", "scheme": "int8"},
                      {"match": "layers.1.*", "scheme": "nf4", "method": "awq", "clip": "mse"},
                      {"match": "layers.1.mlp.*", "method": "gptq"},
                      {"match": "lm_head.weight", "skip": true},
                      {"match": "lm_*", "scheme": "int6"}]})",
                          "plan.json");
    QVERIFY2(plan.ok(), plan.ok() ? "" : plan.error().message.c_str());
    auto c = plan->choiceFor("norm.bias"); // no override matches: the defaults
    QVERIFY(c);
    QCOMPARE(c->scheme.spec(), specOf("int4:g128"));
    QCOMPARE(c->method, Method::Rtn);
    QCOMPARE(c->options.range.method, ClipMethod::Percentile);
    QCOMPARE(c->options.range.percentile, 99.0);
    c = plan->choiceFor("layers.0.attn.weight"); // first override only
    QCOMPARE(c->scheme.spec(), specOf("int8"));
    QCOMPARE(c->options.range.method, ClipMethod::Percentile);
    c = plan->choiceFor("layers.1.attn.weight"); // second wins over the first, whole
    QCOMPARE(c->scheme.spec(), specOf("nf4"));
    QCOMPARE(c->method, Method::Awq);
    QCOMPARE(c->options.range.method, ClipMethod::Mse);
    c = plan->choiceFor("layers.1.mlp.weight"); // third wins; it sets only the method
    QCOMPARE(c->method, Method::Gptq);
    QCOMPARE(c->scheme.spec(), specOf("int4:g128"));
    QCOMPARE(c->options.range.method, ClipMethod::Percentile);
    QVERIFY(plan->choiceFor("lm_head.weight")); // a later match un-skips it
    QCOMPARE(plan->choiceFor("lm_head.weight")->scheme.spec(), specOf("int6"));
    auto skipOnly = parsePlan(R"({"scheme": "int8", "overrides": [{"match": "lm_*", "scheme": "int6"},
                                                              {"match": "lm_head.weight", "skip": true}]})", "p");
    QVERIFY(skipOnly.ok());
    QVERIFY(!skipOnly->choiceFor("lm_head.weight"));
    QVERIFY(!skipOnly->schemeFor("lm_head.weight"));
    QCOMPARE(skipOnly->schemeFor("lm_x")->spec(), specOf("int6"));
}

void TestPlan::overridesApplyMethodAndClip()
{
    const core::Model model = modelOf();
    auto plan = parsePlan(R"({"scheme": "int3", "overrides": [{"match": "*.weight", "scheme": "int4"},
        {"match": "b.*", "clip": "mse"}, {"match": "c.weight", "skip": true}]})", "plan.json");
    QVERIFY2(plan.ok(), plan.ok() ? "" : plan.error().message.c_str());
    auto report = applyPlan(model, *plan);
    QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
    const auto& a = row(*report, "a.weight");
    const auto& b = row(*report, "b.weight");
    QCOMPARE(a.scheme, specOf("int4"));
    QCOMPARE(a.method, std::string("rtn"));
    QVERIFY(a.quantized);
    QCOMPARE(b.scheme, specOf("int3")); // the last match sets only the clip: scheme from the default
    QVERIFY(b.quantized);
    QCOMPARE(row(*report, "c.weight").status, std::string("skipped by plan"));
    QCOMPARE(row(*report, "a.bias").status, std::string("kept (rank 1)"));

    // b.weight was quantized with MSE clipping: the same numbers as a direct MSE-clipped run,
    // and not those of min-max clipping (the outliers make them differ).
    const Matrix w = *loadWeightMatrix(model.tensors[1]);
    MethodOptions mse, minmax;
    mse.range.method = ClipMethod::Mse;
    const auto viaMse = quantizeWithMethod(w, *parseScheme("int3"), Method::Rtn, mse, nullptr);
    const auto viaMinmax = quantizeWithMethod(w, *parseScheme("int3"), Method::Rtn, minmax, nullptr);
    QVERIFY(viaMse.ok() && viaMinmax.ok());
    const double mseErr = compareValues(w.values(), viaMse->quantized.dequant.values()).mse;
    const double minmaxErr = compareValues(w.values(), viaMinmax->quantized.dequant.values()).mse;
    QVERIFY(mseErr != minmaxErr);
    QCOMPARE(b.metrics.mse, mseErr);

    // Totals by hand: 3 x 16 + 2 parameters; c.weight and a.bias keep their 64 and 8 bytes.
    QCOMPARE(report->parameters, uint64_t(50));
    QCOMPARE(report->quantizedParameters, uint64_t(32));
    QCOMPARE(report->bytesBefore, uint64_t(3 * 64 + 8));
    QCOMPARE(report->bytesAfter, a.bytesAfter + b.bytesAfter + 64 + 8);
    QCOMPARE(report->failedTensors, uint64_t(0));
}

void TestPlan::failedTensorsAreCountedAndNamed()
{
    const core::Model model = modelOf();
    auto plan = parsePlan(R"({"scheme": "int8", "overrides": [{"match": "a.weight", "method": "gptq"}]})", "plan.json");
    QVERIFY(plan.ok());
    auto report = applyPlan(model, *plan);
    QVERIFY(report.ok());
    const auto& a = row(*report, "a.weight");
    QVERIFY(a.failed);
    QVERIFY(!a.quantized);
    QCOMPARE(a.method, std::string("gptq"));
    QVERIFY2(a.status.find("activations") != std::string::npos, a.status.c_str());
    QVERIFY(row(*report, "b.weight").quantized);
    QVERIFY(!row(*report, "a.bias").failed);
    QCOMPARE(report->failedTensors, uint64_t(1));
}

void TestPlan::perTensorCalibration()
{
    const core::Model model = modelOf();
    auto plan = parsePlan(R"({"scheme": "int8", "method": "gptq"})", "plan.json");
    QVERIFY(plan.ok());
    ApplyOptions options;
    std::vector<std::string> asked;
    options.calibFor = [&](const core::TensorInfo& t, int64_t in) -> core::Result<std::optional<Calibration>> {
        asked.push_back(t.name);
        if (t.name == "b.weight") return core::Error{core::ErrorCode::InvalidArgument, "no entry for b.weight"};
        return std::optional<Calibration>(syntheticCalibration(16, in, 1));
    };
    auto report = applyPlan(model, *plan, nullptr, options);
    QVERIFY(report.ok());
    QCOMPARE(asked, (std::vector<std::string>{"a.weight", "b.weight", "c.weight"}));
    QVERIFY(row(*report, "a.weight").quantized);
    QVERIFY(row(*report, "b.weight").failed);
    QCOMPARE(row(*report, "b.weight").status, std::string("no entry for b.weight"));
    QCOMPARE(report->failedTensors, uint64_t(1));
}

void TestPlan::badPlans_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("message");
    QTest::newRow("not json") << "{scheme: int8}" << "not valid JSON";
    QTest::newRow("array") << "[1]" << "a plan must be a JSON object, not array";
    QTest::newRow("no scheme") << "{}" << "the plan needs a default \"scheme\"";
    QTest::newRow("scheme number") << R"({"scheme": 8})" << "\"scheme\" must be a string, not number";
    QTest::newRow("scheme unknown") << R"({"scheme": "int9"})" << "\"scheme\": ";
    QTest::newRow("unknown key") << R"({"scheme": "int8", "metod": "rtn"})"
                                 << "unknown key \"metod\": valid keys are scheme, method, clip, overrides";
    QTest::newRow("method unknown") << R"({"scheme": "int8", "method": "foo"})" << "\"method\": ";
    QTest::newRow("method number") << R"({"scheme": "int8", "method": 1})" << "\"method\" must be a string";
    QTest::newRow("clip bad") << R"({"scheme": "int8", "clip": "p200"})" << "\"clip\": unknown clip 'p200'";
    QTest::newRow("clip bool") << R"({"scheme": "int8", "clip": true})" << "\"clip\" must be a string, not boolean";
    QTest::newRow("duplicate key") << R"({"scheme": "int8", "scheme": "int4"})"
                                   << "the key \"scheme\" appears twice";
    QTest::newRow("duplicate in override")
        << R"({"scheme": "int8", "overrides": [{"match": "a", "match": "b", "scheme": "int4"}]})"
        << "the key \"match\" appears twice";
    QTest::newRow("overrides object") << R"({"scheme": "int8", "overrides": {}})"
                                      << "\"overrides\" must be an array, not object";
    QTest::newRow("override number") << R"({"scheme": "int8", "overrides": [1]})"
                                     << "override 0: must be an object, not number";
    QTest::newRow("override no match") << R"({"scheme": "int8", "overrides": [{"scheme": "int4"}]})"
                                       << "override 0: needs a \"match\" glob";
    QTest::newRow("match number") << R"({"scheme": "int8", "overrides": [{"match": 5, "scheme": "int4"}]})"
                                  << "override 0: \"match\" must be a string";
    QTest::newRow("match empty") << R"({"scheme": "int8", "overrides": [{"match": "", "scheme": "int4"}]})"
                                 << "override 0: \"match\" is empty";
    QTest::newRow("skip string") << R"({"scheme": "int8", "overrides": [{"match": "*", "skip": "yes"}]})"
                                 << "override 0: \"skip\" must be true or false, not string";
    QTest::newRow("skip with scheme")
        << R"({"scheme": "int8", "overrides": [{"match": "*", "skip": true, "scheme": "int4"}]})"
        << "\"skip\": true cannot be combined";
    QTest::newRow("sets nothing") << R"({"scheme": "int8", "overrides": [{"match": "*"}]})"
                                  << "override 0: sets nothing";
    QTest::newRow("skip false alone") << R"({"scheme": "int8", "overrides": [{"match": "*", "skip": false}]})"
                                      << "override 0: sets nothing";
    QTest::newRow("override unknown key")
        << R"({"scheme": "int8", "overrides": [{"match": "*", "sheme": "int4"}]})"
        << "override 0: unknown key \"sheme\": valid keys are match, scheme, method, clip, skip";
    QTest::newRow("second override bad clip")
        << R"({"scheme": "int8", "overrides": [{"match": "a", "scheme": "int4"}, {"match": "b", "clip": 7}]})"
        << "override 1: \"clip\" must be a string, not number";
    QTest::newRow("override bad method")
        << R"({"scheme": "int8", "overrides": [{"match": "a", "method": "best"}]})" << "override 0: \"method\": ";
}

void TestPlan::badPlans()
{
    QFETCH(QString, json);
    QFETCH(QString, message);
    const std::string text = json.toStdString();
    auto plan = parsePlan(text, "plan.json");
    QVERIFY(!plan.ok());
    const std::string& got = plan.error().message;
    QVERIFY2(got.rfind("plan.json: ", 0) == 0, got.c_str());
    QVERIFY2(got.find(message.toStdString()) != std::string::npos, got.c_str());
}

void TestPlan::missingFile()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("none.json").toStdString();
    auto plan = loadPlan(path);
    QVERIFY(!plan.ok());
    QVERIFY2(plan.error().message.rfind(path + ": ", 0) == 0, plan.error().message.c_str());
}

void TestPlan::writtenPlanReadsBack_data()
{
    // Plan files as a user writes them; each is read, written back and read again.
    QTest::addColumn<QString>("text");
    QTest::newRow("defaults only") << R"({"scheme": "int8"})";
    QTest::newRow("method and clip") << R"({"scheme": "int4:g128:asym", "method": "gptq", "clip": "mse"})";
    QTest::newRow("percentile") << R"({"scheme": "nf4:g32", "clip": "p99.95"})";
    QTest::newRow("odd percentile") << R"({"scheme": "int3:tensor:away", "clip": "p0.1"})";
    QTest::newRow("overrides") << R"({"scheme": "int4:g64", "method": "awq", "clip": "p99.9", "overrides": [
        {"match": "*.down_proj.weight", "scheme": "int8", "method": "gptq", "clip": "mse"},
        {"match": "lm_head.weight", "skip": true},
        {"match": "layers.?.q_proj.weight", "clip": "minmax"},
        {"match": "*", "method": "rtn"},
        {"match": "embed.weight", "scheme": "q4_k"}]})";
    QTest::newRow("gguf and fp formats") << R"({"scheme": "q8_0", "overrides": [
        {"match": "a*", "scheme": "fp8_e4m3:tensor"}, {"match": "b*", "scheme": "mxfp4"}]})";
}

void TestPlan::writtenPlanReadsBack()
{
    QFETCH(QString, text);
    auto plan = parsePlan(text.toStdString(), "in.json");
    QVERIFY2(plan, plan ? "" : plan.error().message.c_str());
    auto written = planToJson(*plan);
    QVERIFY2(written, written ? "" : written.error().message.c_str());
    auto back = parsePlan(*written, "out.json");
    QVERIFY2(back, back ? "" : (back.error().message + "\n" + *written).c_str());
    QVERIFY2(*back == *plan, written->c_str());
    // Writing is stable: the text of the plan read back is the same text.
    QCOMPARE(QString::fromStdString(*planToJson(*back)), QString::fromStdString(*written));
    // Equality is not vacuous: a changed override or default is a different plan.
    Plan other = *plan;
    other.method = other.method == Method::Rtn ? Method::Gptq : Method::Rtn;
    QVERIFY(!(other == *plan));
    if (!plan->overrides.empty()) {
        other = *plan;
        other.overrides.back().match += "x";
        QVERIFY(!(other == *plan));
    }
}

void TestPlan::writtenText()
{
    // The exact text, written out by hand from the plan built here.
    Plan plan;
    plan.scheme = *parseScheme("int4:g128");
    plan.method = Method::Gptq;
    plan.options.range.method = ClipMethod::Percentile;
    plan.options.range.percentile = 99.9;
    PlanOverride skip;
    skip.match = "lm_head.weight";
    skip.skip = true;
    PlanOverride some;
    some.match = "*.down.weight";
    some.scheme = *parseScheme("int8");
    some.clip = RangeOptions{};
    some.clip->method = ClipMethod::Mse;
    plan.overrides = {skip, some};
    const std::string expected = "{\n"
                                 "  \"scheme\": \"int4:g128\",\n"
                                 "  \"method\": \"gptq\",\n"
                                 "  \"clip\": \"p99.9\",\n"
                                 "  \"overrides\": [\n"
                                 "    {\n"
                                 "      \"match\": \"lm_head.weight\",\n"
                                 "      \"skip\": true\n"
                                 "    },\n"
                                 "    {\n"
                                 "      \"match\": \"*.down.weight\",\n"
                                 "      \"scheme\": \"int8\",\n"
                                 "      \"clip\": \"mse\"\n"
                                 "    }\n"
                                 "  ]\n"
                                 "}\n";
    auto text = planToJson(plan);
    QVERIFY(text);
    QCOMPARE(QString::fromStdString(*text), QString::fromStdString(expected));
    auto back = parsePlan(*text, "p.json");
    QVERIFY(back);
    QVERIFY(*back == plan);
}

void TestPlan::unwritablePlans_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("words");
    QTest::newRow("mse steps") << 0 << "the default clip: a plan file cannot hold an MSE search over 20 ratios";
    QTest::newRow("percentile 0") << 1 << "the default clip: a plan file cannot hold the clip 'p0'";
    QTest::newRow("empty match") << 2 << "override 0 (): the match glob is empty";
    QTest::newRow("sets nothing") << 3 << "override 0 (x*): it sets nothing";
    QTest::newRow("skip and scheme") << 4 << "override 0 (x*): it skips and also sets";
}

void TestPlan::unwritablePlans()
{
    QFETCH(int, kind);
    QFETCH(QString, words);
    Plan plan;
    plan.scheme = *parseScheme("int8");
    PlanOverride o;
    o.match = "x*";
    switch (kind) {
    case 0: plan.options.range.method = ClipMethod::Mse; plan.options.range.mseSteps = 20; break;
    case 1: plan.options.range.method = ClipMethod::Percentile; plan.options.range.percentile = 0; break;
    case 2: o.match.clear(); o.skip = true; plan.overrides = {o}; break;
    case 3: plan.overrides = {o}; break;
    default: o.skip = true; o.scheme = plan.scheme; plan.overrides = {o}; break;
    }
    auto text = planToJson(plan);
    QVERIFY(!text);
    QCOMPARE(text.error().code, core::ErrorCode::InvalidArgument);
    QVERIFY2(QString::fromStdString(text.error().message).contains(words), text.error().message.c_str());
}

QTEST_GUILESS_MAIN(TestPlan)
#include "tst_plan.moc"
