// JSON mapping of the OCI runtime spec (config.json). Every error names the
// JSON path of the offending field, so a user can find it in the file.
#include "oci/runtime_spec.hpp"

#include <unistd.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::oci {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& path, const std::string& what,
                      ErrorKind kind = ErrorKind::InvalidArgument) {
  throw Error("config.json: " + path + ": " + what, kind);
}

std::string sub(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string idx(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const char* type_name(const json& j) { return j.type_name(); }

// Field accessors: absent or null fields return nullptr / keep defaults; a
// field of the wrong type is an error naming it.
const json* field(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& expect_object(const json& j, const std::string& path) {
  if (!j.is_object()) bad(path, std::string("expected an object, got ") + type_name(j));
  return j;
}

std::string as_string(const json& j, const std::string& path) {
  if (!j.is_string()) bad(path, std::string("expected a string, got ") + type_name(j));
  return j.get<std::string>();
}

bool as_bool(const json& j, const std::string& path) {
  if (!j.is_boolean()) bad(path, std::string("expected a boolean, got ") + type_name(j));
  return j.get<bool>();
}

template <typename T>
T as_int(const json& j, const std::string& path) {
  if (j.is_number_integer() || j.is_number_unsigned()) {
    if (j.is_number_unsigned()) {
      uint64_t v = j.get<uint64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) bad(path, "value out of range");
      } else {
        if (v > std::numeric_limits<T>::max()) bad(path, "value out of range");
      }
      return static_cast<T>(v);
    }
    int64_t v = j.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (v < 0) bad(path, "must not be negative");
      if (static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) bad(path, "value out of range");
    } else {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
        bad(path, "value out of range");
    }
    return static_cast<T>(v);
  }
  // -1 is sometimes written as a float by generators; accept integral floats.
  if (j.is_number_float()) {
    double d = j.get<double>();
    // In int64_t's range first: casting a larger double is undefined
    // (found by tests/fuzz/seccomp: 2.2e20 in a seccomp argument).
    if (d >= -0x1p63 && d < 0x1p63 && d == static_cast<double>(static_cast<int64_t>(d))) {
      json k = static_cast<int64_t>(d);
      return as_int<T>(k, path);
    }
  }
  bad(path, std::string("expected an integer, got ") + type_name(j));
}

std::vector<std::string> as_strings(const json& j, const std::string& path) {
  if (!j.is_array()) bad(path, std::string("expected an array of strings, got ") + type_name(j));
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(as_string(j[i], idx(path, i)));
  return out;
}

template <typename F>
void for_array(const json& obj, std::string_view key, const std::string& parent, F f) {
  const json* a = field(obj, key);
  if (!a) return;
  std::string path = sub(parent, key);
  if (!a->is_array()) bad(path, std::string("expected an array, got ") + type_name(*a));
  for (size_t i = 0; i < a->size(); ++i) f((*a)[i], idx(path, i));
}

// An object field: f(object, its path) when present.
template <typename F>
void with_object(const json& obj, std::string_view key, const std::string& parent, F f) {
  const json* o = field(obj, key);
  if (!o) return;
  std::string path = sub(parent, key);
  expect_object(*o, path);
  f(*o, path);
}

template <typename T>
void opt_int(const json& obj, std::string_view key, const std::string& parent, std::optional<T>& out) {
  if (const json* v = field(obj, key)) out = as_int<T>(*v, sub(parent, key));
}
template <typename T>
void get_int(const json& obj, std::string_view key, const std::string& parent, T& out) {
  if (const json* v = field(obj, key)) out = as_int<T>(*v, sub(parent, key));
}
void get_string(const json& obj, std::string_view key, const std::string& parent, std::string& out) {
  if (const json* v = field(obj, key)) out = as_string(*v, sub(parent, key));
}
void get_bool(const json& obj, std::string_view key, const std::string& parent, bool& out) {
  if (const json* v = field(obj, key)) out = as_bool(*v, sub(parent, key));
}
void opt_bool(const json& obj, std::string_view key, const std::string& parent, std::optional<bool>& out) {
  if (const json* v = field(obj, key)) out = as_bool(*v, sub(parent, key));
}
void get_strings(const json& obj, std::string_view key, const std::string& parent,
                 std::vector<std::string>& out) {
  if (const json* v = field(obj, key)) out = as_strings(*v, sub(parent, key));
}
void get_string_map(const json& obj, std::string_view key, const std::string& parent,
                    std::map<std::string, std::string>& out) {
  const json* m = field(obj, key);
  if (!m) return;
  std::string path = sub(parent, key);
  expect_object(*m, path);
  for (auto& [k, v] : m->items()) out[k] = as_string(v, sub(path, k));
}

// A known field Berth does not implement: refuse it rather than run a
// container without what the user asked for.
void refuse(const json& obj, std::string_view key, const std::string& parent, const std::string& why) {
  const json* v = field(obj, key);
  if (!v) return;
  if (v->is_string() && v->get<std::string>().empty()) return;
  if ((v->is_object() || v->is_array()) && v->empty()) return;
  bad(sub(parent, key), "not supported: " + why, ErrorKind::Unsupported);
}

