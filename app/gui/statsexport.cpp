#include "statsexport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace qs::app {

namespace {

QJsonValue number(double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(); }

QString csvNumber(double v) { return std::isfinite(v) ? QString::number(v, 'g', 17) : QString(); }

QJsonArray floats(const std::vector<float>& v)
{
    QJsonArray a;
    for (float x : v) a.append(double(x));
    return a;
}

} // namespace

QByteArray statsCsv(const core::TensorInfo& t, const core::TensorStats& s)
{
    QString out = "field,value\n";
    out += "tensor,\"" + QString::fromStdString(t.name).replace('"', "\"\"") + "\"\n";
    out += QString("count,%1\nnan,%2\ninf,%3\nzeros,%4\n").arg(s.count).arg(s.nan).arg(s.inf).arg(s.zeros);
    const std::pair<const char*, double> fields[] = {{"min", s.min}, {"max", s.max}, {"mean", s.mean},
                                                     {"std", s.std}, {"absmax", s.absmax}, {"kurtosis", s.kurtosis}};
    for (const auto& [name, v] : fields) out += QString("%1,%2\n").arg(name, csvNumber(v));
    out += "\nbin_lo,bin_hi,count\n";
    for (size_t i = 0; i < s.histogram.counts.size(); ++i)
        out += QString("%1,%2,%3\n").arg(csvNumber(s.histogram.edges[i]), csvNumber(s.histogram.edges[i + 1]))
                   .arg(s.histogram.counts[i]);
    return out.toUtf8();
}

QByteArray statsJson(const core::TensorInfo& t, const core::TensorStats& s)
{
    QJsonArray shape, edges, counts;
    for (int64_t d : t.shape) shape.append(qint64(d));
    for (double e : s.histogram.edges) edges.append(e);
    for (uint64_t c : s.histogram.counts) counts.append(qint64(c));
    QJsonObject stats{{"count", qint64(s.count)}, {"min", number(s.min)}, {"max", number(s.max)},
                      {"mean", number(s.mean)}, {"std", number(s.std)}, {"absmax", number(s.absmax)},
                      {"nan", qint64(s.nan)}, {"inf", qint64(s.inf)}, {"zeros", qint64(s.zeros)},
                      {"kurtosis", number(s.kurtosis)}};
    QJsonObject root{{"tensor", QString::fromStdString(t.name)},
                     {"dtype", QString::fromStdString(t.readable() ? std::string(core::dtypeName(t.dtype)) : t.typeName)},
                     {"shape", shape}, {"stats", stats},
                     {"histogram", QJsonObject{{"edges", edges}, {"counts", counts}}},
                     {"out_channel_absmax", floats(s.outChannelAbsmax)},
                     {"in_channel_absmax", floats(s.inChannelAbsmax)}};
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

} // namespace qs::app
