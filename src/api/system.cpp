// /_ping, /version, /info, /system/df: what the docker CLI asks first.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/server.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

std::string kernel_version() {
  utsname u{};
  ::uname(&u);
  return u.release;
}

std::string os_name() {
  try {
    std::string os = fs::read_file("/etc/os-release");
    auto p = os.find("PRETTY_NAME=\"");
    if (p != std::string::npos) return os.substr(p + 13, os.find('"', p + 13) - p - 13);
  } catch (const Error&) {
  }
  return "Linux";
}

void ping(Exchange& x) {
  // The docker CLI reads these headers (Api-Version is added to every
  // answer): Builder-Version 1 sends `docker build` to the classic /build.
  x.extra_headers = "Builder-Version: 1\r\nCache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\n";
  x.reply(200, "text/plain; charset=utf-8", "OK");
}

void version(Exchange& x) {
  const std::string& v = x.server->options().version;
  json details = {{"ApiVersion", kApiVersion}, {"MinAPIVersion", kMinApiVersion}, {"Os", "linux"},
                  {"Arch", "amd64"},           {"KernelVersion", kernel_version()}};
  x.json(200, {{"Platform", {{"Name", "Berth " + v}}},
               {"Components", json::array({{{"Name", "Engine"}, {"Version", v}, {"Details", details}}})},
               {"Version", v},
               {"ApiVersion", kApiVersion},
               {"MinAPIVersion", kMinApiVersion},
               {"GitCommit", ""},
               {"GoVersion", "none (C++)"},
               {"Os", "linux"},
               {"Arch", "amd64"},
               {"KernelVersion", kernel_version()},
               {"BuildTime", ""}});
}

void info(Exchange& x) {
  auto& e = *x.engine;
  int running = 0, paused = 0, stopped = 0, total = 0;
  for (auto& c : e.list({.all = true})) {
    ++total;
    if (c.state.status == "paused") ++paused;
    else if (c.state.running()) ++running;
    else ++stopped;
  }
  struct sysinfo si{};
  ::sysinfo(&si);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const auto& o = x.server->options();
  bool v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers");
  x.json(200, {{"ID", "berth"},
               {"Containers", total},
               {"ContainersRunning", running},
               {"ContainersPaused", paused},
               {"ContainersStopped", stopped},
               {"Images", e.images().list().size()},
               {"Driver", "overlay2"},
               {"DriverStatus", json::array({json::array({"Backing Filesystem", "berth overlay snapshotter"})})},
               {"DockerRootDir", o.root},
               {"Plugins", {{"Volume", {"local"}}, {"Network", json::array()}, {"Log", {"json-file"}}}},
               {"MemoryLimit", true},
               {"SwapLimit", true},
               {"CpuCfsPeriod", true},
               {"CpuCfsQuota", true},
               {"CPUShares", true},
               {"PidsLimit", true},
               {"IPv4Forwarding", false},
               {"Debug", false},
               {"NFd", 0},
               {"NGoroutines", 0},
               {"SystemTime", ""},
               {"LoggingDriver", "json-file"},
               {"CgroupDriver", "cgroupfs"},
               {"CgroupVersion", v2 ? "2" : "1"},
               {"KernelVersion", kernel_version()},
               {"OperatingSystem", os_name()},
               {"OSType", "linux"},
               {"Architecture", "x86_64"},
               {"NCPU", ::sysconf(_SC_NPROCESSORS_ONLN)},
               {"MemTotal", static_cast<int64_t>(si.totalram) * si.mem_unit},
               {"IndexServerAddress", "https://index.docker.io/v1/"},
               {"RegistryConfig", {{"IndexConfigs", json::object()}, {"InsecureRegistryCIDRs", json::array()}}},
               {"Name", host},
               {"Labels", json::array()},
               {"ExperimentalBuild", false},
               {"ServerVersion", o.version},
               {"Runtimes", {{"berth-runtime", {{"path", "berth-runtime"}}}, {"runc", {{"path", "runc"}}}}},
               {"DefaultRuntime", "berth-runtime"},
               {"Swarm", {{"LocalNodeState", "inactive"}, {"NodeID", ""}, {"NodeAddr", ""}, {"ControlAvailable", false}}},
               {"LiveRestoreEnabled", true},
               {"Isolation", ""},
               {"InitBinary", "berth-init"},
               {"SecurityOptions", json::array({"name=seccomp,profile=builtin"})},
               {"Warnings", json::array()}});
}

void df(Exchange& x) {
  auto& e = *x.engine;
  json images = json::array(), containers = json::array(), volumes = json::array();
  int64_t layers = 0;
  for (auto& img : e.images().list()) {
    images.push_back(engine::image_summary(e.images(), img));
    layers += img.size;
  }
  int64_t now = ::time(nullptr);
  auto all = e.list({.all = true});
  for (auto& c : all) containers.push_back(engine::container_summary(c, now));
  for (auto& v : e.volumes().list()) {
    json j = engine::volume_view(v);
    int refs = 0;
    for (auto& c : all)
      for (auto& m : c.mounts) refs += m.type == "volume" && m.name == v.name;
    j["UsageData"] = {{"Size", -1}, {"RefCount", refs}};
    volumes.push_back(j);
  }
  x.json(200, {{"LayersSize", layers},
               {"Images", images},
               {"Containers", containers},
               {"Volumes", volumes},
               {"BuildCache", json::array()}});
}

}  // namespace

void add_system_routes(Router& r) {
  r.add("GET", "/_ping", ping);
  r.add("GET", "/version", version);
  r.add("GET", "/info", info);
  r.add("GET", "/system/df", df);
}

}  // namespace berth::api
