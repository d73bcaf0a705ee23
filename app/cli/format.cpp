#include "format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace qs::cli {

std::string humanBytes(uint64_t bytes)
{
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 4) { v /= 1024.0; ++u; }
    char buf[32];
    if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
    return buf;
}

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string numberText(double v)
{
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string truncateText(const std::string& s, size_t max)
{
    return s.size() <= max ? s : s.substr(0, max) + "...";
}

void Table::print(std::ostream& out) const
{
    std::vector<size_t> width(m_header.size());
    for (size_t c = 0; c < m_header.size(); ++c) width[c] = m_header[c].size();
    for (const auto& r : m_rows)
        for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
    auto line = [&](const std::vector<std::string>& r) {
        std::string s;
        for (size_t c = 0; c < width.size(); ++c) {
            const std::string cell = c < r.size() ? r[c] : "";
            s += cell + std::string(width[c] - std::min(width[c], cell.size()) + 2, ' ');
        }
        while (!s.empty() && s.back() == ' ') s.pop_back();
        out << s << "\n";
    };
    line(m_header);
    for (const auto& r : m_rows) line(r);
}

void printHistogram(const std::string& title, const core::Histogram& h, std::ostream& out)
{
    out << "\nhistogram of " << title << " (finite values"
        << (h.scale == core::HistogramScale::SymLog ? ", symmetric log bins" : "") << ")\n";
    if (h.counts.empty()) { out << "  (no finite values)\n"; return; }
    const uint64_t peak = *std::max_element(h.counts.begin(), h.counts.end());
    for (size_t i = 0; i < h.counts.size(); ++i) {
        char range[64];
        std::snprintf(range, sizeof range, "[%11.4g, %11.4g)", h.edges[i], h.edges[i + 1]);
        const auto bar = peak ? static_cast<size_t>(50.0 * static_cast<double>(h.counts[i]) / static_cast<double>(peak) + 0.5) : 0;
        out << "  " << range << " " << std::string(bar, '#') << " " << h.counts[i] << "\n";
    }
}

} // namespace qs::cli
