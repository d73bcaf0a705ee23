#pragma once
/// The recently opened model files, most recent first, kept in QSettings.
#include <QStringList>

namespace qs::app {

class RecentFiles {
public:
    static constexpr int kMax = 10;
    QStringList list() const;
    void add(const QString& path);
    void remove(const QString& path);
};

} // namespace qs::app
