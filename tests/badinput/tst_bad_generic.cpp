// Inputs that are bad before any format is involved: each must give a clear error naming the
// file, never a crash or a hang.
#include "io/modelreader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sys/stat.h>

class TestBadGeneric : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    std::string path(const char* name) const { return m_dir.filePath(name).toStdString(); }
    void write(const char* name, const std::string& bytes) const
    {
        std::ofstream(path(name), std::ios::binary) << bytes;
    }

private slots:
    void rejected_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("problem");
        QTest::newRow("missing") << "absent.safetensors" << "no such file";
        QTest::newRow("folder without a model") << "adir" << "no model in this folder";
        QTest::newRow("empty") << "empty.safetensors" << "file is empty";
        QTest::newRow("fifo") << "pipe.gguf" << "not a regular file";
        QTest::newRow("unknown format") << "notes.txt" << "unrecognised model format";
        QTest::newRow("dev zero") << "/dev/zero" << "not a regular file";
    }
    void rejected()
    {
        QFETCH(QString, file);
        QFETCH(QString, problem);
        QDir(m_dir.path()).mkdir("adir");
        write("empty.safetensors", "");
        write("notes.txt", "just some text, not a model");
        ::mkfifo(path("pipe.gguf").c_str(), 0600);
        const std::string p = file.startsWith('/') ? file.toStdString() : path(file.toUtf8().constData());
        auto r = qs::io::openModel(p);
        QVERIFY(!r.ok());
        const std::string& msg = r.error().message;
        QVERIFY2(msg.rfind(p + ": ", 0) == 0, msg.c_str());
        QVERIFY2(msg.find(problem.toStdString()) != std::string::npos, msg.c_str());
    }
};

QTEST_GUILESS_MAIN(TestBadGeneric)
#include "tst_bad_generic.moc"
