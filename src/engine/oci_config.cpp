#include "engine/oci_config.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "engine/user_lookup.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/default_seccomp.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.is_object() && j.contains(key) && j[key].is_array())
    for (auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string env_key(const std::string& e) { return e.substr(0, e.find('=')); }

// Image env, then the container's (which wins by key), as Docker merges.
std::vector<std::string> merged_env(const Container& c, const json& image_config, const ResolvedUser& u) {
  std::vector<std::string> env = strings(image_config, "Env");
  for (const auto& e : c.config.env) {
    auto k = env_key(e);
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& x) { return env_key(x) == k; });
    if (it != env.end())
      *it = e;
    else
      env.push_back(e);
  }
  auto has = [&](const char* k) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& x) { return env_key(x) == k; });
  };
  if (!has("PATH")) env.insert(env.begin(), kDefaultPath);
  if (!has("HOSTNAME")) env.push_back("HOSTNAME=" + (c.config.hostname.empty() ? c.id.substr(0, 12) : c.config.hostname));
  if (c.config.tty && !has("TERM")) env.push_back("TERM=xterm");
  if (!has("HOME")) env.push_back("HOME=" + u.home);
  return env;
}

std::string upper_cap(const std::string& name) {
  std::string n = name;
  for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (n != "ALL" && n.rfind("CAP_", 0) != 0) n = "CAP_" + n;
  return n;
}

// "All" is what this process may hand on: its bounding set (as containerd
// and Podman do). A cap outside it cannot be raised, and asking for it made
// every --privileged start fail with EPERM on hosts that lack one
// (CAP_SYS_RESOURCE here).
std::vector<std::string> all_caps() {
  std::vector<std::string> out;
  int last = std::min(runtime::last_known_capability(), runtime::kernel_last_capability());
  for (int i = 0; i <= last; ++i)
    if (::prctl(PR_CAPBSET_READ, i) == 1) out.push_back(runtime::capability_name(i));
  return out;
}

const std::map<std::string, std::string>& rlimit_names() {
  static const std::map<std::string, std::string> m = {
      {"core", "RLIMIT_CORE"},       {"cpu", "RLIMIT_CPU"},         {"data", "RLIMIT_DATA"},
      {"fsize", "RLIMIT_FSIZE"},     {"locks", "RLIMIT_LOCKS"},     {"memlock", "RLIMIT_MEMLOCK"},
      {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},     {"nofile", "RLIMIT_NOFILE"},
      {"nproc", "RLIMIT_NPROC"},     {"rss", "RLIMIT_RSS"},         {"rtprio", "RLIMIT_RTPRIO"},
      {"rttime", "RLIMIT_RTTIME"},   {"sigpending", "RLIMIT_SIGPENDING"}, {"stack", "RLIMIT_STACK"}};
  return m;
}

// A Docker seccomp profile file becomes linux.seccomp: Docker's archMap
// turns into architectures, and rules that need capabilities the container
// lacks ("includes": {"caps": [...]}) are left out, as Docker does.
json seccomp_from_profile(const std::string& text, const std::vector<std::string>& caps) {
  json p = json::parse(text, nullptr, false);
  if (p.is_discarded() || !p.is_object())
    fail("--security-opt seccomp: the profile is not a JSON object");
  if (p.contains("archMap") && !p.contains("architectures")) {
    json arches = json::array();
    for (auto& a : p["archMap"]) {
      if (a.contains("architecture")) arches.push_back(a["architecture"]);
      if (a.contains("subArchitectures"))
        for (auto& s : a["subArchitectures"]) arches.push_back(s);
    }
    p["architectures"] = arches;
  }
  p.erase("archMap");
  p.erase("defaultErrno");
  if (p.contains("syscalls")) {
    json kept = json::array();
    for (auto r : p["syscalls"]) {
      bool ok = true;
      if (r.contains("includes") && r["includes"].contains("caps"))
        for (auto& need : r["includes"]["caps"])
          ok = ok && std::find(caps.begin(), caps.end(), need.get<std::string>()) != caps.end();
      if (r.contains("excludes") && r["excludes"].contains("caps"))
        for (auto& not_with : r["excludes"]["caps"])
          ok = ok && std::find(caps.begin(), caps.end(), not_with.get<std::string>()) == caps.end();
      if (!ok) continue;
      r.erase("includes");
      r.erase("excludes");
      r.erase("comment");
      if (r.contains("name") && !r.contains("names")) {
        r["names"] = json::array({r["name"]});
        r.erase("name");
      }
      kept.push_back(r);
    }
    p["syscalls"] = kept;
  }
  return p;
}

