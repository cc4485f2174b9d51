// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is
// a transient scope that systemd makes, with the limits systemd knows as
// unit properties, so that systemd, which owns the tree, neither fights
// nor forgets them (on daemon-reload it writes its properties again). The
// rest (devices, hugetlb, swappiness, throttles, cpusets on v1, ...) is
// written to the scope's cgroup files by the cgroupfs code, as runc does.
//
// A scope needs a process: it is made once the init exists (cgroup.hpp,
// create_systemd), and systemd moves the init into it.
#include <signal.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"
#include "runtime/cgroup/systemd_bus.hpp"

namespace berth::runtime {

namespace cgroups {

namespace {

const std::string kField = "linux.cgroupsPath";

struct ScopeName {
  std::string slice;  // "system.slice"
  std::string unit;   // "cri-containerd-<id>.scope"
};

ScopeName parse_systemd_path(const std::string& path, const std::string& container_id) {
  std::string p = path.empty() ? "system.slice:berth:" + container_id : path;
  size_t a = p.find(':'), b = a == std::string::npos ? a : p.find(':', a + 1);
  if (b == std::string::npos || p.find(':', b + 1) != std::string::npos)
    fail(kField + " \"" + path + "\": with --systemd-cgroup the path is \"slice:prefix:name\" (like "
         "system.slice:berth:web)");
  std::string slice = p.substr(0, a), prefix = p.substr(a + 1, b - a - 1), name = p.substr(b + 1);
  if (slice.empty()) slice = "system.slice";
  if (name.empty()) fail(kField + " \"" + path + "\": the name after the last ':' is empty");
  if (name.ends_with(".slice"))
    fail(kField + " \"" + path + "\": a slice as the container's own unit is not supported (name a scope)",
         ErrorKind::Unsupported);
  ScopeName out{slice, (prefix.empty() ? name : prefix + "-" + name) + ".scope"};
  if (!systemd::valid_unit_name(out.unit))
    fail(kField + " \"" + path + "\": \"" + out.unit + "\" is not a valid systemd unit name");
  systemd::expand_slice(slice, kField);  // validates
  return out;
}

uint64_t or_infinity(int64_t v) { return v < 0 ? UINT64_MAX : static_cast<uint64_t>(v); }

}  // namespace

std::vector<systemd::Property> systemd_resource_properties(const HostCgroups& host, const oci::LinuxResources& r) {
  std::vector<systemd::Property> props;
  if (r.memory) {
    const bool v2 = host.v2_has("memory");
    const auto& m = *r.memory;
    if (m.limit && *m.limit != 0) props.push_back({v2 ? "MemoryMax" : "MemoryLimit", or_infinity(*m.limit)});
    if (v2 && m.reservation && *m.reservation != 0) props.push_back({"MemoryLow", or_infinity(*m.reservation)});
    // OCI's swap is memory+swap; systemd's MemorySwapMax is the swap alone.
    if (v2 && m.swap && *m.swap != 0) {
      if (*m.swap < 0) props.push_back({"MemorySwapMax", UINT64_MAX});
      else if (m.limit && *m.limit > 0 && *m.swap >= *m.limit)
        props.push_back({"MemorySwapMax", static_cast<uint64_t>(*m.swap - *m.limit)});
    }
  }
  if (r.cpu) {
    const bool v2 = host.v2_has("cpu");
    const auto& c = *r.cpu;
    if (c.shares && *c.shares)
      props.push_back(v2 ? systemd::Property{"CPUWeight", cpu_shares_to_weight(*c.shares)}
                         : systemd::Property{"CPUShares", *c.shares});
    if (c.period && *c.period) props.push_back({"CPUQuotaPeriodUSec", *c.period});
    if (c.quota && *c.quota != 0) {
      uint64_t per_sec = UINT64_MAX;
      if (*c.quota > 0) {
        uint64_t period = c.period && *c.period ? *c.period : 100000;
        per_sec = static_cast<uint64_t>(*c.quota) * 1'000'000 / period;
        // systemd keeps this at 10 ms granularity: round up, as runc does,
        // so the limit is never tighter than asked.
        if (per_sec % 10'000) per_sec = (per_sec / 10'000 + 1) * 10'000;
      }
      props.push_back({"CPUQuotaPerSecUSec", per_sec});
    }
    if (host.v2_has("cpuset")) {
      if (!c.cpus.empty()) props.push_back({"AllowedCPUs", systemd::cpuset_mask(c.cpus, res_field("cpu.cpus"))});
      if (!c.mems.empty())
        props.push_back({"AllowedMemoryNodes", systemd::cpuset_mask(c.mems, res_field("cpu.mems"))});
    }
  }
  if (r.pids && r.pids->limit != 0) props.push_back({"TasksMax", or_infinity(r.pids->limit)});
  if (r.block_io && r.block_io->weight)
    props.push_back(host.v2_has("io") ? systemd::Property{"IOWeight", blkio_weight_to_io_weight(*r.block_io->weight)}
                                      : systemd::Property{"BlockIOWeight", uint64_t{*r.block_io->weight}});
  return props;
}

namespace {

// org.systemd.property.<Name> annotations (runc's): "true"/"false"/"yes"/
// "no" as booleans, digits as numbers, anything else as a string.
std::vector<systemd::Property> annotation_properties(const std::map<std::string, std::string>& annotations) {
  static const std::string prefix = "org.systemd.property.";
  std::vector<systemd::Property> props;
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(prefix)) continue;
    std::string name = key.substr(prefix.size());
    if (name.empty() || name == "PIDs" || name == "Slice" || name == "Description")
      fail("annotations." + key + ": not a property the config may set");
    if (value == "true" || value == "yes") props.push_back({name, true});
    else if (value == "false" || value == "no") props.push_back({name, false});
    else if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos)
      props.push_back({name, static_cast<uint64_t>(std::stoull(value))});
    else props.push_back({name, value});
  }
  return props;
}

