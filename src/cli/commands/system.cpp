// System verbs: `system boot` (containers that come back after a reboot),
// `system df`, `system prune`, `info`, `version`, `events`.
#include <CLI/CLI.hpp>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/output.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/events.hpp"

namespace berth::cli {
namespace {

using nlohmann::json;

int64_t du(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2) && !it->is_symlink(e2)) total += static_cast<int64_t>(it->file_size(e2));
  }
  return total;
}

std::string cgroup_version() {
  struct statfs s{};
  if (::statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == 0x63677270 /*CGROUP2_SUPER_MAGIC*/) return "2";
  return "1";
}

json info_json(engine::ContainerEngine& eng, const std::string& root) {
  engine::ListOptions lo;
  lo.all = true;
  auto cs = eng.list(lo);
  int running = 0, paused = 0, stopped = 0;
  for (auto& c : cs) {
    if (c.state.status == "paused") ++paused;
    else if (c.state.running()) ++running;
    else ++stopped;
  }
  utsname u{};
  ::uname(&u);
  std::string os = "Linux";
  try {
    std::string rel = fs::read_file("/etc/os-release");
    auto p = rel.find("PRETTY_NAME=\"");
    if (p != std::string::npos) os = rel.substr(p + 13, rel.find('"', p + 13) - p - 13);
  } catch (const Error&) {
  }
  return {{"Containers", cs.size()},
          {"ContainersRunning", running},
          {"ContainersPaused", paused},
          {"ContainersStopped", stopped},
          {"Images", eng.images().list().size()},
          {"Driver", "overlay2"},
          {"LoggingDriver", "json-file"},
          {"CgroupDriver", "cgroupfs"},
          {"CgroupVersion", cgroup_version()},
          {"KernelVersion", u.release},
          {"OperatingSystem", os},
          {"OSType", "linux"},
          {"Architecture", u.machine},
          {"NCPU", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"MemTotal", static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE)},
          {"DockerRootDir", root},
          {"Name", u.nodename},
          {"ServerVersion", BERTH_VERSION},
          {"DefaultRuntime", "berth-runtime"},
          {"Runtimes", {{"berth-runtime", json::object()}, {"runc", json::object()}, {"crun", json::object()}}},
          {"SecurityOptions", {"name=seccomp,profile=builtin", "name=no-new-privileges"}}};
}

