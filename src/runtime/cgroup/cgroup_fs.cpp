// The cgroupfs driver: one directory per hierarchy the container needs.
// The container gets a dir in every mounted controller hierarchy (engines
// read metrics from them), but only the files the resources ask for are
// written, each once; mountinfo is read once per process.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

namespace {

const std::map<std::string, std::string>& own_cgroups() {
  static const std::map<std::string, std::string> own = parse_proc_cgroup(fs::read_file("/proc/self/cgroup"));
  return own;
}

// The dir under which the container's path components go in hierarchy h.
std::string hierarchy_base(const Hierarchy& h, bool relative) {
  if (!relative) return h.mountpoint;
  std::string key = h.v2 ? "" : !h.controllers.empty() ? h.controllers[0] : "name=" + h.name;
  auto it = own_cgroups().find(key);
  if (it == own_cgroups().end())
    fail("linux.cgroupsPath: relative path, but this process is in no cgroup of " + h.mountpoint,
         ErrorKind::FailedPrecondition);
  std::string own = it->second;
  if (h.root != "/" && own.starts_with(h.root)) own = own.substr(h.root.size());
  if (own.empty() || own == "/") return h.mountpoint;
  return h.mountpoint + own;
}

std::string join_components(const std::vector<std::string>& c, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + c[i];
  return out;
}

std::string first_field_for(const Plan& plan, const std::string& controller, bool v2) {
  for (const auto& w : plan)
    if (w.v2 == v2 && w.controller == controller) return w.field;
  return "cgroup";
}

bool plan_writes(const Plan& plan, const char* controller, const char* file) {
  for (const auto& w : plan)
    if (!w.v2 && w.controller == controller && w.file == file) return true;
  return false;
}

void write_one(const std::string& dir, const Write& w) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) throw_errno(w.field + ": open cgroup " + dir);
  write_control(dfd.get(), dir, w);
}

// A cgroup that holds processes already is someone else's: another
// container's with the same cgroupsPath, or one a crash left running.
// Joining it would let `delete` of either container kill the other's
// processes (runc then warns and leaves them; refusing keeps one owner).
void refuse_if_in_use(const std::string& dir) {
  std::vector<pid_t> pids;
  collect_pids(dir, pids);
  if (pids.empty()) return;
  fail("cgroup " + dir + " already holds processes (pid " + std::to_string(pids.front()) +
           (pids.size() > 1 ? " and " + std::to_string(pids.size() - 1) + " more" : "") +
           "): a container's cgroup is not shared with another container or with what a crash left",
       ErrorKind::FailedPrecondition);
}

}  // namespace

// Every dir on the path, from the top (the leaf-first try failed: a parent
// is missing, or the leaf exists).
void FsCgroup::make_parents_and_leaf(const std::string& base, std::vector<bool>& made) {
  // A concurrent destroy of a sibling may remove a shared parent between our
  // mkdirs (a parent the sibling made under an explicit cgroupsPath, or
  // /berth under an older berth-runtime, which removed it when it emptied
  // it); then start again from the top.
  for (int attempt = 0;; ++attempt) {
    bool retry = false;
    for (size_t i = 0; i < components.size(); ++i) {
      std::string dir = base + join_components(components, i + 1);
      if (::mkdir(dir.c_str(), 0755) == 0) {
        made[i] = true;
        // The shared /berth parent of default paths is not ours to remove:
        // like Docker's /docker it stays, so the next container does not
        // pay a mkdir + rmdir (and cpuset set-up) per hierarchy again.
        if (!(default_path && i == 0)) created.push_back(dir);
      } else if (errno == ENOENT && attempt < 5) {
        retry = true;
        break;
      } else if (errno != EEXIST) {
        throw_errno("create cgroup " + dir);
      }
    }
    if (!retry) break;
  }
}

