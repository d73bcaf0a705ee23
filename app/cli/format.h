#pragma once
/// Text formatting for the command line: sizes, shapes, numbers, aligned tables.
#include "core/stats.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace qs::cli {

std::string humanBytes(uint64_t bytes);             ///< "1.50 MiB"
std::string shapeText(const std::vector<int64_t>& shape); ///< "[128, 64]"
std::string numberText(double v);                   ///< 6 significant digits, "nan"/"inf" spelled out
std::string truncateText(const std::string& s, size_t max);

/// Columns padded to their widest cell.
class Table {
public:
    explicit Table(std::vector<std::string> header) : m_header(std::move(header)) {}
    void addColumns(const std::vector<std::string>& names) { m_header.insert(m_header.end(), names.begin(), names.end()); }
    void addRow(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    void print(std::ostream& out) const;

private:
    std::vector<std::string> m_header;
    std::vector<std::vector<std::string>> m_rows;
};

/// A horizontal bar chart of the histogram, 50 characters for the fullest bin.
void printHistogram(const std::string& title, const core::Histogram& h, std::ostream& out);

} // namespace qs::cli
