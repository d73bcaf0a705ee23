#include "cli_helpers.h"

#include "cli/cli.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace clitest {

void writeSafetensors(const std::string& path, const std::string& json, const std::string& data)
{
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = json.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << json << data;
}

std::string floatsBytes(std::initializer_list<float> v)
{
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), std::data(v), s.size());
    return s;
}

Run runCli(std::vector<std::string> args)
{
    std::ostringstream out, err;
    const int code = qs::cli::run(args, out, err);
    return {code, out.str(), err.str()};
}

} // namespace clitest
