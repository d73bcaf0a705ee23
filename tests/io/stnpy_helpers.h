#pragma once
/// Byte builders for the safetensors, .npy and .npz tests: every file those suites read is
/// written here from the format's published layout, not by the engine's own writer.
#include "core/tensor.h"

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <string>
#include <vector>

namespace qs::stnpytest {

/// `v` as 8 little-endian bytes.
QByteArray le64(uint64_t v);

/// Writes `bytes` to `path`; false if the file could not be written completely.
bool writeFile(const QString& path, const QByteArray& bytes);

/// A safetensors file: u64 LE header length, the header text as given, then `data`.
QByteArray safetensorsFile(const std::string& headerJson, const QByteArray& data);

/// A .npy file of format `major`.0: magic, version, header length (u16 for 1.0, u32 for
/// 2.0 and 3.0), `dict` padded with spaces and a newline so the data starts at a multiple
/// of 64, then `data`.
QByteArray npyFile(int major, const std::string& dict, const QByteArray& data);

/// Raw deflate (no zlib header), as zip method 8 stores it.
QByteArray deflateRaw(const QByteArray& data);

struct ZipEntry {
    std::string name;
    QByteArray data;
    bool deflate = false;
    /// `data` is already raw deflate (deflate must be set too) of inflatedSize bytes whose
    /// CRC-32 is inflatedCrc: members far larger than memory, built without being held whole.
    bool predeflated = false;
    uint64_t inflatedSize = 0;
    uint32_t inflatedCrc = 0;
};

/// A zip archive with a local header, data and central directory entry per member. With
/// `zip64`, every size and offset goes into zip64 extra fields (the 32-bit fields hold
/// 0xFFFFFFFF) and the end of central directory has a zip64 record and locator.
QByteArray zipArchive(const std::vector<ZipEntry>& entries, bool zip64 = false);

/// The tensor's elements as f32, read from its storage under the fault guard; empty with a
/// failed QTest check-friendly flag `ok` on any error.
std::vector<float> readValues(const core::TensorInfo& t, bool* ok);

} // namespace qs::stnpytest