void add_system_commands(CLI::App& app, Globals& g) {
  auto* sys = app.add_subcommand("system", "Manage Berth");
  sys->require_subcommand(1);
  auto* boot = sys->add_subcommand("boot", "Start the containers whose restart policy brings them back at boot");
  boot->callback([&g] {
    engine::ContainerEngine eng(g.root, g.state);
    for (auto& id : eng.boot()) std::cout << id << "\n";
  });

  auto* df = sys->add_subcommand("df", "Show berth disk usage");
  auto df_format = std::make_shared<std::string>();
  df->add_option("--format", *df_format, "Format output using a custom template");
  df->callback([df_format, &g] {
    engine::ContainerEngine eng(g.root, g.state);
    engine::ListOptions lo;
    lo.all = true;
    auto cs = eng.list(lo);
    auto imgs = eng.images().list();
    int64_t img_size = 0, img_active = 0;
    std::set<std::string> used;
    for (auto& c : cs) used.insert(c.image_id);
    for (auto& i : imgs) {
      img_size += i.size;
      if (used.count(i.id)) ++img_active;
    }
    int64_t ct_size = 0, ct_active = 0;
    for (auto& c : cs) {
      ct_size += du(eng.container_dir(c.id) + "/upper");
      if (c.state.running()) ++ct_active;
    }
    auto vols = eng.volumes().list();
    int64_t vol_size = 0, vol_active = 0;
    for (auto& v : vols) {
      vol_size += du(v.mountpoint);
      bool in_use = false;
      for (auto& c : cs)
        for (auto& m : c.mounts) in_use = in_use || (m.type == "volume" && m.name == v.name);
      if (in_use) ++vol_active;
    }
    auto row = [](const char* type, size_t total, int64_t active, int64_t size) {
      return json{{"Type", type},
                  {"TotalCount", std::to_string(total)},
                  {"Active", std::to_string(active)},
                  {"Size", image::human_size(size)},
                  {"Reclaimable", image::human_size(active ? 0 : size)}};
    };
    std::vector<json> rows = {row("Images", imgs.size(), img_active, img_size),
                              row("Containers", cs.size(), ct_active, ct_size),
                              row("Local Volumes", vols.size(), vol_active, vol_size),
                              row("Build Cache", 0, 0, 0)};
    std::cout << format_rows(*df_format, rows,
                             {"table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                              {{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"}, {"Size", "SIZE"},
                               {"Reclaimable", "RECLAIMABLE"}}});
  });

  auto* prune = sys->add_subcommand("prune", "Remove unused data");
  auto force = std::make_shared<bool>(false), all = std::make_shared<bool>(false), vols = std::make_shared<bool>(false);
  prune->add_flag("-f,--force", *force, "Do not prompt for confirmation");
  prune->add_flag("-a,--all", *all, "Remove all unused images not just dangling ones");
  prune->add_flag("--volumes", *vols, "Prune anonymous volumes");
  prune->callback([=, &g] {
    if (!*force && ::isatty(STDIN_FILENO)) {
      std::cout << "WARNING! This will remove:\n  - all stopped containers\n"
                << "  - all networks not used by at least one container\n"
                << (*vols ? "  - all anonymous volumes not used by at least one container\n" : "")
                << (*all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n")
                << "\nAre you sure you want to continue? [y/N] " << std::flush;
      std::string a;
      std::getline(std::cin, a);
      if (a != "y" && a != "Y") return;
    }
    engine::ContainerEngine eng(g.root, g.state);
    engine::ListOptions lo;
    lo.all = true;
    std::cout << "Deleted Containers:\n";
    for (auto& c : eng.list(lo))
      if (!c.state.running()) {
        eng.remove(c.id, false, false);
        std::cout << c.id << "\n";
      }
    if (auto nets = eng.network_prune(); !nets.empty()) {
      std::cout << "\nDeleted Networks:\n";
      for (auto& n : nets) std::cout << n << "\n";
    }
    if (*vols) {
      std::cout << "\nDeleted Volumes:\n";
      std::set<std::string> in_use;
      for (auto& c : eng.list(lo))
        for (auto& m : c.mounts)
          if (m.type == "volume") in_use.insert(m.name);
      for (auto& v : eng.volumes().list())
        if (v.anonymous && !in_use.count(v.name)) {
          eng.volumes().remove(v.name, {}, true);
          std::cout << v.name << "\n";
        }
    }
    image::GcReport gc;
    auto rep = eng.images().prune(*all, &gc);
    std::cout << "\nDeleted Images:\n";
    for (auto& u : rep.untagged) std::cout << "untagged: " << u << "\n";
    for (auto& d : rep.deleted) std::cout << "deleted: " << d << "\n";
    std::cout << "\nTotal reclaimed space: " << image::human_size(gc.bytes) << "\n";
  });

  auto* info = app.add_subcommand("info", "Display system-wide information");
  auto info_format = std::make_shared<std::string>();
  info->add_option("-f,--format", *info_format, "Format output using a custom template");
  info->callback([info_format, &g] {
    engine::ContainerEngine eng(g.root, g.state);
    json j = info_json(eng, g.root);
    if (!info_format->empty()) {
      std::cout << format_objects(*info_format, {j});
      return;
    }
    std::cout << "Server:\n"
              << " Containers: " << j["Containers"] << "\n"
              << "  Running: " << j["ContainersRunning"] << "\n"
              << "  Paused: " << j["ContainersPaused"] << "\n"
              << "  Stopped: " << j["ContainersStopped"] << "\n"
              << " Images: " << j["Images"] << "\n"
              << " Server Version: " << BERTH_VERSION << "\n"
              << " Storage Driver: overlay2\n"
              << " Logging Driver: json-file\n"
              << " Cgroup Driver: cgroupfs\n"
              << " Cgroup Version: " << j["CgroupVersion"].get<std::string>() << "\n"
              << " Runtimes: berth-runtime runc crun\n"
              << " Default Runtime: berth-runtime\n"
              << " Security Options:\n  seccomp\n   Profile: builtin\n  no-new-privileges\n"
              << " Kernel Version: " << j["KernelVersion"].get<std::string>() << "\n"
              << " Operating System: " << j["OperatingSystem"].get<std::string>() << "\n"
              << " OSType: linux\n"
              << " Architecture: " << j["Architecture"].get<std::string>() << "\n"
              << " CPUs: " << j["NCPU"] << "\n"
              << " Total Memory: " << image::human_size(j["MemTotal"].get<int64_t>()) << "\n"
              << " Name: " << j["Name"].get<std::string>() << "\n"
              << " Berth Root Dir: " << g.root << "\n"
              << " Berth State Dir: " << g.state << "\n";
  });

  auto* version = app.add_subcommand("version", "Show the Berth version information");
  auto version_format = std::make_shared<std::string>();
  version->add_option("-f,--format", *version_format, "Format output using a custom template");
  version->callback([version_format] {
    utsname u{};
    ::uname(&u);
    json j = {{"Client", {{"Version", BERTH_VERSION}, {"ApiVersion", "1.41"}, {"Os", "linux"}, {"Arch", u.machine}}},
              {"Server",
               {{"Version", BERTH_VERSION}, {"ApiVersion", "1.41"}, {"MinAPIVersion", "1.12"}, {"Os", "linux"},
                {"Arch", u.machine}, {"KernelVersion", u.release}}}};
    if (!version_format->empty()) {
      std::cout << format_objects(*version_format, {j});
      return;
    }
    std::cout << "Client:\n Version:    " << BERTH_VERSION << "\n API version: 1.41\n OS/Arch:    linux/" << u.machine
              << "\n\nServer: Berth Engine (daemonless)\n Engine:\n  Version:   " << BERTH_VERSION
              << "\n  OS/Arch:   linux/" << u.machine << "\n  Runtime:   berth-runtime\n";
  });

  auto* events = app.add_subcommand("events", "Get real time events from the engine");
  struct EvF {
    std::string since, until, format;
    std::vector<std::string> filters;
  };
  auto ef = std::make_shared<EvF>();
  events->add_option("--since", ef->since, "Show all events created since timestamp");
  events->add_option("--until", ef->until, "Stream events until this timestamp");
  events->add_option("-f,--filter", ef->filters, "Filter output based on conditions provided (container, event, type, label)");
  events->add_option("--format", ef->format, "Format the output using the given Go template");
  events->callback([ef, &g] {
    engine::EventQuery q;
    q.since = engine::parse_time_bound(ef->since, "--since");
    q.until = engine::parse_time_bound(ef->until, "--until");
    q.follow = ef->until.empty();
    if (q.since == 0 && q.follow) q.since = static_cast<int64_t>(::time(nullptr));  // docker: only new ones
    std::map<std::string, std::vector<std::string>> filters;
    for (auto& f : ef->filters) {
      auto eq = f.find('=');
      if (eq == std::string::npos) throw ExitStatus{1, "bad format of filter (expected name=value)"};
      filters[f.substr(0, eq)].push_back(f.substr(eq + 1));
    }
    engine::read_events(g.root, q, [&](const json& e) {
      auto match = [&](const std::string& key, const std::vector<std::string>& vals) {
        for (auto& v : vals) {
          const json& attrs = e["Actor"]["Attributes"];
          if (key == "container" && (e["Actor"]["ID"].get<std::string>().rfind(v, 0) == 0 || attrs.value("name", "") == v)) return true;
          if (key == "event" && e.value("Action", "") == v) return true;
          if (key == "type" && e.value("Type", "") == v) return true;
          if (key == "image" && attrs.value("image", "") == v) return true;
          if (key == "label") {
            auto leq = v.find('=');
            std::string k = v.substr(0, leq);
            if (attrs.contains(k) && (leq == std::string::npos || attrs[k] == v.substr(leq + 1))) return true;
          }
        }
        return false;
      };
      for (auto& [k, vals] : filters)
        if (!match(k, vals)) return true;
      if (!ef->format.empty()) {
        std::cout << format_objects(ef->format, {e}) << std::flush;
        return true;
      }
      time_t t = e.value("time", int64_t{0});
      tm tmv{};
      ::gmtime_r(&t, &tmv);
      char ts[40];
      std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tmv);
      char ns[16];
      std::snprintf(ns, sizeof ns, ".%09lldZ", static_cast<long long>(e.value("timeNano", int64_t{0}) % 1000000000LL));
      std::string attrs;
      for (auto& [k, v] : e["Actor"]["Attributes"].items()) attrs += (attrs.empty() ? "" : ", ") + k + "=" + v.get<std::string>();
      std::cout << ts << ns << " " << e.value("Type", "") << " " << e.value("Action", "") << " "
                << e["Actor"].value("ID", "") << " (" << attrs << ")" << std::endl;
      return true;
    });
  });
}

const bool registered = add_commands({"system", "info", "version", "events"}, add_system_commands);

}  // namespace
}  // namespace berth::cli