void FsCgroup::make_hierarchy_dir(const Hierarchy& h, const std::string& key, bool creating,
                                  const std::set<std::string>& enable, const Plan& plan) {
  const std::string base = hierarchy_base(h, relative);
  const std::string leaf = base + join_components(components, components.size());
  const bool cpuset = !h.v2 && std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end();
  std::vector<bool> made(components.size(), false);
  // The leaf first: its parents (/berth) usually exist, and a mkdir that
  // fails with EEXIST still costs a path walk, once per hierarchy.
  if (components.size() > 1 && ::mkdir(leaf.c_str(), 0755) == 0) {
    made.back() = true;
    created.push_back(leaf);
  } else {
    make_parents_and_leaf(base, made);
    if (creating && !made.back() && !adopt) refuse_if_in_use(leaf);
  }

  if (cpuset) {
    // v1 cpuset dirs start empty and refuse tasks (ENOSPC) until cpus and
    // mems are set: give each dir on the path its parent's values, except
    // the leaf values the config sets itself (written once, by the plan).
    // Every dir on the path is checked, not only the ones made here: a
    // concurrent create may have made a shared parent (/berth) and not yet
    // filled it in, and copying its empty value down would fail our join.
    // Writing the same value twice from two creates is harmless.
    std::string cpus = read_control(base + "/cpuset.cpus");
    std::string mems = read_control(base + "/cpuset.mems");
    for (size_t i = 0; i < components.size(); ++i) {
      std::string dir = base + join_components(components, i + 1);
      bool is_leaf = i + 1 == components.size();
      std::string have_cpus = made[i] ? "" : read_control(dir + "/cpuset.cpus");
      std::string have_mems = made[i] ? "" : read_control(dir + "/cpuset.mems");
      if (have_cpus.empty() && !(is_leaf && plan_writes(plan, "cpuset", "cpuset.cpus")))
        write_one(dir, Write{"cpuset", "cpuset.cpus", cpus, "cpuset.cpus of cgroup " + dir, "", ""});
      if (have_mems.empty() && !(is_leaf && plan_writes(plan, "cpuset", "cpuset.mems")))
        write_one(dir, Write{"cpuset", "cpuset.mems", mems, "cpuset.mems of cgroup " + dir, "", ""});
      if (!have_cpus.empty()) cpus = have_cpus;
      if (!have_mems.empty()) mems = have_mems;
    }
  }

  if (h.v2 && !enable.empty()) {
    // Controllers used in the leaf must be enabled in every ancestor's
    // cgroup.subtree_control, from the hierarchy base down.
    for (size_t i = 0; i < components.size(); ++i) {
      std::string dir = base + join_components(components, i);
      std::set<std::string> missing = enable;
      if (i == 0 || !made[i - 1]) {
        std::string have = read_control(dir + "/cgroup.subtree_control");
        size_t s = 0;
        while (s < have.size()) {
          size_t e = have.find(' ', s);
          if (e == std::string::npos) e = have.size();
          missing.erase(have.substr(s, e - s));
          s = e + 1;
        }
      }
      if (missing.empty()) continue;
      std::string value;
      for (const auto& c : missing) value += (value.empty() ? "+" : " +") + c;
      write_one(dir, Write{"", "cgroup.subtree_control", value, first_field_for(plan, *missing.begin(), true), "", ""});
    }
    v2_controllers.insert(enable.begin(), enable.end());
  }

  if (h.v2) {
    dirs[""] = leaf;
  } else {
    for (const auto& c : h.controllers) dirs[c] = leaf;
  }
  (void)key;
}

// Whether the cgroup has (or, on update, needs) a directory in the v2
// hierarchy: always when one is mounted (on a hybrid host too, as runc: a
// container left in the v2 root would see, through its cgroup namespace
// and a "cgroup" mount, the host's whole v2 tree and every host pid in
// it), and on update for a v2 resource or the v2 device filter.
bool wants_v2_dir(const HostCgroups& host, const FullPlan& fp, bool creating) {
  bool need = fp.v2_devices || (creating && host.v2);
  for (const auto& w : fp.writes) need |= w.v2;
  return need;
}