// A scope and the cgroupfs dirs at its path (the files systemd has no
// property for are written there, and the fs driver lists, freezes and
// reads stats as for any container).
class SystemdCgroup final : public Cgroup {
 public:
  std::unique_ptr<FsCgroup> fs;
  std::string unit;

  std::string to_json() const override {
    auto j = nlohmann::json::parse(fs->to_json());
    j["systemdUnit"] = unit;
    return j.dump();
  }
  void add_process(pid_t pid) override { fs->add_process(pid); }
  CgroupJoin open_join() const override { return fs->open_join(); }
  std::vector<std::string> v1_dirs() const override { return fs->v1_dirs(); }
  void update(const oci::LinuxResources& r) override {
    auto props = systemd_resource_properties(host_cgroups(), r);
    if (!props.empty()) {
      try {
        systemd::Bus::connect().set_unit_properties(unit, props);
      } catch (Error& e) {
        throw e.wrap("update " + unit);
      }
    }
    fs->update(r);
  }
  void freeze() override { fs->freeze(); }
  void thaw() override { fs->thaw(); }
  bool frozen() const override { return fs->frozen(); }
  std::vector<pid_t> pids() const override { return fs->pids(); }
  CgroupStats stats() const override { return fs->stats(); }
  std::string path_for(const std::string& c) const override { return fs->path_for(c); }
  void destroy(bool kill_remaining) override {
    // Its processes killed first (a stop would give them TimeoutStopSec),
    // then the unit stopped: systemd's stop job ends once the scope is
    // empty (its processes reaped, which a slow reaper can make take a
    // while), and systemd removes its own dirs; the fs driver the rest.
    if (kill_remaining) kill_all();
    stop_scope(unit);
    fs->destroy(kill_remaining);
  }

  void kill_all() {
    std::vector<pid_t> pids = fs->pids();
    if (pids.empty()) return;
    // Frozen, nothing forks between listing and killing; a frozen task
    // dies of SIGKILL once thawed.
    bool froze = false;
    try {
      fs->freeze();
      froze = true;
      pids = fs->pids();
    } catch (const Error&) {
    }
    for (pid_t p : pids) ::kill(p, SIGKILL);
    if (froze) {
      try {
        fs->thaw();
      } catch (const Error&) {
      }
    }
  }

  static void stop_scope(const std::string& unit) {
    try {
      auto bus = systemd::Bus::connect();
      bus.stop_unit(unit);
      bus.reset_failed_unit(unit);
    } catch (Error& e) {
      // Nothing of the container is left in it: say so and go on.
      if (e.kind() == ErrorKind::Unsupported) return;
      throw e.wrap("stop " + unit);
    }
  }
};