void check_version(const std::string& v) {
  // 1.0.x .. 1.3.x, with an optional pre-release/build suffix ("1.0.2-dev").
  int major = -1, minor = -1, patch = -1;
  const char* p = v.data();
  const char* end = v.data() + v.size();
  auto num = [&](int& out) {
    auto r = std::from_chars(p, end, out);
    if (r.ec != std::errc()) return false;
    p = r.ptr;
    return true;
  };
  bool ok = num(major) && p < end && *p++ == '.' && num(minor) && p < end && *p++ == '.' && num(patch) &&
            (p == end || *p == '-' || *p == '+');
  if (!ok) bad("ociVersion", "\"" + v + "\" is not a version (want 1.0.x to 1.3.x)");
  if (major != 1 || minor < 0 || minor > 3)
    bad("ociVersion", "version \"" + v + "\" not supported (want 1.0.x to 1.3.x)", ErrorKind::Unsupported);
}

IdMapping parse_mapping(const json& j, const std::string& path) {
  expect_object(j, path);
  IdMapping m;
  const json* c = field(j, "containerID");
  const json* h = field(j, "hostID");
  const json* s = field(j, "size");
  if (!c) bad(sub(path, "containerID"), "missing");
  if (!h) bad(sub(path, "hostID"), "missing");
  if (!s) bad(sub(path, "size"), "missing");
  m.container_id = as_int<uint32_t>(*c, sub(path, "containerID"));
  m.host_id = as_int<uint32_t>(*h, sub(path, "hostID"));
  m.size = as_int<uint32_t>(*s, sub(path, "size"));
  if (m.size == 0) bad(sub(path, "size"), "must be at least 1");
  if (uint64_t(m.container_id) + m.size > (1ull << 32) || uint64_t(m.host_id) + m.size > (1ull << 32))
    bad(path, "range overflows 32-bit ids");
  return m;
}

std::vector<IdMapping> parse_mappings(const json& obj, std::string_view key, const std::string& parent) {
  std::vector<IdMapping> out;
  for_array(obj, key, parent, [&](const json& j, const std::string& p) { out.push_back(parse_mapping(j, p)); });
  return out;
}

User parse_user(const json& j, const std::string& path) {
  expect_object(j, path);
  User u;
  get_int(j, "uid", path, u.uid);
  get_int(j, "gid", path, u.gid);
  opt_int(j, "umask", path, u.umask);
  for_array(j, "additionalGids", path,
            [&](const json& g, const std::string& p) { u.additional_gids.push_back(as_int<uint32_t>(g, p)); });
  get_string(j, "username", path, u.username);
  return u;
}

// One of `known`, or an error naming the field and the choices.
void expect_one_of(const std::string& value, std::initializer_list<const char*> known, const std::string& path) {
  std::string choices;
  for (const char* k : known) {
    if (value == k) return;
    choices += choices.empty() ? k : std::string(", ") + k;
  }
  bad(path, "unknown value \"" + value + "\" (want one of " + choices + ")");
}

Scheduler parse_scheduler(const json& j, const std::string& path) {
  Scheduler s;
  get_string(j, "policy", path, s.policy);
  if (s.policy.empty()) bad(sub(path, "policy"), "missing");
  expect_one_of(s.policy, {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE",
                           "SCHED_DEADLINE"},
                sub(path, "policy"));
  get_int(j, "nice", path, s.nice);
  get_int(j, "priority", path, s.priority);
  get_strings(j, "flags", path, s.flags);
  for (size_t i = 0; i < s.flags.size(); ++i)
    expect_one_of(s.flags[i], {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
                               "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
                               "SCHED_FLAG_UTIL_CLAMP_MAX"},
                  idx(sub(path, "flags"), i));
  get_int(j, "runtime", path, s.runtime);
  get_int(j, "deadline", path, s.deadline);
  get_int(j, "period", path, s.period);
  return s;
}

// ignored: where a known field without effect on Linux is recorded (null:
// dropped silently, as for `exec -p`).
Process parse_process_obj(const json& j, const std::string& path,
                          std::vector<std::pair<std::string, std::string>>* ignored = nullptr) {
  expect_object(j, path);
  Process p;
  get_bool(j, "terminal", path, p.terminal);
  if (const json* cs = field(j, "consoleSize")) {
    std::string cp = sub(path, "consoleSize");
    expect_object(*cs, cp);
    ConsoleSize s;
    get_int(*cs, "height", cp, s.height);
    get_int(*cs, "width", cp, s.width);
    p.console_size = s;
  }
  if (const json* u = field(j, "user")) p.user = parse_user(*u, sub(path, "user"));
  get_strings(j, "args", path, p.args);
  if (ignored && field(j, "commandLine")) ignored->emplace_back(sub(path, "commandLine"), "Windows only");
  if (p.args.empty()) bad(sub(path, "args"), "must name the program to run");
  get_strings(j, "env", path, p.env);
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos)
      bad(idx(sub(path, "env"), i), "\"" + p.env[i] + "\" is not KEY=VALUE");
  get_string(j, "cwd", path, p.cwd);
  if (p.cwd.empty()) p.cwd = "/";
  if (p.cwd[0] != '/') bad(sub(path, "cwd"), "\"" + p.cwd + "\" is not an absolute path");
  if (const json* c = field(j, "capabilities")) {
    std::string cp = sub(path, "capabilities");
    expect_object(*c, cp);
    Capabilities caps;
    get_strings(*c, "bounding", cp, caps.bounding);
    get_strings(*c, "effective", cp, caps.effective);
    get_strings(*c, "inheritable", cp, caps.inheritable);
    get_strings(*c, "permitted", cp, caps.permitted);
    get_strings(*c, "ambient", cp, caps.ambient);
    p.capabilities = caps;
  }
  std::set<std::string> seen_rlimits;
  for_array(j, "rlimits", path, [&](const json& r, const std::string& rp) {
    expect_object(r, rp);
    Rlimit l;
    get_string(r, "type", rp, l.type);
    if (l.type.rfind("RLIMIT_", 0) != 0) bad(sub(rp, "type"), "\"" + l.type + "\" is not an RLIMIT_* name");
    if (!seen_rlimits.insert(l.type).second) bad(sub(rp, "type"), "duplicate rlimit " + l.type);
    if (!field(r, "hard")) bad(sub(rp, "hard"), "missing");
    if (!field(r, "soft")) bad(sub(rp, "soft"), "missing");
    get_int(r, "hard", rp, l.hard);
    get_int(r, "soft", rp, l.soft);
    if (l.soft > l.hard) bad(rp, "soft limit is above the hard limit");
    p.rlimits.push_back(l);
  });
  get_bool(j, "noNewPrivileges", path, p.no_new_privileges);
  get_string(j, "apparmorProfile", path, p.apparmor_profile);
  get_string(j, "selinuxLabel", path, p.selinux_label);
  opt_int(j, "oomScoreAdj", path, p.oom_score_adj);
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    bad(sub(path, "oomScoreAdj"), "must be between -1000 and 1000");
  if (const json* io = field(j, "ioPriority")) {
    std::string ip = sub(path, "ioPriority");
    expect_object(*io, ip);
    IoPriority prio;
    get_string(*io, "class", ip, prio.io_class);
    if (prio.io_class != "IOPRIO_CLASS_RT" && prio.io_class != "IOPRIO_CLASS_BE" &&
        prio.io_class != "IOPRIO_CLASS_IDLE")
      bad(sub(ip, "class"), "unknown class \"" + prio.io_class + "\"");
    get_int(*io, "priority", ip, prio.priority);
    if (prio.priority < 0 || prio.priority > 7) bad(sub(ip, "priority"), "must be between 0 and 7");
    p.io_priority = prio;
  }
  with_object(j, "scheduler", path, [&](const json& sc, const std::string& sp) { p.scheduler = parse_scheduler(sc, sp); });
  with_object(j, "execCPUAffinity", path, [&](const json& a, const std::string& ap) {
    auto& aff = p.exec_cpu_affinity.emplace();
    get_string(a, "initial", ap, aff.initial);
    get_string(a, "final", ap, aff.final_cpus);
  });
  return p;
}

