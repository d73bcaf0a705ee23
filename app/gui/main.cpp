// quantscope: the GUI. `quantscope [FILE] [--select TENSOR] [--screenshot PNG]`.
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

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
    QCommandLineOption screenshot("screenshot", "save a PNG of the window once the selected tensor's statistics show, then quit", "PNG");
    parser.addOptions({select, screenshot});
    parser.process(app);

    qs::app::MainWindow window;
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
        QObject::connect(&window, &qs::app::MainWindow::statsShown, &window, grab);
        if (!parser.isSet(select)) QObject::connect(&window, &qs::app::MainWindow::modelLoaded, &window, grab);
        QObject::connect(&window, &qs::app::MainWindow::errorShown, &window, grab);
    }
    return QApplication::exec();
}