void FsCgroup::apply(const oci::LinuxResources* r, bool creating) {
  const auto& host = this->host ? *this->host : host_cgroups();
  static const oci::LinuxResources kNone;
  const oci::LinuxResources& res = r ? *r : kNone;

  uint64_t current_limit = UINT64_MAX;
  if (!creating && res.memory && res.memory->limit && res.memory->swap && dirs.count("memory") &&
      host.v1_for("memory")) {
    current_limit = std::stoull(read_control(dirs.at("memory") + "/memory.limit_in_bytes"));
  }
  FullPlan fp = plan_resources(host, res, current_limit);

  // runc's checkBeforeUpdate: refuse a new limit below what is in use now
  // rather than have the kernel reclaim or OOM-kill to get under it.
  if (!creating && res.memory && res.memory->check_before_update.value_or(false) &&
      res.memory->limit.value_or(0) > 0) {
    std::string usage_file = dirs.count("memory") ? dirs.at("memory") + "/memory.usage_in_bytes"
                             : dirs.count("")     ? dirs.at("") + "/memory.current"
                                                  : "";
    if (!usage_file.empty()) {
      uint64_t usage = std::stoull(read_control(usage_file));
      if (static_cast<uint64_t>(*res.memory->limit) < usage)
        fail(res_field("memory.limit") + ": " + std::to_string(*res.memory->limit) +
                 " is below the current usage " + std::to_string(usage) + " (memory.checkBeforeUpdate)",
             ErrorKind::FailedPrecondition);
    }
  }

  std::set<std::string> v1_needed;
  std::set<std::string> v2_enable;
  const bool need_v2 = wants_v2_dir(host, fp, creating);
  for (const auto& w : fp.writes) {
    if (w.v2) {
      if (!w.controller.empty()) v2_enable.insert(w.controller);
    } else {
      v1_needed.insert(w.controller);
    }
  }
  if (creating) {
    // The init joins its cgroupsPath in every mounted controller hierarchy,
    // limits or not, as runc and crun do: engines (containerd's shim, Docker)
    // read metrics and OOM events from the init's own cgroups, and a
    // container left in its caller's memory cgroup would report, and be
    // charged with, the whole caller's usage (tests/e2e/FINDINGS.md F3).
    // A mounted v2 hierarchy is joined too (wants_v2_dir).
    for (const auto& h : host.v1)
      if (!h.controllers.empty()) v1_needed.insert(h.controllers.front());
  }

  // On update, tasks already running must join dirs made now.
  std::vector<pid_t> running;
  if (!creating) running = pids();

  std::vector<std::string> new_dirs;
  for (const auto& c : v1_needed) {
    if (dirs.count(c)) continue;
    const Hierarchy* h = host.v1_for(c);
    if (!h) fail("cgroup: no v1 hierarchy for " + c, ErrorKind::Unsupported);
    make_hierarchy_dir(*h, c, creating, {}, fp.writes);
    new_dirs.push_back(dirs.at(c));
  }
  if (need_v2) {
    std::set<std::string> missing;
    for (const auto& c : v2_enable)
      if (!v2_controllers.count(c)) missing.insert(c);
    bool had = dirs.count("");
    if (!had || !missing.empty()) {
      make_hierarchy_dir(*host.v2, "", creating, missing, fp.writes);
      if (!had) new_dirs.push_back(dirs.at(""));
    }
  }
  for (const auto& d : new_dirs)
    for (pid_t p : running) {
      Write w{"", "cgroup.procs", std::to_string(p), "cgroup " + d, "", ""};
      try {
        write_one(d, w);
      } catch (const Error& e) {
        if (e.errno_value() != ESRCH) throw;
      }
    }

  // Execute the plan, one dir fd per target dir.
  std::map<std::string, UniqueFd> fds;
  OpenFile last;
  for (const auto& w : fp.writes) {
    const std::string& dir = w.v2 ? dirs.at("") : dirs.at(w.controller);
    auto it = fds.find(dir);
    if (it == fds.end()) {
      UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd) throw_errno(w.field + ": open cgroup " + dir);
      it = fds.emplace(dir, std::move(fd)).first;
    }
    write_control(it->second.get(), dir, w, &last);
  }
  if (fp.v2_devices) {
    attach_device_filter(dirs.at(""), fp.device_rules);
    v2_devices = true;
  }
}

void FsCgroup::find_leaves() {
  const auto& host = this->host ? *this->host : host_cgroups();
  auto existing_leaf = [&](const Hierarchy& h) -> std::string {
    std::string leaf = hierarchy_base(h, relative) + join_components(components, components.size());
    return fs::is_dir(leaf) ? leaf : "";
  };
  for (const auto& h : host.v1)
    if (!h.controllers.empty())
      if (std::string leaf = existing_leaf(h); !leaf.empty())
        for (const auto& c : h.controllers) dirs[c] = leaf;
  if (host.v2)
    if (std::string leaf = existing_leaf(*host.v2); !leaf.empty()) dirs[""] = leaf;
}

