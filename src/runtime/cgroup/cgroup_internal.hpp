// Internals of the cgroup implementation (cgroup_*.cpp), shared by the
// per-controller files and exposed to unit tests. Not for use outside
// src/runtime/cgroup/: the contract is cgroup.hpp.
//
// Shape: resources are first turned into a Plan (a list of control-file
// writes, each naming the OCI field it comes from) by one planner per
// controller and version; the plan is pure, so unit tests check it without
// root. Then the plan is executed against the directories made for the
// cgroup, each file written exactly once.
#pragma once

#include <linux/bpf.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/cgroup/systemd_bus.hpp"

namespace berth::runtime::cgroups {

// ---- host layout (cgroup_layout.cpp) ----

struct Hierarchy {
  bool v2 = false;
  std::string mountpoint;                // /sys/fs/cgroup/memory
  std::string root;                      // mountinfo "root" field, "/" normally
  std::vector<std::string> controllers;  // v1: from super options ("cpu", "cpuacct"); v2: empty
  std::string name;                      // v1 named hierarchy ("systemd"), else empty
};

struct HostCgroups {
  std::vector<Hierarchy> v1;     // controller hierarchies and named ones
  std::optional<Hierarchy> v2;   // the cgroup2 mount, if any
  CgroupLayout layout = CgroupLayout::V1;
  // Controllers the v2 hierarchy offers (its root's cgroup.controllers);
  // filled by host_cgroups(), not by parse_mountinfo.
  std::set<std::string> v2_controllers;

  const Hierarchy* v1_for(std::string_view controller) const;
  bool v2_has(std::string_view controller) const { return v2 && v2_controllers.count(std::string(controller)); }
};

// Parses /proc/<pid>/mountinfo text. Only the first mount of each hierarchy
// counts (bind mounts of the same hierarchy are ignored). The layout is V2
// when only a cgroup2 mount exists, V1 when no cgroup2 mount exists, Hybrid
// when both v1 controller hierarchies and a cgroup2 mount exist.
HostCgroups parse_mountinfo(std::string_view text);
// This process's layout: mountinfo read once per process (cached).
const HostCgroups& host_cgroups();

// /proc/self/cgroup: "hierarchy-id:controllers:path" lines -> controller (or
// "" for v2, "name=systemd" for named) -> path.
std::map<std::string, std::string> parse_proc_cgroup(std::string_view text);

// ---- paths (cgroup_factory.cpp) ----

// Normalises an OCI cgroupsPath to components. Rejects ".." (InvalidArgument)
// and systemd "slice:prefix:name" (Unsupported). Empty -> {"berth", id}.
struct CgroupPath {
  bool relative = false;
  std::vector<std::string> components;
};
CgroupPath parse_cgroups_path(const std::string& path, const std::string& container_id);

// ---- plans ----

struct Write {
  std::string controller;  // hierarchy the file lives in ("memory", "cpu"...); v2: controller to enable, "" = core
  std::string file;        // control file name
  std::string value;
  std::string field;       // OCI field, for errors: "linux.resources.memory.limit"
  std::string fallback_file;  // tried when `file` does not exist (blkio.weight -> blkio.bfq.weight)
  std::string fallback_value;
  bool v2 = false;  // lives in the v2 (unified) dir rather than a v1 hierarchy
};
using Plan = std::vector<Write>;

// v1 planners (cgroup_v1_<controller>.cpp)
// current_limit: memory.limit_in_bytes now (UINT64_MAX at create); decides
// the order of memory/memsw writes so each write passes the kernel's check.
void plan_v1_memory(const oci::MemoryResources& m, uint64_t current_limit, Plan& out);
void plan_v1_cpu(const oci::CpuResources& c, Plan& out);
void plan_v1_cpuset(const oci::CpuResources& c, Plan& out);
void plan_v1_pids(const oci::PidsResources& p, Plan& out);
void plan_v1_blkio(const oci::BlockIoResources& b, Plan& out);
void plan_v1_devices(const std::vector<oci::DeviceCgroupRule>& rules, Plan& out);
void plan_v1_hugetlb(const std::vector<oci::HugepageLimit>& limits, Plan& out);
// v2 planners (cgroup_v2_<controller>.cpp)
void plan_v2_memory(const oci::MemoryResources& m, Plan& out);
void plan_v2_cpu(const oci::CpuResources& c, Plan& out);
void plan_v2_cpuset(const oci::CpuResources& c, Plan& out);
void plan_v2_pids(const oci::PidsResources& p, Plan& out);
void plan_v2_io(const oci::BlockIoResources& b, Plan& out);
void plan_v2_hugetlb(const std::vector<oci::HugepageLimit>& limits, Plan& out);
void plan_v2_unified(const std::map<std::string, std::string>& unified, Plan& out);

// Conversions used by the v2 planners (runc/crun formulas).
uint64_t cpu_shares_to_weight(uint64_t shares);      // 2..262144 -> 1..10000
uint64_t blkio_weight_to_io_weight(uint64_t weight);  // 10..1000 -> 1..10000
// "2MB" -> "2MB"; validates the OCI page size syntax (number + KB/MB/GB).
std::string hugepage_size_name(const std::string& page_size, const std::string& field);

// "c 1:3 rwm" / "a *:* rwm" line for devices.allow / devices.deny.
std::string v1_device_rule_line(const oci::DeviceCgroupRule& r);
// The devices every container may use (runc's AllowedDevices): appended
// after the config's rules when the config has device rules.
const std::vector<oci::DeviceCgroupRule>& default_allowed_devices();

// ---- v2 eBPF device filter (cgroup_v2_devices_ebpf.cpp) ----

// The BPF_PROG_TYPE_CGROUP_DEVICE program for a rule list: the last matching
// rule decides (as with the v1 list); no match -> allow unless a rule denied
// everything ("a" type, wildcard numbers).
std::vector<bpf_insn> build_device_program(const std::vector<oci::DeviceCgroupRule>& rules);
// Loads it and attaches it to the v2 cgroup dir (BPF_CGROUP_DEVICE,
// BPF_F_ALLOW_MULTI), then detaches programs attached before (update).
void attach_device_filter(const std::string& v2_dir, const std::vector<oci::DeviceCgroupRule>& rules);

// ---- files (cgroup_files.cpp) ----

// Writes one control file; errors name the field. ENOENT on the file (not the
// dir) -> Unsupported; EINVAL/ERANGE -> InvalidArgument.
// `cache` keeps the last file open so runs of writes to one file (devices
// rules, throttles) cost one open.
struct OpenFile {
  std::string dir, file;
  int fd = -1;
  ~OpenFile();
};
void write_control(int dirfd, const std::string& dir, const Write& w, OpenFile* cache = nullptr);
std::string read_control(const std::string& path);  // trimmed
// Pids in dir's cgroup.procs and in every descendant's.
void collect_pids(const std::string& dir, std::vector<pid_t>& out);
// rmdir dir and its descendants (deepest first), retrying EBUSY for up to
// `wait_ms` while tasks exit. Missing is fine.
void remove_cgroup_dir(const std::string& dir, int wait_ms);

// ---- freezer ----
void v1_freeze(const std::string& freezer_dir, bool freeze);  // cgroup_v1_freezer.cpp
bool v1_frozen(const std::string& freezer_dir);
void v2_freeze(const std::string& dir, bool freeze);          // cgroup_v2_freeze.cpp
bool v2_frozen(const std::string& dir);

// ---- the cgroupfs driver (cgroup_fs.cpp) ----

// A container cgroup made of plain directories in each hierarchy it uses.
class FsCgroup final : public Cgroup {
 public:
  CgroupLayout layout = CgroupLayout::V1;
  std::string path;                         // the cgroupsPath as given (for messages)
  std::map<std::string, std::string> dirs;  // v1 controller -> dir; "" -> the v2 dir
  std::set<std::string> v2_controllers;     // enabled for the v2 dir
  std::vector<std::string> created;         // every dir made, parents first
  bool relative = false;
  std::vector<std::string> components;
  bool v2_devices = false;                  // an eBPF device filter is attached
  bool default_path = false;                // /berth/<id>: /berth is shared and stays
  const HostCgroups* host = nullptr;        // null: this process's host_cgroups()
  bool adopt = false;                       // the leaf was made for us (systemd's scope), our init in it

