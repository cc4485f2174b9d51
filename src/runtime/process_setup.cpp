#include "runtime/process_setup.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <grp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/lsm_labels.hpp"
#include "runtime/memory_policy.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/seccomp.hpp"

namespace berth::runtime {
namespace {

// Engines classify a failed start by the text of the runtime's error, the
// way runc words it: Docker maps "no such file or directory" and
// "executable file not found" to exit 127 and "permission denied" to 126,
// matching lowercase only (tests/e2e/FINDINGS.md F4). So the cause is
// spelled in runc's words here rather than with strerror's capitals.
[[noreturn]] void exec_lookup_failed(const std::string& what, int err) {
  const char* cause = err == ENOENT    ? "no such file or directory"
                      : err == EACCES  ? "permission denied"
                      : err == ENOTDIR ? "not a directory"
                                       : nullptr;
  if (!cause) throw_errno(what, err);
  throw Error(what + ": " + cause,
              err == EACCES ? ErrorKind::FailedPrecondition : ErrorKind::NotFound);
}

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ioprio_set(2) has no glibc wrapper.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;

long io_priority_value(const oci::IoPriority& io) {
  int cls;
  if (io.io_class == "IOPRIO_CLASS_RT") {
    cls = 1;
  } else if (io.io_class == "IOPRIO_CLASS_BE") {
    cls = 2;
  } else if (io.io_class == "IOPRIO_CLASS_IDLE") {
    cls = 3;
  } else {
    fail("process.ioPriority.class: unknown class \"" + io.io_class +
         "\" (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)");
  }
  if (io.priority < 0 || io.priority > 7)
    fail("process.ioPriority.priority: " + std::to_string(io.priority) + " is not 0..7");
  return (static_cast<long>(cls) << kIoprioClassShift) | io.priority;
}

void apply_io_priority(const oci::IoPriority& io) {
  if (syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, io_priority_value(io)) != 0)
    throw_errno("process.ioPriority: ioprio_set " + io.io_class + " " +
                std::to_string(io.priority));
}

bool setgroups_denied() {
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16] = {};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && std::string_view(buf, static_cast<size_t>(n)).starts_with("deny");
}

void set_user(const oci::User& u) {
  const auto& g = u.additional_gids;
  if (setgroups(g.size(), g.empty() ? nullptr : reinterpret_cast<const gid_t*>(g.data())) != 0) {
    // In a user namespace with setgroups denied only "no groups" is possible
    // and is what the process already has.
    if (!(errno == EPERM && g.empty() && setgroups_denied()))
      throw_errno("process.user.additionalGids: setgroups");
  }
  if (setresgid(u.gid, u.gid, u.gid) != 0)
    throw_errno("process.user.gid: setgid " + std::to_string(u.gid));
  if (setresuid(u.uid, u.uid, u.uid) != 0)
    throw_errno("process.user.uid: setuid " + std::to_string(u.uid));
}

std::string env_path(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.starts_with("PATH=")) return e.substr(5);
  return kDefaultPath;
}

bool is_executable_file(const std::string& p, int* err) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    return false;
  }
  if (access(p.c_str(), X_OK) != 0) {
    *err = errno;
    return false;
  }
  return true;
}

}  // namespace

std::string resolve_executable(const oci::Process& process) {
  if (process.args.empty()) fail("process.args: must not be empty");
  const std::string& name = process.args[0];
  if (name.empty()) fail("process.args[0]: must not be empty");
  int err = 0;
  if (name.find('/') != std::string::npos) {
    std::string p = name;
    if (name[0] != '/') p = (process.cwd.empty() ? std::string("/") : process.cwd) + "/" + name;
    if (is_executable_file(p, &err)) return p;
    exec_lookup_failed("exec: \"" + name + "\"", err);
  }
  std::string path = env_path(process.env);
  int first_err = 0;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate, &err)) return candidate;
    // Like execvp: a file that exists but cannot be run is the better error.
    if (err != ENOENT && err != ENOTDIR && first_err == 0) first_err = err;
    start = end + 1;
  }
  if (first_err != 0) exec_lookup_failed("exec: \"" + name + "\" found in $PATH but not runnable", first_err);
  throw Error("exec: \"" + name + "\": executable file not found in $PATH", ErrorKind::NotFound);
}

// linux.personality: survives execve, so the process's uname(2) reports
// i686 under LINUX32.
static void apply_personality(const oci::Personality& p) {
  if (::personality(p.domain == "LINUX32" ? PER_LINUX32 : PER_LINUX) < 0)
    throw_errno("linux.personality: personality " + p.domain);
}

PreparedProcess::PreparedProcess() = default;
PreparedProcess::PreparedProcess(PreparedProcess&&) noexcept = default;
PreparedProcess& PreparedProcess::operator=(PreparedProcess&&) noexcept = default;
PreparedProcess::~PreparedProcess() = default;