std::vector<std::string> FsCgroup::distinct_dirs() const {
  std::vector<std::string> out;
  for (const auto& [c, d] : dirs)
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  return out;
}

std::string FsCgroup::path_for(const std::string& controller) const {
  auto it = dirs.find(controller);
  return it == dirs.end() ? std::string() : it->second;
}

void FsCgroup::add_process(pid_t pid) {
  std::string value = std::to_string(pid);
  for (const auto& d : distinct_dirs()) {
    UniqueFd dfd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) throw_errno("add pid " + value + " to cgroup " + d);
    write_control(dfd.get(), d, Write{"", "cgroup.procs", value, "add pid " + value + " to cgroup", "", ""});
  }
}

std::vector<std::string> FsCgroup::v1_dirs() const {
  std::vector<std::string> out;
  for (const auto& d : distinct_dirs())
    if (!(dirs.count("") && dirs.at("") == d)) out.push_back(d);
  return out;
}

CgroupJoin FsCgroup::open_join() const {
  CgroupJoin j;
  for (const auto& d : distinct_dirs()) {
    bool v2 = dirs.count("") && dirs.at("") == d;
    std::string file = v2 ? d : d + "/tasks";
    UniqueFd fd(::open(file.c_str(), (v2 ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC));
    if (!fd) throw_errno("open cgroup " + file);
    if (v2)
      j.v2_dir = std::move(fd);
    else
      j.v1.push_back({std::move(fd), d});
  }
  return j;
}

void FsCgroup::update(const oci::LinuxResources& resources) {
  try {
    apply(&resources, false);
  } catch (Error& e) {
    throw e.wrap("update cgroup " + path);
  }
}

std::string FsCgroup::freezer_dir(bool* v2) const {
  if (auto it = dirs.find("freezer"); it != dirs.end()) {
    *v2 = false;
    return it->second;
  }
  if (auto it = dirs.find(""); it != dirs.end()) {
    *v2 = true;
    return it->second;
  }
  fail("cgroup " + path + ": no freezer (no v1 freezer controller and no cgroup v2 dir)", ErrorKind::Unsupported);
}

void FsCgroup::freeze() {
  bool v2 = false;
  std::string d = freezer_dir(&v2);
  v2 ? v2_freeze(d, true) : v1_freeze(d, true);
}

void FsCgroup::thaw() {
  bool v2 = false;
  std::string d = freezer_dir(&v2);
  v2 ? v2_freeze(d, false) : v1_freeze(d, false);
}

bool FsCgroup::frozen() const {
  bool v2 = false;
  std::string d = freezer_dir(&v2);
  return v2 ? v2_frozen(d) : v1_frozen(d);
}

std::vector<pid_t> FsCgroup::pids() const {
  const std::string d = primary_dir();
  std::vector<pid_t> out;
  if (!d.empty()) collect_pids(d, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {
uint64_t read_u64(const std::string& path) {
  try {
    std::string s = read_control(path);
    if (s == "max") return UINT64_MAX;
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}
uint64_t read_key(const std::string& path, const std::string& key) {
  try {
    std::string s = "\n" + read_control(path);
    auto pos = s.find("\n" + key + " ");
    if (pos == std::string::npos) return 0;
    return std::stoull(s.substr(pos + key.size() + 2));
  } catch (...) {
    return 0;
  }
}
}  // namespace

CgroupStats FsCgroup::stats() const {
  CgroupStats s;
  bool v1_memory = dirs.count("memory");
  std::string v2 = path_for("");
  if (v1_memory) {
    std::string d = dirs.at("memory");
    s.memory_usage = read_u64(d + "/memory.usage_in_bytes");
    s.memory_limit = read_u64(d + "/memory.limit_in_bytes");
    s.oom_kills = read_key(d + "/memory.oom_control", "oom_kill");
  } else if (!v2.empty() && v2_controllers.count("memory")) {
    s.memory_usage = read_u64(v2 + "/memory.current");
    s.memory_limit = read_u64(v2 + "/memory.max");
    s.oom_kills = read_key(v2 + "/memory.events", "oom_kill");
  }
  if (dirs.count("pids")) s.pids_current = read_u64(dirs.at("pids") + "/pids.current");
  else if (!v2.empty() && v2_controllers.count("pids")) s.pids_current = read_u64(v2 + "/pids.current");
  else s.pids_current = pids().size();
  if (dirs.count("cpuacct")) s.cpu_usage_ns = read_u64(dirs.at("cpuacct") + "/cpuacct.usage");
  else if (!v2.empty()) s.cpu_usage_ns = read_key(v2 + "/cpu.stat", "usage_usec") * 1000;
  return s;
}

std::string FsCgroup::primary_dir() const {
  // Every task is in every dir we made, so one hierarchy tells all.
  for (const char* key : {"freezer", "", "pids"})
    if (auto it = dirs.find(key); it != dirs.end()) return it->second;
  return dirs.empty() ? std::string() : dirs.begin()->second;
}

void FsCgroup::destroy(bool kill_remaining) {
  // The usual case first: the container is gone, and removing one of its
  // dirs (which fails while a task or a sub-cgroup is left) proves it
  // without listing cgroup.procs and sub-dirs.
  const std::string primary = primary_dir();
  const bool empty = !primary.empty() && (::rmdir(primary.c_str()) == 0 || errno == ENOENT);
  if (kill_remaining && !empty) {
    // cgroup.kill where the v2 dir is the one that tells all (primary_dir);
    // on a hybrid host the v1 freezer is, as before it had a v2 dir.
    std::string v2 = primary == path_for("") ? primary : "";
    bool killed = false;
    if (!v2.empty() && ::access((v2 + "/cgroup.kill").c_str(), W_OK) == 0) {
      try {
        write_one(v2, Write{"", "cgroup.kill", "1", "kill cgroup", "", ""});
        killed = true;
      } catch (const Error& e) {
        if (e.errno_value() != ENOENT) throw;
      }
    }
    if (!killed && !pids().empty()) {
      // Freeze first so nothing forks between listing and killing; a frozen
      // task dies of SIGKILL once thawed.
      bool froze = false;
      try {
        freeze();
        froze = true;
      } catch (const Error&) {
      }
      for (pid_t p : pids()) ::kill(p, SIGKILL);
      if (froze) {
        try {
          thaw();
        } catch (const Error&) {
        }
      }
    }
  }
  const std::vector<std::string> leaves = distinct_dirs();
  for (const auto& d : leaves) {
    try {
      remove_cgroup_dir(d, 2000);
    } catch (Error& e) {
      if (e.errno_value() == EBUSY)
        throw Error("delete cgroup " + path + ": " + d + " still has running tasks", ErrorKind::FailedPrecondition,
                    EBUSY);
      throw;
    }
  }
  // Parents we made, deepest first (the leaves are gone already); shared
  // ones still in use stay. Each dir is tried once.
  std::set<std::string> tried(leaves.begin(), leaves.end());
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (!tried.insert(*it).second) continue;
    if (::rmdir(it->c_str()) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY)
      throw_errno("delete cgroup " + *it);
  }
  // The shared /berth parent of default paths stays (see make_hierarchy_dir).
}

}  // namespace berth::runtime::cgroups

namespace berth::runtime {

CgroupJoin open_v1_join(const std::vector<std::string>& v1_dirs) {
  CgroupJoin j;
  for (const auto& d : v1_dirs) {
    std::string file = d + "/tasks";
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno("open cgroup " + file);
    j.v1.push_back({std::move(fd), d});
  }
  return j;
}

CgroupJoin child_copy(const CgroupJoin& parent) {
  CgroupJoin j;
  if (parent.v2_dir) j.v2_dir.reset(parent.v2_dir.get());
  for (const auto& t : parent.v1) j.v1.push_back({UniqueFd(t.fd.get()), t.dir});
  return j;
}

void join_self(CgroupJoin& join) {
  // "0" = the calling thread: the one cgroup write that skips
  // cgroup_threadgroup_rwsem (see CgroupJoin). No allocation on success: this
  // runs in a freshly cloned child.
  for (auto& t : join.v1) {
    ssize_t n;
    do n = ::write(t.fd.get(), "0", 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) throw_errno("join cgroup " + t.dir);
    t.fd.reset();
  }
}

}  // namespace berth::runtime