Hook parse_hook(const json& j, const std::string& path) {
  expect_object(j, path);
  Hook h;
  get_string(j, "path", path, h.path);
  if (h.path.empty()) bad(sub(path, "path"), "missing");
  if (h.path[0] != '/') bad(sub(path, "path"), "\"" + h.path + "\" is not an absolute path");
  get_strings(j, "args", path, h.args);
  get_strings(j, "env", path, h.env);
  opt_int(j, "timeout", path, h.timeout);
  if (h.timeout && *h.timeout <= 0) bad(sub(path, "timeout"), "must be greater than zero");
  return h;
}

std::optional<int64_t> opt_i64(const json& obj, std::string_view key, const std::string& parent) {
  std::optional<int64_t> v;
  opt_int(obj, key, parent, v);
  return v;
}

LinuxResources parse_resources(const json& j, const std::string& path) {
  expect_object(j, path);
  LinuxResources r;
  for_array(j, "devices", path, [&](const json& d, const std::string& dp) {
    expect_object(d, dp);
    DeviceCgroupRule rule;
    if (!field(d, "allow")) bad(sub(dp, "allow"), "missing");
    get_bool(d, "allow", dp, rule.allow);
    get_string(d, "type", dp, rule.type);
    if (rule.type.empty()) rule.type = "a";
    if (rule.type != "a" && rule.type != "b" && rule.type != "c")
      bad(sub(dp, "type"), "\"" + rule.type + "\" is not a, b or c");
    opt_int(d, "major", dp, rule.major);
    opt_int(d, "minor", dp, rule.minor);
    get_string(d, "access", dp, rule.access);
    for (char c : rule.access)
      if (c != 'r' && c != 'w' && c != 'm') bad(sub(dp, "access"), "\"" + rule.access + "\" is not a subset of rwm");
    r.devices.push_back(rule);
  });
  if (const json* m = field(j, "memory")) {
    std::string mp = sub(path, "memory");
    expect_object(*m, mp);
    MemoryResources mem;
    mem.limit = opt_i64(*m, "limit", mp);
    mem.reservation = opt_i64(*m, "reservation", mp);
    mem.swap = opt_i64(*m, "swap", mp);
    mem.kernel = opt_i64(*m, "kernel", mp);
    mem.kernel_tcp = opt_i64(*m, "kernelTCP", mp);
    opt_int(*m, "swappiness", mp, mem.swappiness);
    opt_bool(*m, "disableOOMKiller", mp, mem.disable_oom_killer);
    opt_bool(*m, "useHierarchy", mp, mem.use_hierarchy);
    opt_bool(*m, "checkBeforeUpdate", mp, mem.check_before_update);
    r.memory = mem;
  }
  if (const json* c = field(j, "cpu")) {
    std::string cp = sub(path, "cpu");
    expect_object(*c, cp);
    CpuResources cpu;
    opt_int(*c, "shares", cp, cpu.shares);
    cpu.quota = opt_i64(*c, "quota", cp);
    cpu.burst = opt_i64(*c, "burst", cp);
    opt_int(*c, "period", cp, cpu.period);
    cpu.realtime_runtime = opt_i64(*c, "realtimeRuntime", cp);
    opt_int(*c, "realtimePeriod", cp, cpu.realtime_period);
    get_string(*c, "cpus", cp, cpu.cpus);
    get_string(*c, "mems", cp, cpu.mems);
    cpu.idle = opt_i64(*c, "idle", cp);
    r.cpu = cpu;
  }
  if (const json* p = field(j, "pids")) {
    std::string pp = sub(path, "pids");
    expect_object(*p, pp);
    PidsResources pids;
    get_int(*p, "limit", pp, pids.limit);
    r.pids = pids;
  }
  if (const json* b = field(j, "blockIO")) {
    std::string bp = sub(path, "blockIO");
    expect_object(*b, bp);
    BlockIoResources io;
    opt_int(*b, "weight", bp, io.weight);
    opt_int(*b, "leafWeight", bp, io.leaf_weight);
    for_array(*b, "weightDevice", bp, [&](const json& d, const std::string& dp) {
      expect_object(d, dp);
      WeightDevice w;
      get_int(d, "major", dp, w.major);
      get_int(d, "minor", dp, w.minor);
      opt_int(d, "weight", dp, w.weight);
      opt_int(d, "leafWeight", dp, w.leaf_weight);
      io.weight_device.push_back(w);
    });
    auto throttle = [&](std::string_view key, std::vector<ThrottleDevice>& out) {
      for_array(*b, key, bp, [&](const json& d, const std::string& dp) {
        expect_object(d, dp);
        ThrottleDevice t;
        get_int(d, "major", dp, t.major);
        get_int(d, "minor", dp, t.minor);
        get_int(d, "rate", dp, t.rate);
        out.push_back(t);
      });
    };
    throttle("throttleReadBpsDevice", io.throttle_read_bps_device);
    throttle("throttleWriteBpsDevice", io.throttle_write_bps_device);
    throttle("throttleReadIOPSDevice", io.throttle_read_iops_device);
    throttle("throttleWriteIOPSDevice", io.throttle_write_iops_device);
    r.block_io = io;
  }
  for_array(j, "hugepageLimits", path, [&](const json& h, const std::string& hp) {
    expect_object(h, hp);
    HugepageLimit l;
    get_string(h, "pageSize", hp, l.page_size);
    if (l.page_size.empty()) bad(sub(hp, "pageSize"), "missing");
    get_int(h, "limit", hp, l.limit);
    r.hugepage_limits.push_back(l);
  });
  refuse(j, "network", path, "net_cls/net_prio controllers are not available on this host");
  refuse(j, "rdma", path, "rdma cgroup limits are not implemented by berth-runtime");
  get_string_map(j, "unified", path, r.unified);
  return r;
}

