#include "quantsettings.h"

#include <QStringList>

namespace qs::app {

bool isIntFormat(const QString& format) { return format == "int"; }
bool isFp8Format(const QString& format) { return format == "fp8_e4m3" || format == "fp8_e5m2"; }
bool isGgufFormat(const QString& format) { return format.startsWith('q'); }

QString specOf(const QuantSettings& s)
{
    QStringList parts;
    if (isIntFormat(s.format)) {
        parts << QString("int%1").arg(s.bits);
    } else {
        parts << s.format;
    }
    if (isIntFormat(s.format) || isFp8Format(s.format)) {
        if (s.granularity == "group") parts << QString("g%1").arg(s.groupSize);
        else if (s.granularity != "channel") parts << s.granularity; // channel is the default
    }
    if (isIntFormat(s.format)) {
        if (s.asymmetric) parts << "asym";
        if (s.rounding == "away") parts << "away";
        if (s.rounding == "stochastic") parts << (s.seed ? QString("stochastic=%1").arg(s.seed) : QString("stochastic"));
    }
    if (isFp8Format(s.format) && !s.saturate) parts << "nan";
    if (s.format == "nf4") {
        if (s.groupSize != 64) parts << QString("g%1").arg(s.groupSize);
        if (s.doubleQuant) parts << "dq";
    }
    return parts.join(':');
}

QString clipOf(const QuantSettings& s)
{
    // Only int and FP8 scales are clipped (the panel disables clipping for the others, and
    // the engine refuses a clip a format does not apply).
    if (!isIntFormat(s.format) && !isFp8Format(s.format)) return "minmax";
    if (s.clip == "percentile") return "p" + QString::number(s.percentile, 'g', 6);
    return s.clip;
}

} // namespace qs::app
