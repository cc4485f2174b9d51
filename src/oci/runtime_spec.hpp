// OCI Runtime Specification (config.json, 1.0.x - 1.3.x) as plain C++ types.
// The JSON mapping lives in runtime_spec.cpp so the rest of the runtime never
// touches JSON (runc's specconv idea). Field names follow the spec; optional
// spec fields are std::optional where "absent" differs from "zero".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::oci {

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // informational (Windows); ignored on Linux
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE", ...
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE
  int priority = 0;
};

// process.scheduler (sched_setattr(2)).
struct Scheduler {
  std::string policy;  // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;  // SCHED_FLAG_*
  uint64_t runtime = 0, deadline = 0, period = 0;  // ns, SCHED_DEADLINE
};

// process.execCPUAffinity: CPU lists ("0-3,7") for `exec` only, before and
// after the process joins the container's cgroup.
struct ExecCpuAffinity {
  std::string initial;
  std::string final_cpus;  // "final"
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;  // runtime/lsm_labels.hpp
  std::optional<int> oom_score_adj;
  std::string selinux_label;     // runtime/lsm_labels.hpp
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
  std::optional<ExecCpuAffinity> exec_cpu_affinity;
};

struct Root {
  std::string path;  // relative to the bundle, or absolute
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;    // may be empty (bind mounts)
  std::string source;  // may be empty
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings, gid_mappings;  // idmapped mounts
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated, still honoured
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // empty: create a new one; else join this one
};

struct Device {
  std::string type;  // c, b, u, p
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type = "a";  // a, c, b
  std::optional<int64_t> major;  // absent = wildcard
  std::optional<int64_t> minor;
  std::string access;  // subset of "rwm"; empty means "rwm"
};

struct MemoryResources {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;      // deprecated: parsed, never applied
  std::optional<int64_t> kernel_tcp;  // deprecated: parsed, never applied
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<int64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;  // <= 0 means unlimited ("max")
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps_device;
  std::vector<ThrottleDevice> throttle_write_bps_device;
  std::vector<ThrottleDevice> throttle_read_iops_device;
  std::vector<ThrottleDevice> throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct LinuxResources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;  // cgroup v2 key -> value
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_NE, SCMP_CMP_EQ, ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_X86_64, ...
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

// linux.personality (personality(2)).
struct Personality {
  std::string domain;  // LINUX, LINUX32
};

// linux.memoryPolicy (set_mempolicy(2)).
struct MemoryPolicy {
  std::string mode;                // MPOL_DEFAULT, MPOL_BIND, ...
  std::string nodes;               // "0-3,7"
  std::vector<std::string> flags;  // MPOL_F_*
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<LinuxResources> resources;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;  // shared, slave, private, unbindable, r*
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;  // runtime/lsm_labels.hpp
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::optional<Personality> personality;
  std::optional<MemoryPolicy> memory_policy;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
  // Known fields that mean nothing on Linux (process.commandLine, the
  // windows/solaris/zos sections): field and reason. Parsed without effect;
  // the runtime warns about them once (runtime/ignored_fields.hpp).
  std::vector<std::pair<std::string, std::string>> ignored;
};

// Parses config.json text. Throws Error(InvalidArgument) naming the field
// ("config.json: linux.namespaces[2].type: unknown namespace type \"foo\"").
// Known-but-unsupported fields (intelRdt, personality, scheduler, ...) are
// errors naming the field; unknown fields are ignored as the spec requires.
Spec parse_spec(std::string_view json_text);
// Reads <bundle>/config.json and parses it; the file's text goes to
// *text_out if given.
Spec load_spec(const std::string& bundle_dir, std::string* text_out = nullptr);
// A process.json for `exec -p`.
Process parse_process(std::string_view json_text);
// A linux.resources object on its own (`update -r`); errors are named after
// `source` ("update -r /path: memory.limit: ...").
LinuxResources parse_resources(std::string_view json_text, const std::string& source);
// Serialises back (for `spec`, for state, for hooks).
std::string to_json(const Spec& spec);
std::string process_to_json(const Process& process);
// The config `berth-runtime spec` writes (runc's default, busybox-friendly).
Spec default_spec(bool rootless);

}  // namespace berth::oci
