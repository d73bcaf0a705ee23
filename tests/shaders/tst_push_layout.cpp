// The push-constant blocks are written once (shaders/common/push_*.h) and read by glslc and by
// the C++ compiler. This suite reads the offsets glslc actually gave each member (OpMemberDecorate
// Offset in the embedded SPIR-V, found through OpName/OpMemberName) and compares them with the
// C++ offsetof and sizeof of the same struct, so the two views cannot drift apart. It also
// checks that every embedded variant is SPIR-V (magic number) and that lookups by name work.
#include "shaders/push_constants.h"
#include "shaders/spirv.h"

#include <QtTest>

#include <cstddef>
#include <map>
#include <string>

namespace {

constexpr uint32_t kSpirvMagic = 0x07230203u;
constexpr uint32_t kOpName = 5, kOpMemberName = 6, kOpMemberDecorate = 72, kDecorationOffset = 35;

/// A SPIR-V literal string starting at words[at] (UTF-8, four bytes a word, little-endian).
std::string literal(std::span<const uint32_t> words, size_t at)
{
    std::string s;
    for (size_t i = at; i < words.size(); ++i) {
        for (int b = 0; b < 4; ++b) {
            const char c = char((words[i] >> (8 * b)) & 0xffu);
            if (c == 0) return s;
            s += c;
        }
    }
    return s;
}

/// Member name -> byte offset of the struct named `block` in `spirv` (empty when absent).
std::map<std::string, uint32_t> memberOffsets(std::span<const uint32_t> spirv, const std::string& block)
{
    uint32_t blockId = 0;
    std::map<uint32_t, std::string> names;   // member index -> name
    std::map<uint32_t, uint32_t> offsets;    // member index -> offset
    for (int pass = 0; pass < 2; ++pass) {   // the name may follow the decorations
        for (size_t at = 5; at < spirv.size();) {
            const uint32_t count = spirv[at] >> 16, op = spirv[at] & 0xffffu;
            if (count == 0 || at + count > spirv.size()) break;
            const auto ins = spirv.subspan(at, count);
            if (pass == 0 && op == kOpName && literal(ins, 2) == block) blockId = ins[1];
            if (pass == 1 && op == kOpMemberName && ins[1] == blockId) names[ins[2]] = literal(ins, 3);
            if (pass == 1 && op == kOpMemberDecorate && ins[1] == blockId && count >= 5 && ins[3] == kDecorationOffset)
                offsets[ins[2]] = ins[4];
            at += count;
        }
    }
    std::map<std::string, uint32_t> result;
    for (const auto& [index, name] : names)
        if (offsets.count(index)) result[name] = offsets[index];
    return result;
}

} // namespace

class TestPushLayout : public QObject {
    Q_OBJECT

private slots:
    void everyVariantIsSpirv()
    {
        QVERIFY(!qs::shaders::shaderTable().empty());
        for (const auto& e : qs::shaders::shaderTable()) {
            QVERIFY2(e.words.size() > 5 && e.words[0] == kSpirvMagic, std::string(e.name).c_str());
            QCOMPARE(qs::shaders::spirv(e.name).data(), e.words.data());
        }
        QVERIFY(qs::shaders::spirv("no_such_shader").empty());
        QCOMPARE(qs::shaders::shaderNames().size(), qs::shaders::shaderTable().size());
    }

    void offsetsAgree_data()
    {
        QTest::addColumn<QString>("shader");
        QTest::addColumn<QString>("block");
        QTest::addColumn<QString>("member");
        QTest::addColumn<int>("cppOffset");
        QTest::addColumn<int>("cppSize");
        using qs::shaders::ReadBandwidthPush;
        for (const char* shader : {"read_bandwidth", "read_bandwidth_vec4"}) {
            QTest::addRow("%s count", shader) << shader << "ReadBandwidthPush" << "count"
                                              << int(offsetof(ReadBandwidthPush, count))
                                              << int(sizeof(ReadBandwidthPush));
        }
        using qs::shaders::SgemmPush;
        QTest::addRow("sgemm_f32 m") << "sgemm_f32" << "SgemmPush" << "m" << int(offsetof(SgemmPush, m))
                                     << int(sizeof(SgemmPush));
        QTest::addRow("sgemm_f32 ldb") << "sgemm_f32" << "SgemmPush" << "ldb" << int(offsetof(SgemmPush, ldb))
                                       << int(sizeof(SgemmPush));
        QTest::addRow("sgemm_f32 transB") << "sgemm_f32" << "SgemmPush" << "transB"
                                          << int(offsetof(SgemmPush, transB)) << int(sizeof(SgemmPush));
    }

    void offsetsAgree()
    {
        QFETCH(QString, shader);
        QFETCH(QString, block);
        QFETCH(QString, member);
        QFETCH(int, cppOffset);
        QFETCH(int, cppSize);
        const auto offsets = memberOffsets(qs::shaders::spirv(shader.toStdString()), block.toStdString());
        QVERIFY2(offsets.count(member.toStdString()), "member not found in the SPIR-V (names stripped?)");
        QCOMPARE(int(offsets.at(member.toStdString())), cppOffset);
        // Only 4-byte scalars: the block's size is its last offset + 4, as in C++.
        uint32_t last = 0;
        for (const auto& [name, offset] : offsets)
            last = std::max(last, offset);
        QCOMPARE(int(last + 4), cppSize);
    }
};

QTEST_GUILESS_MAIN(TestPushLayout)
#include "tst_push_layout.moc"