bool security_opt(const HostConfig& h, const std::string& key, std::string* value = nullptr) {
  for (const auto& o : h.security_opt) {
    auto eq = o.find_first_of("=:");
    std::string k = o.substr(0, eq);
    if (k != key) continue;
    if (value) *value = eq == std::string::npos ? "" : o.substr(eq + 1);
    return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& docker_default_caps() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE"};
  return caps;
}

std::vector<std::string> process_args(const ContainerConfig& c, const json& image_config) {
  std::vector<std::string> entry = c.entrypoint ? *c.entrypoint : strings(image_config, "Entrypoint");
  if (entry.size() == 1 && entry[0].empty()) entry.clear();  // --entrypoint ""
  std::vector<std::string> cmd;
  if (c.cmd)
    cmd = *c.cmd;
  else if (!c.entrypoint)
    cmd = strings(image_config, "Cmd");  // a new entrypoint drops the image's Cmd
  std::vector<std::string> args = entry;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) fail("No command specified");
  return args;
}

void merge_image_config(ContainerConfig& c, const json& image_config) {
  if (c.user.empty()) c.user = image_config.value("User", std::string());
  if (c.working_dir.empty()) c.working_dir = image_config.value("WorkingDir", std::string());
  // A set of the names, not a scan per entry: an image's Env is anyone's,
  // and 100 000 entries took a minute to merge by scanning.
  std::unordered_set<std::string> names;
  for (const auto& e : c.env) names.insert(env_key(e));
  for (const auto& e : strings(image_config, "Env"))
    if (names.insert(env_key(e)).second) c.env.push_back(e);
  if (!c.entrypoint || c.entrypoint->empty()) {
    if ((!c.cmd || c.cmd->empty()) && image_config.contains("Cmd")) c.cmd = strings(image_config, "Cmd");
    if (!c.entrypoint && image_config.contains("Entrypoint")) c.entrypoint = strings(image_config, "Entrypoint");
  }
  if (image_config.contains("Labels") && image_config["Labels"].is_object())
    for (auto& [k, v] : image_config["Labels"].items())
      if (v.is_string()) c.labels.emplace(k, v.get<std::string>());
}

std::vector<std::string> effective_caps(const HostConfig& h) {
  if (h.privileged) return all_caps();
  std::vector<std::string> caps = docker_default_caps();
  auto check_name = [](const std::string& n) {
    if (n != "ALL" && !runtime::capability_from_name(n))
      fail("invalid capability: " + n + " (see capabilities(7))");
  };
  for (const auto& d : h.cap_drop) {
    std::string n = upper_cap(d);
    check_name(n);
    if (n == "ALL")
      caps.clear();
    else
      std::erase(caps, n);
  }
  for (const auto& a : h.cap_add) {
    std::string n = upper_cap(a);
    check_name(n);
    if (n == "ALL") return all_caps();
    if (std::find(caps.begin(), caps.end(), n) == caps.end()) caps.push_back(n);
  }
  return caps;
}

void check_ulimits(const HostConfig& h) {
  for (const auto& u : h.ulimits)
    if (!rlimit_names().count(u.name)) fail("invalid ulimit type: " + u.name);
}

