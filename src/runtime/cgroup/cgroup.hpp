// Container cgroups on every host layout: pure v1, pure v2 and hybrid (v1
// controllers plus a cgroup2 mount, as on Berth's CI machines). One file per
// controller behind this interface (cgroup_v1_*.cpp, cgroup_v2_*.cpp).
//
// Contract (used by container lifecycle code in container.cpp / init.cpp):
// - Cgroup::create makes the cgroup at `path` in every hierarchy it needs,
//   applies `resources`, and on any failure removes what it made and throws
//   an Error naming the config field ("linux.resources.memory.limit: ...").
//   A resource the host cannot enforce (controller missing) is an
//   Unsupported error naming the field, never silently ignored.
// - The object is saved in the container state (to_json) and reopened by
//   later commands (from_json); it does not remove anything in its
//   destructor: a cgroup outlives the runtime process. destroy() removes it.
//
// ADDED (cgroup owner, compatible with the original contract):
// - cgroup_mounts(): the hierarchies from the one mountinfo read.
// - When resources->devices is non-empty, create()/update() append the
//   standard allow rules every container needs (runc's AllowedDevices:
//   null, zero, full, random, urandom, tty, console, ptmx, pts, tun, mknod),
//   so the OCI default "deny all" works as in runc.
// - linux.devices entries also need allow rules: append
//   device_allow_rules(spec.linux->devices) to resources.devices before
//   create() (runc does the same).
// - The container has a directory in every mounted controller hierarchy
//   (v1) and in the v2 one, if mounted; only the files the resources ask for
//   are written. open_join() (init, exec) and add_process() cover them all.
// - create refuses a cgroup that already holds processes (FailedPrecondition):
//   a container's cgroup is its own, so that deleting it kills nothing else.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

enum class CgroupLayout { V1, V2, Hybrid };

// Reads /proc/self/mountinfo once per process.
CgroupLayout detect_cgroup_layout();
const char* layout_name(CgroupLayout l);

// The host's cgroup hierarchies (the first mount of each), from the same
// single mountinfo read: for code that needs them too (the "cgroup" mount
// type), so a container start parses mountinfo once.
struct CgroupMount {
  bool v2 = false;
  std::string mountpoint;                // /sys/fs/cgroup/memory, /sys/fs/cgroup/unified
  std::string root;                      // mountinfo root field ("/" normally)
  std::vector<std::string> controllers;  // v1 only: "cpu", "cpuacct"; empty for named/v2
  std::string name;                      // v1 named hierarchy ("systemd")
};
const std::vector<CgroupMount>& cgroup_mounts();

// How a new child joins a container cgroup by itself, so that no process
// ever writes another's pid into cgroup.procs. That write takes
// cgroup_threadgroup_rwsem for writing, and on an idle host its first taker
// waits a full RCU grace period (rcu_sync_enter: 6-16 ms here) -- most of a
// container start. The kernel (>= 6.0, "cgroup: Optimize single thread
// migration") skips that lock for exactly two joins, both used here:
// - clone3(CLONE_INTO_CGROUP, v2_dir): the v2 dir, taken at fork time;
// - a thread writing "0" (itself) to a v1 `tasks` file: the child calls
//   join_self() first thing; it is single-threaded, so the thread is the
//   whole process.
// The files are opened by the runtime before the clone: v1 checks the
// opener's credentials (f_cred), so the write works from inside a new user
// namespace too, and the child needs no path lookup.
struct CgroupJoin {
  struct Tasks {
    UniqueFd fd;      // <dir>/tasks, opened for writing
    std::string dir;  // for messages
  };
  UniqueFd v2_dir;            // for CLONE_INTO_CGROUP; invalid: no v2 dir
  std::vector<Tasks> v1;      // every v1 hierarchy joined
};
// The `tasks` files of v1 directories, opened by a child cloned before its
// cgroup was made (Cgroup::has_v2_dir).
CgroupJoin open_v1_join(const std::vector<std::string>& v1_dirs);
// In a cloned child: its own CgroupJoin over the fds the parent opened
// before the clone (the same numbers, in the child's own fd table), so that
// joining and closing them leaves the parent's object alone -- which matters
// when the child shares the parent's memory (clone_vfork.hpp).
CgroupJoin child_copy(const CgroupJoin& parent);
// In the cloned child: writes "0" to every v1_tasks fd and closes them.
// Throws an Error naming the cgroup on failure.
void join_self(CgroupJoin& join);