PreparedProcess prepare_process_settings(const oci::Process& process,
                                         const oci::Linux* linux_config,
                                         const std::string& seccomp_cache_dir,
                                         std::string_view label_source) {
  // Here, as every create and exec prepares its process once.
  accept_process_labels(process, label_source);
  for (size_t i = 0; i < process.rlimits.size(); ++i) {
    const auto& rl = process.rlimits[i];
    const std::string field = "process.rlimits[" + std::to_string(i) + "] (" + rl.type + ")";
    if (rlimit_resource(rl.type) < 0) fail(field + ": unknown rlimit type");
    if (rl.soft > rl.hard)
      fail(field + ": soft limit " + std::to_string(rl.soft) + " exceeds hard limit " +
           std::to_string(rl.hard));
  }
  if (process.io_priority) io_priority_value(*process.io_priority);
  if (process.exec_cpu_affinity) check_exec_cpu_affinity(*process.exec_cpu_affinity);
  if (linux_config && linux_config->memory_policy) check_memory_policy(*linux_config->memory_policy);
  PreparedProcess p;
  if (process.capabilities) {
    CapSets c = resolve_capabilities(*process.capabilities);
    p.has_caps = true;
    p.bounding = c.bounding;
    p.effective = c.effective;
    p.inheritable = c.inheritable;
    p.permitted = c.permitted;
    p.ambient = c.ambient;
  }
  if (linux_config && linux_config->seccomp) {
    p.seccomp = std::make_unique<SeccompFilter>(
        seccomp_cache_dir.empty()
            ? SeccompFilter(*linux_config->seccomp)
            : SeccompFilter::cached(*linux_config->seccomp, seccomp_cache_dir));
  }
  return p;
}

void apply_process_settings(const oci::Process& process, const oci::Linux* linux_config,
                            const PreparedProcess* prepared, int* listener_fd, bool nnp_seccomp_by_caller) {
  if (listener_fd) *listener_fd = -1;
  // Everything that can fail on bad input is checked before the first
  // irreversible step.
  PreparedProcess own;
  if (!prepared) {
    own = prepare_process_settings(process, linux_config);
    prepared = &own;
  }
  std::optional<CapSets> caps;
  if (prepared->has_caps)
    caps = CapSets{prepared->bounding, prepared->effective, prepared->inheritable,
                   prepared->permitted, prepared->ambient};
  const SeccompFilter* filter = prepared->seccomp.get();

  apply_rlimits(process.rlimits);
  if (process.io_priority) apply_io_priority(*process.io_priority);
  // While CAP_SYS_NICE is still ours (real-time policies, negative nice).
  if (process.scheduler) apply_scheduler(*process.scheduler);
  if (linux_config && linux_config->personality) apply_personality(*linux_config->personality);
  if (linux_config && linux_config->memory_policy) apply_memory_policy(*linux_config->memory_policy);
  umask(process.user.umask.value_or(022));

  if (caps) drop_bounding(*caps);

  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
  // capability step may drop: load it now (runc does the same). The filter
  // must then allow the set*id/capset calls below.
  auto load_filter = [&] {
    int fd = filter->load();
    if (listener_fd) {
      *listener_fd = fd;
    } else if (fd >= 0) {
      close(fd);
    }
  };
  if (filter && !process.no_new_privileges) load_filter();

  if (caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_errno("prctl PR_SET_KEEPCAPS");
  set_user(process.user);
  if (caps) {
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) throw_errno("prctl PR_SET_KEEPCAPS 0");
    set_capabilities(*caps);
  }

  if (process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw_errno("process.noNewPrivileges: prctl PR_SET_NO_NEW_PRIVS");

  const std::string cwd = process.cwd.empty() ? "/" : process.cwd;
  if (chdir(cwd.c_str()) != 0) throw_errno("process.cwd: chdir " + cwd);

  if (filter && process.no_new_privileges && !nnp_seccomp_by_caller) load_filter();
}

void keep_only_preserved_fds(unsigned preserve_fds, std::initializer_list<int> ours) {
  for (unsigned fd = 3; fd < 3 + preserve_fds; ++fd) {
    if (std::find(ours.begin(), ours.end(), static_cast<int>(fd)) != ours.end()) continue;
    int fl = ::fcntl(static_cast<int>(fd), F_GETFD);
    if (fl >= 0) ::fcntl(static_cast<int>(fd), F_SETFD, fl & ~FD_CLOEXEC);
  }
  ::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
}

void exec_process(const std::string& path, const oci::Process& process) {
  std::vector<char*> argv;
  argv.reserve(process.args.size() + 1);
  for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(process.env.size() + 1);
  for (const auto& e : process.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  execve(path.c_str(), argv.data(), envp.data());
  exec_lookup_failed("exec \"" + path + "\"", errno);
}

}  // namespace berth::runtime
