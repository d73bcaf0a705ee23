#pragma once
// Small helpers shared by the CLI suites: hand-written model files and in-process runs.
#include <initializer_list>
#include <string>
#include <vector>

namespace clitest {

/// Writes a safetensors file by hand: u64 header length, JSON, raw little-endian data.
void writeSafetensors(const std::string& path, const std::string& json, const std::string& data);
std::string floatsBytes(std::initializer_list<float> v);

struct Run {
    int code;
    std::string out, err;
};
/// Runs quantscope-cli in-process with its own output streams.
Run runCli(std::vector<std::string> args);

} // namespace clitest
