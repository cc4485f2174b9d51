// `berth system boot` (containers that come back after a reboot) and
// `berth inspect` (containers by name or id, as docker's).
#include <CLI/CLI.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/output.hpp"
#include "common/error.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"

namespace berth::cli {
namespace {

void add_system_commands(CLI::App& app, Globals& g) {
  auto* sys = app.add_subcommand("system", "Manage Berth");
  sys->require_subcommand(1);
  auto* boot = sys->add_subcommand("boot", "Start the containers whose restart policy brings them back at boot");
  boot->callback([&g] {
    engine::ContainerEngine eng(g.root, g.state);
    for (auto& id : eng.boot()) std::cout << id << "\n";
  });

  auto* c = app.add_subcommand("inspect", "Return low-level information on containers");
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>("container");
  c->add_option("-f,--format", *format, "Format output using a custom template");
  c->add_option("--type", *type, "Return JSON for specified type (container)");
  c->add_option("names", *refs, "containers")->required();
  c->callback([=, &g] {
    if (*type != "container")
      throw Error("--type " + *type + ": use 'berth image inspect' for images", ErrorKind::InvalidArgument);
    engine::ContainerEngine eng(g.root, g.state);
    std::vector<nlohmann::json> objs;
    int failed = 0;
    for (auto& r : *refs) {
      try {
        auto ct = eng.inspect(r);
        objs.push_back(engine::inspect_view(ct, eng.container_dir(ct.id), eng.log_path(ct.id)));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::NotFound) throw;
        std::cerr << "Error: No such object: " << r << "\n";
        failed = 1;
      }
    }
    std::cout << format_objects(*format, objs);
    if (failed) throw ExitStatus{1, ""};
  });
}

const bool registered = add_commands(add_system_commands);

}  // namespace
}  // namespace berth::cli
