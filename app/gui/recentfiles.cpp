#include "recentfiles.h"

#include <QFileInfo>
#include <QSettings>

namespace qs::app {

namespace {
constexpr const char* kKey = "recentFiles";
}

QStringList RecentFiles::list() const { return QSettings().value(kKey).toStringList(); }

void RecentFiles::add(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList files = list();
    files.removeAll(absolute);
    files.prepend(absolute);
    while (files.size() > kMax) files.removeLast();
    QSettings().setValue(kKey, files);
}

void RecentFiles::remove(const QString& path)
{
    QStringList files = list();
    files.removeAll(path);
    QSettings().setValue(kKey, files);
}

} // namespace qs::app