Seccomp parse_seccomp(const json& j, const std::string& path) {
  expect_object(j, path);
  Seccomp s;
  get_string(j, "defaultAction", path, s.default_action);
  if (s.default_action.empty()) bad(sub(path, "defaultAction"), "missing");
  opt_int(j, "defaultErrnoRet", path, s.default_errno_ret);
  get_strings(j, "architectures", path, s.architectures);
  get_strings(j, "flags", path, s.flags);
  get_string(j, "listenerPath", path, s.listener_path);
  get_string(j, "listenerMetadata", path, s.listener_metadata);
  for_array(j, "syscalls", path, [&](const json& sc, const std::string& sp) {
    expect_object(sc, sp);
    SeccompSyscall call;
    get_strings(sc, "names", sp, call.names);
    if (call.names.empty()) bad(sub(sp, "names"), "must name at least one syscall");
    get_string(sc, "action", sp, call.action);
    if (call.action.empty()) bad(sub(sp, "action"), "missing");
    opt_int(sc, "errnoRet", sp, call.errno_ret);
    for_array(sc, "args", sp, [&](const json& a, const std::string& ap) {
      expect_object(a, ap);
      SeccompArg arg;
      get_int(a, "index", ap, arg.index);
      get_int(a, "value", ap, arg.value);
      get_int(a, "valueTwo", ap, arg.value_two);
      get_string(a, "op", ap, arg.op);
      if (arg.op.empty()) bad(sub(ap, "op"), "missing");
      call.args.push_back(arg);
    });
    s.syscalls.push_back(std::move(call));
  });
  return s;
}

const std::set<std::string>& namespace_types() {
  static const std::set<std::string> t = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
  return t;
}

