// `berth volume create/ls/inspect/rm/prune`: named volumes (engine/volumes.hpp).
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/output.hpp"
#include "common/error.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"

namespace berth::cli {
namespace {

using nlohmann::json;

json volume_json(const engine::Volume& v) { return engine::volume_view(v); }

// Containers (ids) whose mounts name the volume.
std::vector<std::string> users_of(engine::ContainerEngine& eng, const std::string& name) {
  std::vector<std::string> ids;
  engine::ListOptions lo;
  lo.all = true;
  for (auto& c : eng.list(lo))
    for (auto& m : c.mounts)
      if (m.type == "volume" && m.name == name) ids.push_back(c.id);
  return ids;
}

void add_volume_commands(CLI::App& app, Globals& g) {
  auto* vol = app.add_subcommand("volume", "Manage volumes");
  vol->require_subcommand(1);
  if (!named_on_command_line({"volume"})) return;
  {
    auto* c = vol->add_subcommand("create", "Create a volume");
    auto name = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    auto driver = std::make_shared<std::string>("local");
    c->add_option("name", *name, "volume name (random if none)");
    c->add_option("--label", *labels, "Set metadata for a volume")->allow_extra_args(false);  // one value each, as docker
    c->add_option("-d,--driver", *driver, "Specify volume driver name")->capture_default_str();
    c->callback([=, &g] {
      if (*driver != "local") throw Error("plugin \"" + *driver + "\" not found (only the local driver)", ErrorKind::NotFound);
      std::map<std::string, std::string> l;
      for (auto& kv : *labels) l[kv.substr(0, kv.find('='))] = kv.find('=') == std::string::npos ? "" : kv.substr(kv.find('=') + 1);
      engine::ContainerEngine eng(g.root, g.state);
      std::cout << eng.volumes().create(*name, l).name << "\n";
    });
  }
  {
    auto* c = vol->add_subcommand("ls", "List volumes");
    c->alias("list");
    auto quiet = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>();
    auto filters = std::make_shared<std::vector<std::string>>();
    c->add_flag("-q,--quiet", *quiet, "Only display volume names");
    c->add_option("--format", *format, "Format output using a custom template");
    c->add_option("-f,--filter", *filters, "Provide filter values (dangling=true|false, name=, label=)");
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      std::vector<json> rows;
      for (auto& v : eng.volumes().list()) {
        bool keep = true;
        for (auto& f : *filters) {
          auto eq = f.find('=');
          std::string k = f.substr(0, eq), val = eq == std::string::npos ? "" : f.substr(eq + 1);
          if (k == "dangling") keep = keep && (users_of(eng, v.name).empty() == (val == "true" || val == "1"));
          else if (k == "name") keep = keep && v.name.find(val) != std::string::npos;
          else if (k == "label") keep = keep && v.labels.count(val.substr(0, val.find('=')));
          else throw Error("invalid filter '" + k + "'", ErrorKind::InvalidArgument);
        }
        if (!keep) continue;
        if (*quiet) {
          std::cout << v.name << "\n";
          continue;
        }
        json r = volume_json(v);
        r["Labels"] = "";
        rows.push_back(r);
      }
      if (*quiet) return;
      std::cout << format_rows(*format, rows,
                               {"table {{.Driver}}\t{{.Name}}", {{"Driver", "DRIVER"}, {"Name", "VOLUME NAME"},
                                                                 {"Mountpoint", "MOUNTPOINT"}, {"Scope", "SCOPE"}}});
    });
  }
  {
    auto* c = vol->add_subcommand("inspect", "Display detailed information on one or more volumes");
    auto names = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>();
    c->add_option("-f,--format", *format, "Format output using a custom template");
    c->add_option("volumes", *names, "volumes")->required();
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      std::vector<json> objs;
      for (auto& n : *names) objs.push_back(volume_json(eng.volumes().get(n)));
      std::cout << format_objects(*format, objs);
    });
  }
  {
    auto* c = vol->add_subcommand("rm", "Remove one or more volumes");
    c->alias("remove");
    auto names = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    c->add_flag("-f,--force", *force, "Force the removal of one or more volumes");
    c->add_option("volumes", *names, "volumes")->required();
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      int failed = 0;
      for (auto& n : *names) {
        try {
          eng.volumes().remove(n, users_of(eng, n), *force);
          std::cout << n << "\n";
        } catch (const Error& e) {
          std::cerr << "Error response from daemon: " << e.what() << "\n";
          failed = 1;
        }
      }
      if (failed) throw ExitStatus{1, ""};
    });
  }
  {
    auto* c = vol->add_subcommand("prune", "Remove all unused local volumes");
    auto force = std::make_shared<bool>(false), all = std::make_shared<bool>(false);
    c->add_flag("-f,--force", *force, "Do not prompt for confirmation");
    c->add_flag("-a,--all", *all, "Remove all unused volumes, not just anonymous ones");
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      std::cout << "Deleted Volumes:\n";
      for (auto& v : eng.volumes().list()) {
        if (!v.anonymous && !*all) continue;
        if (!users_of(eng, v.name).empty()) continue;
        eng.volumes().remove(v.name, {}, true);
        std::cout << v.name << "\n";
      }
      std::cout << "\nTotal reclaimed space: 0B\n";
    });
  }
}

const bool registered = add_commands({"volume"}, add_volume_commands);

}  // namespace
}  // namespace berth::cli
