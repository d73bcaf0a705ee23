// quantscope: the GUI. `quantscope [FILE] [--select TENSOR] [--screenshot PNG] [--threads N] [--theme T]`.
#include "mainwindow.h"

#include "core/threadpool.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>

namespace {

/// Sizes the engine's thread pool from --threads, else QS_THREADS; false after reporting a bad
/// --threads. A bad QS_THREADS is reported and ignored (the pool then uses every hardware thread).
bool configureThreads(const QCommandLineParser& parser, const QCommandLineOption& threads)
{
    using qs::core::ThreadPool;
    if (parser.isSet(threads)) {
        const auto n = ThreadPool::parseSize(parser.value(threads).toStdString(), "--threads");
        if (!n) {
            std::fprintf(stderr, "quantscope: %s\n", n.error().message.c_str());
            return false;
        }
        return ThreadPool::setGlobalSize(*n);
    }
    const auto env = ThreadPool::sizeFromEnvironment();
    if (!env) std::fprintf(stderr, "quantscope: %s; ignored\n", env.error().message.c_str());
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Quantscope");
    QApplication::setApplicationName("Quantscope");
    QApplication::setApplicationVersion("0.1");

    QCommandLineParser parser;
    parser.setApplicationDescription("Shows what quantization does to a neural network.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("file", "model to open (default: the bundled demo model)");
    QCommandLineOption select("select", "select TENSOR once the model is open", "TENSOR");
    QCommandLineOption screenshot("screenshot", "save a PNG of the window once the selected layer's workbench panels show (or after 30 s), then quit", "PNG");
    QCommandLineOption threads("threads", "run engine passes on N threads (default: QS_THREADS, else every hardware thread)", "N");
    QCommandLineOption theme("theme", "colour theme: system, light or dark (remembered; also View > Theme)", "THEME");
    parser.addOptions({select, screenshot, threads, theme});
    parser.process(app);
    if (!configureThreads(parser, threads)) return 2;
    const QString themeName = parser.value(theme);
    if (parser.isSet(theme) && !QStringList{"system", "light", "dark"}.contains(themeName)) {
        std::fprintf(stderr, "quantscope: --theme: '%s' is not one of system, light, dark\n", qPrintable(themeName));
        return 2;
    }

    qs::app::MainWindow window;
    if (parser.isSet(theme)) window.setTheme(qs::app::themeFromKey(themeName));
    window.show();
    const QStringList files = parser.positionalArguments();
    window.openFile(files.isEmpty() ? QString(QS_DEMO_MODEL) : files.first());
    if (parser.isSet(select)) window.selectTensor(parser.value(select));
    if (parser.isSet(screenshot)) {
        const QString path = parser.value(screenshot);
        auto grab = [&window, path] {
            QTimer::singleShot(500, &window, [&window, path] { // let queued replots finish
                const bool ok = window.grab().save(path);
                QApplication::exit(ok ? 0 : 1);
            });
        };
        // The workbench result comes after the statistics; a model without a weight matrix
        // never has one, so a timeout takes the picture then.
        QObject::connect(&window, &qs::app::MainWindow::workbenchUpdated, &window, grab, Qt::SingleShotConnection);
        QObject::connect(&window, &qs::app::MainWindow::errorShown, &window, grab, Qt::SingleShotConnection);
        QTimer::singleShot(30000, &window, grab);
    }
    return QApplication::exec();
}
