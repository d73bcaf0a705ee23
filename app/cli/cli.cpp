#include "cli.h"

#include "commands.h"

#include <ostream>

namespace qs::cli {

int fail(std::ostream& err, const std::string& message)
{
    err << "error: " << message << "\n";
    return 2;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    CLI::App app{"Inspect and quantize the tensors of a model file.", "quantscope-cli"};
    app.require_subcommand(1);
    app.footer("Exit status: 0 on success; 1 when some tensors of a quantize --all run failed (they are\n"
               "listed); 2 on bad input or usage, with \"error: ...\" on stderr.\n"
               "Run 'quantscope-cli COMMAND --help' for a command's options.");
    auto inspect = addInspectCommand(app);
    auto quantize = addQuantizeCommand(app);
    if (!args.empty() && !args[0].empty() && args[0][0] != '-' && args[0] != "inspect" &&
        args[0] != "quantize")
        return fail(err, "unknown command '" + args[0] + "': valid are inspect, quantize");
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
    for (auto* c : {inspect.get(), quantize.get()})
        if (c->chosen()) return c->run(out, err);
    return fail(err, "no command given");
}

} // namespace qs::cli
