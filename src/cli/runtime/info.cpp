// list, ps, features, spec.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/runtime/cli.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::cli {

using json = nlohmann::json;

namespace {

// Columns padded like Go's tabwriter (minwidth 12, padding 1), as runc prints.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], std::max<size_t>(r[i].size() + 1, 12));
    }
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size(), ' ');
    }
    print_line(line);
  }
}

}  // namespace

int cmd_list(const runtime::GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"format", "f"}, true}, {{"quiet", "q"}, false}}, false, "list");
  a.expect_positional(0, 0, "[--format table|json] [--quiet]");
  std::string format = a.value("format", "table");
  if (format != "table" && format != "json") fail("list: --format must be table or json, not \"" + format + "\"");
  auto all = runtime::list_containers(g);
  if (a.flag("quiet")) {
    for (auto& c : all) print_line(c.state.id);
    return 0;
  }
  if (format == "json") {
    json arr = json::array();
    for (auto& c : all) arr.push_back(json::parse(runtime::state_json(c.state, c.status, false)));
    print_line(json_text(arr));
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (auto& c : all)
    rows.push_back({c.state.id, std::to_string(c.status == runtime::Status::Stopped ? 0 : c.state.pid),
                    runtime::status_name(c.status), c.state.bundle, c.state.created, c.state.owner});
  print_table(rows);
  return 0;
}

int cmd_ps(const runtime::GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"format", "f"}, true}}, true, "ps");
  if (a.positional().empty()) fail("ps: missing container id; usage: berth-runtime ps [--format table|json] ID [ps options]");
  std::string format = a.value("format", "table");
  if (format != "table" && format != "json") fail("ps: --format must be table or json, not \"" + format + "\"");
  auto pids = runtime::container_pids(g, a.positional()[0]);
  std::sort(pids.begin(), pids.end());
  if (format == "json") {
    print_line(json_text(json(pids)));
    return 0;
  }
  // Like runc: run ps(1) with the given options and keep the container's rows.
  std::string cmd = "ps";
  std::vector<std::string> opts(a.positional().begin() + 1, a.positional().end());
  if (opts.empty()) opts = {"-ef"};
  for (auto& o : opts) {
    cmd += " '";
    for (char c : o) cmd += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += "'";
  }
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  if (p) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int rc = ::pclose(p);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) out.clear();
  }
  std::set<pid_t> want(pids.begin(), pids.end());
  std::istringstream in(out);
  std::string header;
  if (out.empty() || !std::getline(in, header)) {
    print_line("PID\tCMD");
    for (pid_t pid : pids) {
      std::string cmdline;
      try {
        cmdline = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline");
      } catch (const Error&) {
      }
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      print_line(std::to_string(pid) + "\t" + cmdline);
    }
    return 0;
  }
  std::istringstream hs(header);
  std::string col;
  int pid_col = -1;
  for (int i = 0; hs >> col; ++i)
    if (col == "PID") pid_col = i;
  if (pid_col < 0) fail("ps: the ps options must print a PID column");
  print_line(header);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string f;
    for (int i = 0; i <= pid_col && ls >> f; ++i) {
    }
    if (want.count(static_cast<pid_t>(std::atoi(f.c_str())))) print_line(line);
  }
  return 0;
}

int cmd_features(const runtime::GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, {}, false, "features");
  a.expect_positional(0, 0, "");
  json f = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.3.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async",     "atime",     "bind",     "defaults",   "dev",      "diratime", "dirsync",  "exec",
        "iversion",  "lazytime",  "loud",     "mand",       "noatime",  "nodev",    "nodiratime", "noexec",
        "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow",
        "private",   "ratime",    "rbind",    "rdev",       "rdiratime", "relatime", "remount",  "rexec",
        "rnoatime",  "rnodev",    "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
        "rnosymfollow", "ro",     "rprivate", "rrelatime",  "rro",      "rrw",      "rshared",  "rslave",
        "rstrictatime", "rsuid",  "rsymfollow", "runbindable", "rw",    "shared",   "silent",   "slave",
        "strictatime", "suid",    "symfollow", "sync",      "tmpcopyup", "unbindable", "idmap", "ridmap"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"capabilities",
         {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
          "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
          "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
          "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
          "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
          "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
          "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
          "CAP_CHECKPOINT_RESTORE"}},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
            "SCMP_CMP_NE"}},
          {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}},
          {"knownFlags",
           {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}},
          {"supportedFlags",
           {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"memoryPolicy",
         {{"modes",
           {"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED",
            "MPOL_PREFERRED_MANY", "MPOL_LOCAL"}},
          {"flags", {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"}}}},
        {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
      {"annotations", {{"org.opencontainers.runtime-spec.features.linux.namespaces.time", "true"}}},
  };
  print_line(json_text(f, 4));
  return 0;
}

int cmd_spec(const runtime::GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, {{{"bundle", "b"}, true}, {{"rootless"}, false}}, false, "spec");
  a.expect_positional(0, 0, "[--bundle DIR] [--rootless]");
  std::string dir = a.value("bundle", ".");
  std::string path = fs::join(dir, "config.json");
  if (fs::exists(path)) throw Error("spec: " + path + " exists; remove it first", ErrorKind::AlreadyExists);
  fs::write_file(path, oci::to_json(oci::default_spec(a.flag("rootless"))) + "\n");
  return 0;
}

}  // namespace berth::cli