Linux parse_linux(const json& j, const std::string& path) {
  expect_object(j, path);
  Linux l;
  std::set<std::string> seen;
  for_array(j, "namespaces", path, [&](const json& n, const std::string& np) {
    expect_object(n, np);
    Namespace ns;
    get_string(n, "type", np, ns.type);
    if (ns.type.empty()) bad(sub(np, "type"), "missing");
    if (!namespace_types().count(ns.type))
      bad(sub(np, "type"), "unknown namespace type \"" + ns.type + "\"");
    if (!seen.insert(ns.type).second) bad(sub(np, "type"), "duplicate namespace \"" + ns.type + "\"");
    get_string(n, "path", np, ns.path);
    if (!ns.path.empty() && ns.path[0] != '/')
      bad(sub(np, "path"), "\"" + ns.path + "\" is not an absolute path");
    l.namespaces.push_back(ns);
  });
  l.uid_mappings = parse_mappings(j, "uidMappings", path);
  l.gid_mappings = parse_mappings(j, "gidMappings", path);
  for_array(j, "devices", path, [&](const json& d, const std::string& dp) {
    expect_object(d, dp);
    Device dev;
    get_string(d, "type", dp, dev.type);
    if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p")
      bad(sub(dp, "type"), "\"" + dev.type + "\" is not c, b, u or p");
    get_string(d, "path", dp, dev.path);
    if (dev.path.empty() || dev.path[0] != '/') bad(sub(dp, "path"), "must be an absolute path");
    get_int(d, "major", dp, dev.major);
    get_int(d, "minor", dp, dev.minor);
    if (dev.type != "p" && (!field(d, "major") || !field(d, "minor")))
      bad(dp, "major and minor are required for device type " + dev.type);
    opt_int(d, "fileMode", dp, dev.file_mode);
    opt_int(d, "uid", dp, dev.uid);
    opt_int(d, "gid", dp, dev.gid);
    l.devices.push_back(dev);
  });
  get_string(j, "cgroupsPath", path, l.cgroups_path);
  if (const json* r = field(j, "resources")) l.resources = parse_resources(*r, sub(path, "resources"));
  get_string_map(j, "sysctl", path, l.sysctl);
  if (const json* s = field(j, "seccomp")) l.seccomp = parse_seccomp(*s, sub(path, "seccomp"));
  get_string(j, "rootfsPropagation", path, l.rootfs_propagation);
  static const std::set<std::string> props = {"", "shared", "slave", "private", "unbindable",
                                              "rshared", "rslave", "rprivate", "runbindable"};
  if (!props.count(l.rootfs_propagation))
    bad(sub(path, "rootfsPropagation"), "unknown propagation \"" + l.rootfs_propagation + "\"");
  get_strings(j, "maskedPaths", path, l.masked_paths);
  get_strings(j, "readonlyPaths", path, l.readonly_paths);
  get_string(j, "mountLabel", path, l.mount_label);
  if (const json* t = field(j, "timeOffsets")) {
    std::string tp = sub(path, "timeOffsets");
    expect_object(*t, tp);
    for (auto& [clock, off] : t->items()) {
      std::string cp = sub(tp, clock);
      if (clock != "monotonic" && clock != "boottime") bad(cp, "unknown clock (want monotonic or boottime)");
      expect_object(off, cp);
      TimeOffset o;
      get_int(off, "secs", cp, o.secs);
      get_int(off, "nanosecs", cp, o.nanosecs);
      if (o.nanosecs >= 1000000000u) bad(sub(cp, "nanosecs"), "must be below 1000000000");
      l.time_offsets[clock] = o;
    }
  }
  with_object(j, "personality", path, [&](const json& pe, const std::string& pp) {
    auto& per = l.personality.emplace();
    get_string(pe, "domain", pp, per.domain);
    if (per.domain.empty()) bad(sub(pp, "domain"), "missing");
    expect_one_of(per.domain, {"LINUX", "LINUX32"}, sub(pp, "domain"));
    // The spec defines no flag yet: one we cannot know cannot be applied.
    refuse(pe, "flags", pp, "the runtime-spec defines no personality flags");
  });
  with_object(j, "memoryPolicy", path, [&](const json& mp, const std::string& pp) {
    auto& pol = l.memory_policy.emplace();
    get_string(mp, "mode", pp, pol.mode);
    if (pol.mode.empty()) bad(sub(pp, "mode"), "missing");
    expect_one_of(pol.mode, {"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                             "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"},
                  sub(pp, "mode"));
    get_string(mp, "nodes", pp, pol.nodes);
    get_strings(mp, "flags", pp, pol.flags);
    for (size_t i = 0; i < pol.flags.size(); ++i)
      expect_one_of(pol.flags[i], {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"},
                    idx(sub(pp, "flags"), i));
  });
  // Not implemented; ignoring them would run the container without the
  // cache/bandwidth partition or the network device it asks for (the spec
  // wants an error where resctrl is missing, as here).
  refuse(j, "intelRdt", path, "Intel RDT (resctrl) is not implemented by berth-runtime");
  refuse(j, "netDevices", path, "moving network devices is not implemented by berth-runtime");

  // Cross-field consistency.
  auto has = [&](const char* t) { return seen.count(t) != 0; };
  auto new_ns = [&](const char* t) {
    for (auto& ns : l.namespaces)
      if (ns.type == t) return ns.path.empty();
    return false;
  };
  if ((!l.uid_mappings.empty() || !l.gid_mappings.empty()) && !has("user"))
    bad(sub(path, "uidMappings"), "mappings given but linux.namespaces has no user namespace");
  if (new_ns("user") && (l.uid_mappings.empty() || l.gid_mappings.empty()))
    bad(sub(path, l.uid_mappings.empty() ? "uidMappings" : "gidMappings"),
        "a new user namespace needs uid and gid mappings");
  if (!l.time_offsets.empty() && !new_ns("time"))
    bad(sub(path, "timeOffsets"), "offsets given but linux.namespaces has no new time namespace");
  return l;
}

Mount parse_mount(const json& j, const std::string& path) {
  expect_object(j, path);
  Mount m;
  get_string(j, "destination", path, m.destination);
  if (m.destination.empty()) bad(sub(path, "destination"), "missing");
  get_string(j, "type", path, m.type);
  get_string(j, "source", path, m.source);
  get_strings(j, "options", path, m.options);
  m.uid_mappings = parse_mappings(j, "uidMappings", path);
  m.gid_mappings = parse_mappings(j, "gidMappings", path);
  return m;
}

Spec parse_spec_json(const json& j) {
  if (!j.is_object()) bad("(top level)", std::string("expected an object, got ") + type_name(j));
  Spec s;
  const json* v = field(j, "ociVersion");
  if (!v) bad("ociVersion", "missing");
  s.oci_version = as_string(*v, "ociVersion");
  check_version(s.oci_version);
  if (const json* p = field(j, "process")) s.process = parse_process_obj(*p, "process", &s.ignored);
  const json* r = field(j, "root");
  if (!r) bad("root", "missing");
  expect_object(*r, "root");
  get_string(*r, "path", "root", s.root.path);
  if (s.root.path.empty()) bad("root.path", "missing");
  get_bool(*r, "readonly", "root", s.root.readonly);
  get_string(j, "hostname", "", s.hostname);
  get_string(j, "domainname", "", s.domainname);
  for_array(j, "mounts", "", [&](const json& m, const std::string& mp) { s.mounts.push_back(parse_mount(m, mp)); });
  if (const json* h = field(j, "hooks")) {
    expect_object(*h, "hooks");
    Hooks hooks;
    auto list = [&](std::string_view key, std::vector<Hook>& out) {
      for_array(*h, key, "hooks", [&](const json& e, const std::string& p) { out.push_back(parse_hook(e, p)); });
    };
    list("prestart", hooks.prestart);
    list("createRuntime", hooks.create_runtime);
    list("createContainer", hooks.create_container);
    list("startContainer", hooks.start_container);
    list("poststart", hooks.poststart);
    list("poststop", hooks.poststop);
    s.hooks = hooks;
  }
  get_string_map(j, "annotations", "", s.annotations);
  if (const json* l = field(j, "linux")) s.linux = parse_linux(*l, "linux");
  // Sections for other platforms configure nothing here (runc and crun skip
  // them too); vm asks for a hypervisor-isolated container, which a plain
  // container would silently weaken, so that one is refused.
  for (const char* other : {"windows", "solaris", "zos"})
    if (field(j, other)) s.ignored.emplace_back(other, "settings for another platform; this runtime runs Linux containers");
  if (field(j, "vm"))
    bad("vm", "not supported: berth-runtime runs containers, not virtual machines (use a VM-based runtime)",
        ErrorKind::Unsupported);
  if (s.linux) {
    bool uts = false;
    for (auto& ns : s.linux->namespaces) uts |= ns.type == "uts";
    if (!uts && !s.hostname.empty()) bad("hostname", "set, but linux.namespaces has no uts namespace");
    if (!uts && !s.domainname.empty()) bad("domainname", "set, but linux.namespaces has no uts namespace");
  }
  return s;
}

// ---- serialisation -------------------------------------------------------

json mapping_json(const std::vector<IdMapping>& ms) {
  json a = json::array();
  for (auto& m : ms) a.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  return a;
}

json hook_json(const Hook& h) {
  json j = {{"path", h.path}};
  if (!h.args.empty()) j["args"] = h.args;
  if (!h.env.empty()) j["env"] = h.env;
  if (h.timeout) j["timeout"] = *h.timeout;
  return j;
}

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

json process_json(const Process& p) {
  json j;
  j["terminal"] = p.terminal;
  if (p.console_size) j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  json u = {{"uid", p.user.uid}, {"gid", p.user.gid}};
  put(u, "umask", p.user.umask);
  if (!p.user.additional_gids.empty()) u["additionalGids"] = p.user.additional_gids;
  if (!p.user.username.empty()) u["username"] = p.user.username;
  j["user"] = u;
  j["args"] = p.args;
  j["env"] = p.env;
  j["cwd"] = p.cwd;
  if (p.capabilities) {
    json c = json::object();
    auto set = [&](const char* k, const std::vector<std::string>& v) {
      if (!v.empty()) c[k] = v;
    };
    set("bounding", p.capabilities->bounding);
    set("effective", p.capabilities->effective);
    set("inheritable", p.capabilities->inheritable);
    set("permitted", p.capabilities->permitted);
    set("ambient", p.capabilities->ambient);
    j["capabilities"] = c;
  }
  if (!p.rlimits.empty()) {
    json a = json::array();
    for (auto& r : p.rlimits) a.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    j["rlimits"] = a;
  }
  j["noNewPrivileges"] = p.no_new_privileges;
  if (!p.apparmor_profile.empty()) j["apparmorProfile"] = p.apparmor_profile;
  if (!p.selinux_label.empty()) j["selinuxLabel"] = p.selinux_label;
  put(j, "oomScoreAdj", p.oom_score_adj);
  if (p.io_priority) j["ioPriority"] = {{"class", p.io_priority->io_class}, {"priority", p.io_priority->priority}};
  if (p.scheduler) {
    const Scheduler& s = *p.scheduler;
    json sc = {{"policy", s.policy}, {"nice", s.nice}, {"priority", s.priority}};
    if (!s.flags.empty()) sc["flags"] = s.flags;
    if (s.runtime) sc["runtime"] = s.runtime;
    if (s.deadline) sc["deadline"] = s.deadline;
    if (s.period) sc["period"] = s.period;
    j["scheduler"] = sc;
  }
  if (p.exec_cpu_affinity) {
    json a = json::object();
    if (!p.exec_cpu_affinity->initial.empty()) a["initial"] = p.exec_cpu_affinity->initial;
    if (!p.exec_cpu_affinity->final_cpus.empty()) a["final"] = p.exec_cpu_affinity->final_cpus;
    j["execCPUAffinity"] = a;
  }
  return j;
}

json resources_json(const LinuxResources& r) {
  json j = json::object();
  if (!r.devices.empty()) {
    json a = json::array();
    for (auto& d : r.devices) {
      json e = {{"allow", d.allow}};
      if (d.type != "a") e["type"] = d.type;
      put(e, "major", d.major);
      put(e, "minor", d.minor);
      if (!d.access.empty()) e["access"] = d.access;
      a.push_back(e);
    }
    j["devices"] = a;
  }
  if (r.memory) {
    json m = json::object();
    put(m, "limit", r.memory->limit);
    put(m, "reservation", r.memory->reservation);
    put(m, "swap", r.memory->swap);
    put(m, "kernel", r.memory->kernel);
    put(m, "kernelTCP", r.memory->kernel_tcp);
    put(m, "swappiness", r.memory->swappiness);
    put(m, "disableOOMKiller", r.memory->disable_oom_killer);
    put(m, "useHierarchy", r.memory->use_hierarchy);
    put(m, "checkBeforeUpdate", r.memory->check_before_update);
    j["memory"] = m;
  }
  if (r.cpu) {
    json c = json::object();
    put(c, "shares", r.cpu->shares);
    put(c, "quota", r.cpu->quota);
    put(c, "burst", r.cpu->burst);
    put(c, "period", r.cpu->period);
    put(c, "realtimeRuntime", r.cpu->realtime_runtime);
    put(c, "realtimePeriod", r.cpu->realtime_period);
    if (!r.cpu->cpus.empty()) c["cpus"] = r.cpu->cpus;
    if (!r.cpu->mems.empty()) c["mems"] = r.cpu->mems;
    put(c, "idle", r.cpu->idle);
    j["cpu"] = c;
  }
  if (r.pids) j["pids"] = {{"limit", r.pids->limit}};
  if (r.block_io) {
    json b = json::object();
    put(b, "weight", r.block_io->weight);
    put(b, "leafWeight", r.block_io->leaf_weight);
    if (!r.block_io->weight_device.empty()) {
      json a = json::array();
      for (auto& w : r.block_io->weight_device) {
        json e = {{"major", w.major}, {"minor", w.minor}};
        put(e, "weight", w.weight);
        put(e, "leafWeight", w.leaf_weight);
        a.push_back(e);
      }
      b["weightDevice"] = a;
    }
    auto throttle = [&](const char* k, const std::vector<ThrottleDevice>& v) {
      if (v.empty()) return;
      json a = json::array();
      for (auto& t : v) a.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
      b[k] = a;
    };
    throttle("throttleReadBpsDevice", r.block_io->throttle_read_bps_device);
    throttle("throttleWriteBpsDevice", r.block_io->throttle_write_bps_device);
    throttle("throttleReadIOPSDevice", r.block_io->throttle_read_iops_device);
    throttle("throttleWriteIOPSDevice", r.block_io->throttle_write_iops_device);
    j["blockIO"] = b;
  }
  if (!r.hugepage_limits.empty()) {
    json a = json::array();
    for (auto& h : r.hugepage_limits) a.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    j["hugepageLimits"] = a;
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j;
}

json seccomp_json(const Seccomp& s) {
  json j = {{"defaultAction", s.default_action}};
  put(j, "defaultErrnoRet", s.default_errno_ret);
  if (!s.architectures.empty()) j["architectures"] = s.architectures;
  if (!s.flags.empty()) j["flags"] = s.flags;
  if (!s.listener_path.empty()) j["listenerPath"] = s.listener_path;
  if (!s.listener_metadata.empty()) j["listenerMetadata"] = s.listener_metadata;
  json a = json::array();
  for (auto& c : s.syscalls) {
    json e = {{"names", c.names}, {"action", c.action}};
    put(e, "errnoRet", c.errno_ret);
    if (!c.args.empty()) {
      json args = json::array();
      for (auto& x : c.args)
        args.push_back({{"index", x.index}, {"value", x.value}, {"valueTwo", x.value_two}, {"op", x.op}});
      e["args"] = args;
    }
    a.push_back(e);
  }
  if (!a.empty()) j["syscalls"] = a;
  return j;
}

json linux_json(const Linux& l) {
  json j = json::object();
  if (!l.uid_mappings.empty()) j["uidMappings"] = mapping_json(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = mapping_json(l.gid_mappings);
  if (!l.sysctl.empty()) j["sysctl"] = l.sysctl;
  if (l.resources) j["resources"] = resources_json(*l.resources);
  if (!l.cgroups_path.empty()) j["cgroupsPath"] = l.cgroups_path;
  json ns = json::array();
  for (auto& n : l.namespaces) {
    json e = {{"type", n.type}};
    if (!n.path.empty()) e["path"] = n.path;
    ns.push_back(e);
  }
  j["namespaces"] = ns;
  if (!l.devices.empty()) {
    json a = json::array();
    for (auto& d : l.devices) {
      json e = {{"type", d.type}, {"path", d.path}};
      if (d.type != "p") {
        e["major"] = d.major;
        e["minor"] = d.minor;
      }
      put(e, "fileMode", d.file_mode);
      put(e, "uid", d.uid);
      put(e, "gid", d.gid);
      a.push_back(e);
    }
    j["devices"] = a;
  }
  if (l.seccomp) j["seccomp"] = seccomp_json(*l.seccomp);
  if (!l.rootfs_propagation.empty()) j["rootfsPropagation"] = l.rootfs_propagation;
  if (!l.masked_paths.empty()) j["maskedPaths"] = l.masked_paths;
  if (!l.readonly_paths.empty()) j["readonlyPaths"] = l.readonly_paths;
  if (!l.mount_label.empty()) j["mountLabel"] = l.mount_label;
  if (l.personality) j["personality"] = {{"domain", l.personality->domain}};
  if (l.memory_policy) {
    json m = {{"mode", l.memory_policy->mode}};
    if (!l.memory_policy->nodes.empty()) m["nodes"] = l.memory_policy->nodes;
    if (!l.memory_policy->flags.empty()) m["flags"] = l.memory_policy->flags;
    j["memoryPolicy"] = m;
  }
  if (!l.time_offsets.empty()) {
    json t = json::object();
    for (auto& [k, v] : l.time_offsets) t[k] = {{"secs", v.secs}, {"nanosecs", v.nanosecs}};
    j["timeOffsets"] = t;
  }
  return j;
}

json parse_text(std::string_view text, const char* what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number too large (1e31080, found
    // by tests/fuzz/seccomp). nlohmann's message carries the byte offset;
    // keep that, drop the prefix.
    std::string m = e.what();
    auto pos = m.find("] ");
    throw Error(std::string(what) + ": malformed JSON: " + (pos == std::string::npos ? m : m.substr(pos + 2)),
                ErrorKind::InvalidArgument);
  }
}

}  // namespace

Spec parse_spec(std::string_view json_text) { return parse_spec_json(parse_text(json_text, "config.json")); }

Spec load_spec(const std::string& bundle_dir, std::string* text_out) {
  std::string path = fs::join(bundle_dir, "config.json");
  std::string local;
  std::string& text = text_out ? *text_out : local;
  try {
    text = fs::read_file(path);
  } catch (Error& e) {
    e.wrap("load bundle config");
    throw;
  }
  try {
    return parse_spec(text);
  } catch (Error& e) {
    throw Error(path + e.message().substr(std::string_view("config.json").size()), e.kind(), e.errno_value());
  }
}

LinuxResources parse_resources(std::string_view json_text, const std::string& source) {
  json j = parse_text(json_text, source.c_str());
  try {
    return parse_resources(j, "resources");
  } catch (Error& e) {
    std::string m = e.message();
    constexpr std::string_view prefix = "config.json: ";
    if (m.starts_with(prefix)) m = source + ": " + m.substr(prefix.size());
    throw Error(m, e.kind(), e.errno_value());
  }
}

Process parse_process(std::string_view json_text) {
  json j = parse_text(json_text, "process.json");
  try {
    return parse_process_obj(j, "process");
  } catch (Error& e) {
    // Same messages, named after the file the user gave.
    std::string m = e.message();
    if (m.rfind("config.json: process", 0) == 0) m = "process.json: " + m.substr(std::string_view("config.json: process").size());
    if (m.rfind("process.json: .", 0) == 0) m.erase(14, 1);
    if (m.rfind("process.json: :", 0) == 0) m = "process.json" + m.substr(14);
    throw Error(m, e.kind(), e.errno_value());
  }
}

std::string process_to_json(const Process& p) { return process_json(p).dump(); }

std::string to_json(const Spec& s) {
  json j;
  j["ociVersion"] = s.oci_version;
  if (s.process) j["process"] = process_json(*s.process);
  j["root"] = {{"path", s.root.path}, {"readonly", s.root.readonly}};
  if (!s.hostname.empty()) j["hostname"] = s.hostname;
  if (!s.domainname.empty()) j["domainname"] = s.domainname;
  json mounts = json::array();
  for (auto& m : s.mounts) {
    json e = {{"destination", m.destination}};
    if (!m.type.empty()) e["type"] = m.type;
    if (!m.source.empty()) e["source"] = m.source;
    if (!m.options.empty()) e["options"] = m.options;
    if (!m.uid_mappings.empty()) e["uidMappings"] = mapping_json(m.uid_mappings);
    if (!m.gid_mappings.empty()) e["gidMappings"] = mapping_json(m.gid_mappings);
    mounts.push_back(e);
  }
  j["mounts"] = mounts;
  if (s.hooks) {
    json h = json::object();
    auto list = [&](const char* k, const std::vector<Hook>& v) {
      if (v.empty()) return;
      json a = json::array();
      for (auto& x : v) a.push_back(hook_json(x));
      h[k] = a;
    };
    list("prestart", s.hooks->prestart);
    list("createRuntime", s.hooks->create_runtime);
    list("createContainer", s.hooks->create_container);
    list("startContainer", s.hooks->start_container);
    list("poststart", s.hooks->poststart);
    list("poststop", s.hooks->poststop);
    j["hooks"] = h;
  }
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  if (s.linux) j["linux"] = linux_json(*s.linux);
  return j.dump(2);
}

Spec default_spec(bool rootless) {
  Spec s;
  s.oci_version = "1.2.0";
  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  p.capabilities = Capabilities{caps, caps, {}, caps, caps};
  p.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;
  s.process = p;
  s.root = {"rootfs", true};
  s.hostname = "berth";
  s.mounts = {
      {"/proc", "proc", "proc", {}, {}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
      {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, {}, {}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}, {}, {}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}, {}, {}},
  };
  Linux l;
  l.resources = LinuxResources{};
  l.resources->devices = {DeviceCgroupRule{false, "a", std::nullopt, std::nullopt, "rwm"}};
  l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"cgroup", ""}};
  l.masked_paths = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  if (rootless) {
    uint32_t uid = static_cast<uint32_t>(::getuid()), gid = static_cast<uint32_t>(::getgid());
    l.namespaces = {{"pid", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"cgroup", ""}, {"user", ""}};
    l.uid_mappings = {{0, uid, 1}};
    l.gid_mappings = {{0, gid, 1}};
    l.resources.reset();
    // Without a network namespace of our own, sysfs cannot be mounted: bind it.
    for (auto& m : s.mounts) {
      if (m.destination == "/sys") m = {"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}, {}, {}};
    }
    std::erase_if(s.mounts, [](const Mount& m) { return m.destination == "/sys/fs/cgroup" ||
                                                        m.destination == "/dev/mqueue"; });
    for (auto& m : s.mounts)
      if (m.destination == "/dev/pts")
        std::erase(m.options, "gid=5");
  }
  s.linux = l;
  return s;
}

}  // namespace berth::oci
