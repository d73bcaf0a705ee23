#include "cli.h"

#include "commands.h"

#include "core/threadpool.h"

#include <ostream>

namespace qs::cli {

int fail(std::ostream& err, const std::string& message)
{
    err << "error: " << message << "\n";
    return 2;
}

std::unique_ptr<backends::Backend> openBackend(const std::string& name, std::optional<uint32_t> device,
                                               std::ostream& err)
{
    backends::BackendOptions options;
    options.device = device;
    auto choice = backends::createBackendOrFallback(name, options);
    if (!choice) {
        fail(err, choice.error().message);
        return nullptr;
    }
    if (!choice->fallback.empty()) err << "note: " << choice->fallback << "\n";
    return std::move(choice->backend);
}

namespace {

/// Sizes the engine's thread pool from --threads (0: not given), else QS_THREADS; a bad value
/// of either is refused. In-process callers may find the pool already running: the same size
/// is fine, another one is refused.
int configureThreads(unsigned requested, std::ostream& err)
{
    using core::ThreadPool;
    unsigned size = requested;
    if (size == 0) {
        auto env = ThreadPool::sizeFromEnvironment();
        if (!env) return fail(err, env.error().message);
        if (!*env) return 0;
        size = **env;
    }
    if (!ThreadPool::setGlobalSize(size))
        return fail(err, "cannot run on " + std::to_string(size) + " threads: the engine's thread pool already runs with " +
                             std::to_string(ThreadPool::global().size()));
    return 0;
}

} // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    CLI::App app{"Inspect and quantize the tensors of a model file; list the Vulkan devices.", "quantscope-cli"};
    app.require_subcommand(1);
    app.footer("Exit status: 0 on success; 1 when some tensors of a quantize --all run failed (they are\n"
               "listed); 2 on bad input or usage, with \"error: ...\" on stderr.\n"
               "Run 'quantscope-cli COMMAND --help' for a command's options.");
    unsigned threads = 0;
    app.add_option("--threads", threads, "run engine passes on N threads (default: QS_THREADS, else every hardware thread)")
        ->type_name("N")
        ->check(CLI::Range(1u, core::ThreadPool::kMaxThreads));
    app.fallthrough(); // --threads may also follow the command
    auto inspect = addInspectCommand(app);
    auto quantize = addQuantizeCommand(app);
    auto devices = addDevicesCommand(app);
    // The first word that is not an option or its value names the command.
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--threads") { ++i; continue; }
        if (args[i].empty() || args[i][0] == '-') continue;
        if (args[i] != "inspect" && args[i] != "quantize" && args[i] != "devices")
            return fail(err, "unknown command '" + args[i] + "': valid are inspect, quantize, devices");
        break;
    }
    try {
        app.parse(std::vector<std::string>(args.rbegin(), args.rend())); // CLI11 takes them reversed
    } catch (const CLI::CallForHelp&) {
        out << app.help(); // the chosen subcommand's help when there is one
        return 0;
    } catch (const CLI::ParseError& e) {
        err << "error: " << e.what() << "\n";
        const auto chosen = app.get_subcommands();
        err << "run 'quantscope-cli " << (chosen.empty() ? std::string() : chosen[0]->get_name() + " ")
            << "--help' for usage\n";
        return 2;
    }
    if (int st = configureThreads(threads, err); st != 0) return st;
    for (auto* c : {inspect.get(), quantize.get(), devices.get()})
        if (c->chosen()) return c->run(out, err);
    return fail(err, "no command given");
}

} // namespace qs::cli