  std::string to_json() const override;
  void add_process(pid_t pid) override;
  CgroupJoin open_join() const override;
  std::vector<std::string> v1_dirs() const override;
  void update(const oci::LinuxResources& resources) override;
  void freeze() override;
  void thaw() override;
  bool frozen() const override;
  std::vector<pid_t> pids() const override;
  CgroupStats stats() const override;
  void destroy(bool kill_remaining) override;
  std::string path_for(const std::string& controller) const override;

  // Plans `r`, makes whatever dirs the plan needs that are not there yet,
  // writes the plan (Cgroup::create removes the dirs made if it throws).
  void apply(const oci::LinuxResources* r, bool creating);
  // Fills `dirs` with the leaf dirs that exist in each hierarchy (Cgroup::find).
  void find_leaves();

 private:
  std::vector<std::string> distinct_dirs() const;
  std::string primary_dir() const;  // the dir whose tasks tell all (freezer first)
  std::string freezer_dir(bool* v2) const;
  void make_hierarchy_dir(const Hierarchy& h, const std::string& key, bool creating,
                          const std::set<std::string>& enable, const Plan& plan);
  void make_parents_and_leaf(const std::string& base, std::vector<bool>& made);
};

// Cgroup::create against a given view of the host's hierarchies (tests use a
// "pure v2" view of a hybrid host's cgroup2 mount to run the v2 paths on a
// real kernel). `host` must outlive the object.
std::unique_ptr<Cgroup> create_on(const HostCgroups& host, const std::string& path, const std::string& container_id,
                                  const oci::LinuxResources* resources);

// Everything `r` asks for, as writes; `devices` receives the effective device
// rule list when it must become a v2 eBPF filter. Pure apart from reading
// the host layout. current_mem_limit: see plan_v1_memory.
struct FullPlan {
  Plan writes;
  bool v2_devices = false;
  std::vector<oci::DeviceCgroupRule> device_rules;
};
FullPlan plan_resources(const HostCgroups& host, const oci::LinuxResources& r, uint64_t current_mem_limit);
bool wants_v2_dir(const HostCgroups& host, const FullPlan& fp, bool creating);

// The limits of `r` that systemd has unit properties for, named for the
// cgroup version each controller is on (cgroup_systemd.cpp).
std::vector<systemd::Property> systemd_resource_properties(const HostCgroups& host, const oci::LinuxResources& r);

// The systemd driver's object around an FsCgroup restored from `json`
// (cgroup_systemd.cpp), for Cgroup::from_json.
std::unique_ptr<Cgroup> systemd_from_json(const std::string& json, std::unique_ptr<FsCgroup> fs);

// Field name helpers.
inline std::string res_field(std::string_view rest) { return "linux.resources." + std::string(rest); }

}  // namespace berth::runtime::cgroups