std::string build_oci_config(const Container& c, const json& image_config, const OciInputs& in) {
  oci::Spec s = oci::default_spec(false);
  const HostConfig& h = c.host;
  ResolvedUser user = resolve_user(in.rootfs, c.config.user.empty() ? image_config.value("User", std::string())
                                                                     : c.config.user);
  oci::Process& p = *s.process;
  p.terminal = c.config.tty;
  p.args.clear();
  if (h.init) p.args = {"/sbin/berth-init", "--"};
  p.args.push_back(c.path);
  p.args.insert(p.args.end(), c.args.begin(), c.args.end());
  p.env = merged_env(c, image_config, user);
  p.cwd = !c.config.working_dir.empty() ? c.config.working_dir : image_config.value("WorkingDir", std::string());
  if (p.cwd.empty()) p.cwd = "/";
  p.user.uid = user.uid;
  p.user.gid = user.gid;
  p.user.additional_gids = user.additional_gids;
  std::vector<std::string> caps = effective_caps(h);
  // A non-root user keeps only the bounding set, as Docker gives it.
  std::vector<std::string> eff = user.uid == 0 ? caps : std::vector<std::string>{};
  p.capabilities = oci::Capabilities{caps, eff, {}, eff, {}};
  p.rlimits.clear();
  for (const auto& u : h.ulimits) {
    auto it = rlimit_names().find(u.name);
    if (it == rlimit_names().end()) fail("invalid ulimit type: " + u.name);
    p.rlimits.push_back({it->second, static_cast<uint64_t>(u.hard), static_cast<uint64_t>(u.soft)});
  }
  std::string nnp;
  p.no_new_privileges = !h.privileged;
  if (security_opt(h, "no-new-privileges", &nnp)) p.no_new_privileges = nnp.empty() || nnp == "true";
  p.oom_score_adj.reset();

  s.root = {in.rootfs, h.readonly_rootfs};
  s.hostname = c.config.hostname.empty() ? c.id.substr(0, 12) : c.config.hostname;
  s.domainname = c.config.domainname;

  oci::Linux& l = *s.linux;
  l.cgroups_path = in.cgroups_path;
  if (h.network_mode == "host") std::erase_if(l.namespaces, [](const oci::Namespace& n) { return n.type == "network"; });
  if (!h.uid_maps.empty()) {
    // The user namespace first: the others are made by (and owned by) it.
    l.namespaces.insert(l.namespaces.begin(), oci::Namespace{"user", ""});
    for (const auto& m : h.uid_maps) l.uid_mappings.push_back({m.container_id, m.host_id, m.size});
    for (const auto& m : h.gid_maps) l.gid_mappings.push_back({m.container_id, m.host_id, m.size});
  }
  for (auto& n : l.namespaces)
    if (n.type == "network" && !in.netns_path.empty()) n.path = in.netns_path;
  if (h.privileged) {
    l.masked_paths.clear();
    l.readonly_paths.clear();
    for (auto& m : s.mounts)
      if (m.destination == "/sys" || m.destination == "/sys/fs/cgroup") std::erase(m.options, "ro");
    l.resources->devices = {oci::DeviceCgroupRule{true, "a", std::nullopt, std::nullopt, "rwm"}};
  } else {
    l.masked_paths.push_back("/sys/devices/virtual/powercap");
  }
  std::string seccomp;
  bool has_seccomp_opt = security_opt(h, "seccomp", &seccomp);
  if (!h.privileged && !(has_seccomp_opt && seccomp == "unconfined") && h.seccomp_profile_json.empty())
    l.seccomp = runtime::default_seccomp_profile(caps);

  oci::LinuxResources& r = *l.resources;
  if (h.memory > 0 || h.memory_swap != 0) {
    oci::MemoryResources m;
    if (h.memory > 0) m.limit = h.memory;
    if (h.memory_swap == -1)
      m.swap = -1;
    else if (h.memory_swap > 0)
      m.swap = h.memory_swap;
    else if (h.memory > 0)
      m.swap = 2 * h.memory;  // Docker: swap defaults to the memory limit again
    r.memory = m;
  }
  if (h.nano_cpus > 0 || h.cpu_shares > 0) {
    oci::CpuResources cpu;
    if (h.nano_cpus > 0) {
      cpu.period = 100000;
      cpu.quota = h.nano_cpus * 100000 / 1000000000;
    }
    if (h.cpu_shares > 0) cpu.shares = static_cast<uint64_t>(h.cpu_shares);
    r.cpu = cpu;
  }
  if (h.pids_limit > 0) r.pids = oci::PidsResources{h.pids_limit};

  // /etc/hosts, /etc/hostname, /etc/resolv.conf: files of the container's own.
  for (const char* f : {"hosts", "hostname", "resolv.conf"})
    s.mounts.push_back({std::string("/etc/") + f, "bind", in.etc_dir + "/" + f, {"rbind", "rprivate"}, {}, {}});
  if (h.init && !in.init_path.empty())
    s.mounts.push_back({"/sbin/berth-init", "bind", in.init_path, {"bind", "ro"}, {}, {}});
  for (const auto& m : c.mounts) {
    if (m.type == "tmpfs") {
      std::vector<std::string> opts = {"nosuid", "nodev", "noexec"};
      if (!m.mode.empty()) {
        size_t start = 0;
        while (start <= m.mode.size()) {
          size_t comma = m.mode.find(',', start);
          std::string o = m.mode.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          if (o == "exec") std::erase(opts, std::string("noexec"));
          else if (!o.empty()) opts.push_back(o);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
      s.mounts.push_back({m.destination, "tmpfs", "tmpfs", opts, {}, {}});
      continue;
    }
    std::vector<std::string> opts = {"rbind", "rprivate"};
    if (!m.rw) opts.push_back("ro");
    oci::Mount bind{m.destination, "bind", m.source, opts, {}, {}};
    // A volume is the container's own: in a user namespace it is seen
    // through the container's mapping, so its files keep their true owners
    // on disk and any container, mapped or not, can share it. A bind mount
    // of a host path is not: the host's files stay the host's.
    if (m.type == "volume")
      for (const auto& id : h.uid_maps) bind.uid_mappings.push_back({id.container_id, id.host_id, id.size});
    if (m.type == "volume")
      for (const auto& id : h.gid_maps) bind.gid_mappings.push_back({id.container_id, id.host_id, id.size});
    s.mounts.push_back(bind);
  }

  std::string text = oci::to_json(s);
  if (!h.seccomp_profile_json.empty() && !h.privileged) {
    json j = json::parse(text);
    j["linux"]["seccomp"] = seccomp_from_profile(h.seccomp_profile_json, caps);
    text = json_text(j, 2);
    try {
      oci::parse_spec(text);  // the runtime would refuse it later, less clearly
    } catch (Error& e) {
      throw e.wrap("--security-opt seccomp");
    }
  }
  return text;
}

}  // namespace berth::engine