std::unique_ptr<FsCgroup> fs_at(const ScopeName& n, const std::string& path) {
  auto fs = std::make_unique<FsCgroup>();
  fs->layout = host_cgroups().layout;
  fs->path = path;
  std::string slice_path = systemd::expand_slice(n.slice, kField);
  for (size_t s = 1; s < slice_path.size();) {
    size_t e = slice_path.find('/', s);
    if (e == std::string::npos) e = slice_path.size();
    fs->components.push_back(slice_path.substr(s, e - s));
    s = e + 1;
  }
  fs->components.push_back(n.unit);
  fs->adopt = true;  // systemd made the leaf, with our init in it
  return fs;
}

}  // namespace

}  // namespace cgroups

bool Cgroup::is_systemd_path(const std::string& path) {
  return !path.empty() && path[0] != '/' && std::count(path.begin(), path.end(), ':') == 2;
}

void Cgroup::check_systemd() {
  try {
    systemd::Bus::connect();
  } catch (Error& e) {
    throw e.wrap("--systemd-cgroup");
  }
}

std::unique_ptr<Cgroup> Cgroup::create_systemd(const std::string& path, const std::string& container_id,
                                               const oci::LinuxResources* resources, pid_t pid,
                                               const std::map<std::string, std::string>& annotations) {
  using namespace cgroups;
  ScopeName n = parse_systemd_path(path, container_id);
  static const oci::LinuxResources kNone;
  const oci::LinuxResources& r = resources ? *resources : kNone;
  std::vector<systemd::Property> props = {
      {"Description", "berth-runtime container " + container_id},
      {"Slice", n.slice},
      {"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}},
      // Ordered after nothing, stopped by nothing but its owner.
      {"DefaultDependencies", false},
      // Like runc: the container may manage its own sub-cgroups (systemd
      // in a container, cgroup namespaces); annotations may say no.
      {"Delegate", true},
      {"MemoryAccounting", true},
      {"CPUAccounting", true},
      {"TasksAccounting", true},
      {host_cgroups().v2_has("io") ? "IOAccounting" : "BlockIOAccounting", true},
  };
  for (auto& p : systemd_resource_properties(host_cgroups(), r)) props.push_back(std::move(p));
  for (auto& p : annotation_properties(annotations)) props.push_back(std::move(p));
  auto bus = systemd::Bus::connect();
  try {
    bus.start_transient_unit(n.unit, props, pid);
  } catch (Error& e) {
    bus.reset_failed_unit(n.unit);
    throw e.wrap("--systemd-cgroup: start " + n.unit);
  }
  auto cg = std::make_unique<SystemdCgroup>();
  cg->unit = n.unit;
  cg->fs = fs_at(n, path.empty() ? n.slice + ":berth:" + container_id : path);
  try {
    cg->fs->apply(&r, true);
  } catch (...) {
    // The init dies with the failed create anyway (spawn_init): now, so
    // that the scope's stop does not wait for it (a pid namespace's init
    // ignores the SIGTERM a stop sends).
    ::kill(pid, SIGKILL);
    try {
      cg->destroy(true);
    } catch (const Error& e) {
      log::warn(std::string("undo ") + n.unit + ": " + e.what());
    }
    throw;
  }
  return cg;
}

std::unique_ptr<Cgroup> cgroups::systemd_from_json(const std::string& json, std::unique_ptr<FsCgroup> fs) {
  auto cg = std::make_unique<SystemdCgroup>();
  try {
    cg->unit = nlohmann::json::parse(json).at("systemdUnit").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cgroup state: ") + e.what(), ErrorKind::Corrupt);
  }
  if (!systemd::valid_unit_name(cg->unit)) throw Error("cgroup state: bad unit \"" + cg->unit + "\"", ErrorKind::Corrupt);
  fs->adopt = true;
  cg->fs = std::move(fs);
  return cg;
}

void Cgroup::stop_systemd_scope(const std::string& path, const std::string& container_id) {
  cgroups::SystemdCgroup::stop_scope(cgroups::parse_systemd_path(path, container_id).unit);
}

}  // namespace berth::runtime