struct CgroupStats {
  uint64_t memory_usage = 0;
  uint64_t memory_limit = 0;
  uint64_t pids_current = 0;
  uint64_t cpu_usage_ns = 0;
  uint64_t oom_kills = 0;
};

class Cgroup {
 public:
  virtual ~Cgroup() = default;

  // `path` is the OCI cgroupsPath: absolute = from each hierarchy's root;
  // relative = under the runtime's own cgroup; empty = "/berth/<id>".
  // systemd "slice:prefix:name" paths are refused (create_systemd's).
  static std::unique_ptr<Cgroup> create(const std::string& path,
                                        const std::string& container_id,
                                        const oci::LinuxResources* resources);
  // Whether the cgroup `create` makes for `resources` has a cgroup v2
  // directory. The init must enter that at fork time (CLONE_INTO_CGROUP,
  // see CgroupJoin), so the cgroup must exist before the clone; a cgroup
  // with v1 directories only can be made after it, while the child builds
  // its namespaces. Throws on resources `create` would refuse.
  static bool has_v2_dir(const oci::LinuxResources* resources);
  // The cgroup `create` makes for `path` and `container_id`, as far as its
  // leaf directories exist now; nothing is made. For the cleanup after a
  // `create` killed before it recorded its cgroup (to_json).
  static std::unique_ptr<Cgroup> find(const std::string& path, const std::string& container_id);

  // The systemd driver (--systemd-cgroup; cgroup_systemd.cpp). `path` is
  // "slice:prefix:name" (empty: "system.slice:berth:<id>"); the cgroup is
  // the transient scope "prefix-name.scope" in that slice, made by systemd
  // over D-Bus with `pid` (the init, which must exist) in it, the limits
  // systemd has properties for set as properties and the rest written to
  // its files. The config's org.systemd.property.* annotations add unit
  // properties (Delegate=no, ...). update() goes through systemd too;
  // destroy() stops the scope.
  static std::unique_ptr<Cgroup> create_systemd(const std::string& path, const std::string& container_id,
                                                const oci::LinuxResources* resources, pid_t pid,
                                                const std::map<std::string, std::string>& annotations);
  static bool is_systemd_path(const std::string& path);
  // Throws an Unsupported error ("--systemd-cgroup: systemd is not running
  // on this host ...") where systemd's manager cannot be reached.
  static void check_systemd();
  // After a create killed before it recorded its cgroup: stops the scope
  // its path names, if systemd has it.
  static void stop_systemd_scope(const std::string& path, const std::string& container_id);
  static std::unique_ptr<Cgroup> from_json(const std::string& json);
  virtual std::string to_json() const = 0;

  // Moves pid (and so its future children) into the cgroup in every hierarchy.
  virtual void add_process(pid_t pid) = 0;
  // The fds a child about to be cloned needs to join the cgroup itself (see
  // CgroupJoin): the container init and `exec` processes use this, not
  // add_process.
  virtual CgroupJoin open_join() const = 0;
  // The distinct v1 directories (what open_join opens the `tasks` of).
  virtual std::vector<std::string> v1_dirs() const = 0;
  // Re-applies resources (runc `update`).
  virtual void update(const oci::LinuxResources& resources) = 0;
  // Freezer: blocks until the state is reached (FROZEN / thawed).
  virtual void freeze() = 0;
  virtual void thaw() = 0;
  virtual bool frozen() const = 0;
  // Every pid in the cgroup (recursively), for `ps` and `kill --all`.
  virtual std::vector<pid_t> pids() const = 0;
  virtual CgroupStats stats() const = 0;
  // Removes the cgroup directories (waits briefly for exiting tasks; with
  // kill_remaining, SIGKILLs what is left first). Idempotent.
  virtual void destroy(bool kill_remaining) = 0;
  // Host path of the cgroup in the given controller's hierarchy ("memory",
  // "pids", ... or "" for the v2 unified dir); empty if not present.
  virtual std::string path_for(const std::string& controller) const = 0;
};

// Allow rules ("rwm") for the config's linux.devices, for resources.devices.
std::vector<oci::DeviceCgroupRule> device_allow_rules(const std::vector<oci::Device>& devices);

}  // namespace berth::runtime
