#include "runtime/init.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/clone_vfork.hpp"
#include "runtime/console.hpp"
#include "runtime/hooks.hpp"
#include "runtime/mounts/host_rootfs.hpp"
#include "runtime/init_wait.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/mounts/rootfs.hpp"

namespace berth::runtime {

// ---- shared helpers --------------------------------------------------------

int namespace_flag(const std::string& t) {
  if (t == "pid") return CLONE_NEWPID;
  if (t == "network") return CLONE_NEWNET;
  if (t == "mount") return CLONE_NEWNS;
  if (t == "ipc") return CLONE_NEWIPC;
  if (t == "uts") return CLONE_NEWUTS;
  if (t == "user") return CLONE_NEWUSER;
  if (t == "cgroup") return CLONE_NEWCGROUP;
  if (t == "time") return CLONE_NEWTIME;
  return 0;
}

const char* namespace_proc_name(const std::string& t) {
  if (t == "pid") return "pid";
  if (t == "network") return "net";
  if (t == "mount") return "mnt";
  if (t == "ipc") return "ipc";
  if (t == "uts") return "uts";
  if (t == "user") return "user";
  if (t == "cgroup") return "cgroup";
  if (t == "time") return "time";
  return "";
}

namespace {
struct WireHeader {
  uint32_t type;
  int32_t err;
  int32_t kind;
  int32_t pad;
  int64_t value;
};
}  // namespace

void sync_send(int sock, SyncType type, int64_t value, const std::string& text, int err, int kind) {
  std::string buf(sizeof(WireHeader), '\0');
  WireHeader h{static_cast<uint32_t>(type), err, kind, 0, value};
  std::memcpy(buf.data(), &h, sizeof h);
  buf += text.substr(0, 60000);
  while (::send(sock, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw_errno("sync with container process");
  }
}

bool sync_recv(int sock, SyncMsg& msg) {
  // Uninitialised: a zeroed vector cost a 64 KiB memset and 16 page faults
  // in the parent and again in the child of every start, for messages that
  // are mostly a 24-byte header.
  constexpr size_t kMax = 65536;
  static thread_local std::unique_ptr<char[]> buf(new char[kMax]);
  ssize_t n;
  while ((n = ::recv(sock, buf.get(), kMax, 0)) < 0) {
    if (errno != EINTR) throw_errno("sync with container process");
  }
  if (n == 0) return false;
  if (static_cast<size_t>(n) < sizeof(WireHeader)) fail("sync with container process: short message", ErrorKind::Internal);
  WireHeader h;
  std::memcpy(&h, buf.get(), sizeof h);
  msg.type = static_cast<SyncType>(h.type);
  msg.err = h.err;
  msg.kind = h.kind;
  msg.value = h.value;
  msg.text.assign(buf.get() + sizeof h, static_cast<size_t>(n) - sizeof h);
  return true;
}

namespace {
// What an exception in a child says, as an Error (kind and errno kept).
Error as_error(const std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    return Error(e.what());
  } catch (...) {
  }
  return Error("unknown error");
}
}  // namespace

void child_fail(int sock, const std::exception_ptr& ep) {
  Error e = as_error(ep);
  try {
    sync_send(sock, SyncType::Error, 0, e.message(), e.errno_value(), static_cast<int>(e.kind()));
  } catch (...) {
  }
  _exit(1);
}

void report_start_error(int exec_fifo, const Error& e) {
  std::string record =
      std::to_string(static_cast<int>(e.kind())) + " " + std::to_string(e.errno_value()) + " " + e.message();
  [[maybe_unused]] ssize_t n = ::write(exec_fifo, record.data(), std::min<size_t>(record.size(), PIPE_BUF));
}

void throw_start_error(int exec_fifo_writer) {
  // Reopened for reading through /proc: the path is unlinked by now, and a
  // reader held while the init ran would have hidden its close (POLLERR).
  std::string self = "/proc/self/fd/" + std::to_string(exec_fifo_writer);
  UniqueFd reader(::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!reader) throw_errno("read the exec fifo " + self);
  char buf[PIPE_BUF + 1];
  ssize_t n = ::read(reader.get(), buf, PIPE_BUF);
  if (n <= 0) return;  // empty: the process was exec'd
  buf[n] = 0;
  int kind = 0, err = 0, used = 0;
  if (std::sscanf(buf, "%d %d %n", &kind, &err, &used) < 2)
    fail(std::string("unreadable report from the container init: ") + buf, ErrorKind::Internal);
  std::string message(buf + used);
  if (kind < 0) throw_errno(message, err);  // berth-init-wait: the kind follows the errno
  throw Error(message, static_cast<ErrorKind>(kind), err);
}

void send_seccomp_listener(const oci::Spec& spec, int listener_fd, pid_t pid, const std::string& state_json) {
  UniqueFd fd(listener_fd);
  if (!spec.linux || !spec.linux->seccomp || spec.linux->seccomp->listener_path.empty()) return;
  const auto& sc = *spec.linux->seccomp;
  nlohmann::json msg = {{"ociVersion", spec.oci_version},
                        {"fds", {"seccompFd"}},
                        {"pid", pid},
                        {"metadata", sc.listener_metadata},
                        {"state", nlohmann::json::parse(state_json)}};
  UniqueFd sock;
  try {
    sock = connect_console_socket(sc.listener_path);
  } catch (Error& e) {
    throw Error("linux.seccomp.listenerPath: " + e.message(), e.kind(), e.errno_value());
  }
  send_fd(sock.get(), fd.get(), json_text(msg));
}

pid_t clone3_fork(uint64_t flags, int* pidfd, int cgroup_fd) {
  struct clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = flags | (pidfd ? CLONE_PIDFD : 0) | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  if (cgroup_fd >= 0) args.cgroup = static_cast<uint64_t>(cgroup_fd);
  args.exit_signal = SIGCHLD;
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0) throw_errno("clone3");
  return static_cast<pid_t>(r);
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, __WALL) < 0) {
    if (errno != EINTR) return 0;
  }
  return status;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + sigabbrev_np(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// ---- the child ---------------------------------------------------------------

namespace {

void write_proc(pid_t pid, const char* file, const std::string& data, const std::string& field) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno(field + ": open " + path);
  if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    throw_errno(field + ": write \"" + data.substr(0, data.find('\n')) + "\" to " + path);
}

std::string map_text(const std::vector<oci::IdMapping>& ms) {
  std::string s;
  for (auto& m : ms)
    s += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  return s;
}

struct NsPlan {
  uint64_t clone_flags = 0;     // created by clone3 itself
  int unshare_flags = 0;        // created by the child with unshare()
  int early_unshare = 0;        // created by the child first thing, before go
  std::vector<std::pair<std::string, std::string>> joins;  // type, path (user first)
  bool new_user = false, join_user = false, new_pid = false, join_pid = false;
  bool new_mount = false, new_uts = false, new_cgroup = false, new_time = false;
  std::string pid_path;
};

NsPlan plan_namespaces(const oci::Spec& spec) {
  NsPlan p;
  if (!spec.linux) return p;
  for (auto& ns : spec.linux->namespaces) {
    int flag = namespace_flag(ns.type);
    if (!ns.path.empty()) {
      if (ns.type == "user") {
        p.join_user = true;
        p.joins.insert(p.joins.begin(), {ns.type, ns.path});
      } else if (ns.type == "pid") {
        p.join_pid = true;
        p.pid_path = ns.path;
      } else {
        p.joins.push_back({ns.type, ns.path});
      }
      continue;
    }
    if (ns.type == "user") p.new_user = true;
    if (ns.type == "pid") p.new_pid = true;
    if (ns.type == "mount") p.new_mount = true;
    if (ns.type == "uts") p.new_uts = true;
    if (ns.type == "cgroup") p.new_cgroup = true;
    if (ns.type == "time") p.new_time = true;
    // cgroup: after the parent moved us into the container's cgroup, so the
    // namespace root is that cgroup. time: offsets must be written before
    // any process enters it, which clone3 would not allow.
    if (ns.type == "cgroup" || ns.type == "time") {
      p.unshare_flags |= flag;
    } else {
      p.clone_flags |= static_cast<uint64_t>(flag);
    }
  }
  if (p.join_user) {
    // Namespaces created after joining a user namespace must be owned by it,
    // so the child unshares them after setns(user).
    p.unshare_flags |= static_cast<int>(p.clone_flags & ~static_cast<uint64_t>(CLONE_NEWPID));
    p.clone_flags &= CLONE_NEWPID;
  } else if (!p.new_user && (p.clone_flags & CLONE_NEWNET)) {
    // The network namespace is the costliest to make (~0.5 ms here: the
    // loopback device, per-namespace sysctl tables). clone3 would make it
    // in the parent; the child makes it instead, while the parent makes the
    // cgroup or waits anyway. (With a user namespace it stays in clone3, so
    // that it is owned by that namespace from the start.)
    p.clone_flags &= ~static_cast<uint64_t>(CLONE_NEWNET);
    p.early_unshare = CLONE_NEWNET;
  }
  return p;
}

void set_ids_root() {
  if (::setresgid(0, 0, 0) < 0) throw_errno("become root in the user namespace: setresgid(0)");
  if (::setresuid(0, 0, 0) < 0) throw_errno("become root in the user namespace: setresuid(0)");
}

// Idmapped mounts (mounts_idmap.cpp): the kernel idmaps only a detached tree
// made by a caller privileged over the filesystem's user namespace, i.e. the
// runtime in the host's. Made here once the container's user namespace exists
// (an "idmap" without mappings uses it), sent to the child, which attaches
// them in its mount namespace (crun does the same).
void send_idmapped_mounts(int sock, const oci::Spec& spec, const std::string& bundle, pid_t pid,
                          const NsPlan& plan) {
  if (!has_idmapped_mounts(spec)) return;
  std::string userns_path;
  if (plan.new_user) userns_path = "/proc/" + std::to_string(pid) + "/ns/user";
  if (plan.join_user) userns_path = plan.joins.front().second;  // user is first
  UniqueFd userns;
  if (!userns_path.empty()) {
    userns.reset(::open(userns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) throw_errno("open the container's user namespace " + userns_path);
  }
  PreparedMounts prepared = prepare_mounts(spec, bundle, userns ? userns.get() : -1);
  std::string indexes;
  for (const auto& [i, fd] : prepared.idmapped) indexes += std::to_string(i) + ",";
  sync_send(sock, SyncType::IdmapTrees, static_cast<int64_t>(prepared.idmapped.size()), indexes);
  for (const auto& [i, fd] : prepared.idmapped) send_fd(sock, fd.get(), "idmap");
}

void receive_idmapped_mounts(int sock, const SyncMsg& m, PreparedMounts& out) {
  size_t start = 0;
  for (int64_t n = 0; n < m.value; ++n) {
    size_t comma = m.text.find(',', start);
    if (comma == std::string::npos) fail("sync with the runtime: bad idmapped mount list", ErrorKind::Internal);
    size_t index = std::stoul(m.text.substr(start, comma - start));
    start = comma + 1;
    out.idmapped.emplace(index, recv_fd(sock));
  }
}

struct ChildContext {
  const InitOptions* opts;
  NsPlan plan;
  int sock;
  const CgroupJoin* join;  // the parent's; the child joins with its own copy
  // Started by clone_vfork: the parent waits, suspended, for our execve, so
  // there is no GO message; our host pid is where clone3 stored it.
  bool shares_memory = false;
  const pid_t* host_pid = nullptr;
  int parent_pidfd = -1;  // sharing memory: the runtime, to see it died
  // A `create` whose init waits in berth-init-wait: that program and its
  // seccomp program (init_wait.hpp), or -1.
  int init_wait_program = -1;
  int init_wait_seccomp = -1;
};

// ---- the init's steps, in the order child_main takes them -------------------

// A fresh process: no parent-death surprise, default signals, none blocked.
void reset_signals() {
  // First thing: a runtime that dies before this sends us no signal.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
}

// Sharing the runtime's memory: a runtime killed before the prctl sent no
// signal, so stop rather than build a container nobody recorded. (Forked,
// the EOF on the sync socket before GO says the same.) From here its death
// kills us until Ready, and a `create` killed later leaves us on record.
void stop_unless_runtime_alive(const ChildContext& c) {
  if (!c.shares_memory) return;
  struct pollfd parent = {c.parent_pidfd, POLLIN, 0};
  if (::poll(&parent, 1, 0) != 0) _exit(1);
  if (c.opts->record_init) c.opts->record_init(*c.host_pid);
}

// Never let a container process reach the runtime binary through
// /proc/<init>/exe (CVE-2019-5736): non-dumpable means only a holder of
// CAP_SYS_PTRACE in the host user namespace may. Inside a user namespace
// container root cannot write a host-root file anyway, and staying
// dumpable keeps /proc/self usable for it. Then the namespace clone3 left
// to us (init.cpp, plan_namespaces: the network one).
void hide_runtime_and_unshare_early(const NsPlan& plan, bool user_ns) {
  if (!user_ns) ::prctl(PR_SET_DUMPABLE, 0);
  if (plan.early_unshare && ::unshare(plan.early_unshare) < 0)
    throw_errno("linux.namespaces: new network namespace");
}

// Waits for the runtime's GO (with the idmapped mount trees before it, and
// the v1 dirs of a cgroup made after the clone with it); our own CgroupJoin
// comes out. Returns our pid in the runtime's pid namespace.
pid_t wait_for_go(ChildContext& c, PreparedMounts& idmapped, CgroupJoin& join) {
  const oci::Spec& spec = *c.opts->spec;
  if (c.shares_memory) {
    join = child_copy(*c.join);
    // The parent is suspended until our execve: we write what it would.
    if (spec.process->oom_score_adj)
      write_proc(*c.host_pid, "oom_score_adj", std::to_string(*spec.process->oom_score_adj), "process.oomScoreAdj");
    return *c.host_pid;
  }
  SyncMsg m;
  if (!sync_recv(c.sock, m)) _exit(1);
  if (m.type == SyncType::IdmapTrees) {
    receive_idmapped_mounts(c.sock, m, idmapped);
    if (!sync_recv(c.sock, m)) _exit(1);
  }
  if (m.type != SyncType::Go) _exit(1);
  std::vector<std::string> dirs;
  for (size_t start = 0, end; start < m.text.size(); start = end + 1) {
    end = m.text.find('\n', start);
    if (end == std::string::npos) end = m.text.size();
    if (end > start) dirs.push_back(m.text.substr(start, end - start));
  }
  join = dirs.empty() ? child_copy(*c.join) : open_v1_join(dirs);
  return static_cast<pid_t>(m.value);
}

// Into the container's cgroup before anything else runs: the v2 dir came
// with clone3, the v1 ones are joined here (CgroupJoin says why not by the
// parent). Everything after, hooks included, runs inside it.
void enter_cgroup(CgroupJoin& join) {
  join.v2_dir.reset();
  join_self(join);
}

// Joined namespaces: every path opened first (they are host paths), the
// user namespace first, then the rest.
void join_namespaces(const NsPlan& plan) {
  std::vector<std::pair<UniqueFd, std::string>> fds;
  for (auto& [type, path] : plan.joins) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("linux.namespaces: open " + type + " namespace " + path);
    fds.emplace_back(std::move(fd), type);
  }
  for (auto& [fd, type] : fds) {
    if (::setns(fd.get(), namespace_flag(type)) < 0) throw_errno("linux.namespaces: join " + type + " namespace");
    if (type == "user") set_ids_root();
  }
  if (plan.new_user) set_ids_root();
}

// The namespaces clone3 could not make: those owned by a joined user
// namespace, the cgroup one (after the cgroup join, so its root is the
// container's cgroup) and the time one (offsets before anyone enters it).
void create_late_namespaces(const NsPlan& plan, const oci::Spec& spec) {
  if (plan.unshare_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME)) {
    if (::unshare(plan.unshare_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME)) < 0)
      throw_errno("linux.namespaces: unshare in the joined user namespace");
  }
  if (plan.new_cgroup) {
    if (::unshare(CLONE_NEWCGROUP) < 0) throw_errno("linux.namespaces: new cgroup namespace");
  }
  if (plan.new_time) {
    if (::unshare(CLONE_NEWTIME) < 0) throw_errno("linux.namespaces: new time namespace");
    std::string offsets;
    for (auto& [clock, off] : spec.linux->time_offsets)
      offsets += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    if (!offsets.empty()) {
      UniqueFd fd(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
      if (!fd) throw_errno("linux.timeOffsets: open /proc/self/timens_offsets");
      if (::write(fd.get(), offsets.data(), offsets.size()) < 0)
        throw_errno("linux.timeOffsets: write /proc/self/timens_offsets");
    }
  }
}

void set_host_names(const oci::Spec& spec) {
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    throw_errno("hostname: sethostname \"" + spec.hostname + "\"");
  if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
    throw_errno("domainname: setdomainname \"" + spec.domainname + "\"");
}

// A session keyring of its own, so containers do not share the host's
// (runc's default; --no-new-keyring keeps the caller's). Kernels or user
// namespaces without keyring quota answer ENOSYS/EDQUOT: keep going.
void join_session_keyring(const InitOptions& o) {
  if (o.no_new_keyring) return;
  std::string name = "_ses." + o.id;
  if (::syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name.c_str()) < 0 && errno != ENOSYS &&
      errno != EDQUOT && errno != EACCES)
    throw_errno("join a new session keyring");
}

// The mounts, with the prestart/createRuntime hooks (run by the runtime,
// between our mounts and the pivot) and createContainer hooks (run here)
// at the points the spec gives them; then the root is pivoted.
void build_rootfs(ChildContext& c, PreparedMounts& idmapped, pid_t host_pid, bool user_ns) {
  const oci::Spec& spec = *c.opts->spec;
  const InitOptions& o = *c.opts;
  RootfsOptions ro{o.bundle, o.no_pivot, user_ns};
  ro.host_mounts = shares_host_mounts(spec);
  ro.prepared = &idmapped;
  setup_mounts(spec, ro);
  bool runtime_hooks = spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty());
  if (runtime_hooks) {
    SyncMsg m;
    sync_send(c.sock, SyncType::Hooks);
    if (!sync_recv(c.sock, m)) _exit(1);
    if (m.type != SyncType::HooksDone) _exit(1);
  }
  if (spec.hooks && !spec.hooks->create_container.empty())
    run_hooks(spec.hooks->create_container, o.state_for_hooks(host_pid, "creating"), "createContainer");
  finish_rootfs(spec, ro);
}

void set_up_console(const InitOptions& o, const oci::Spec& spec) {
  if (spec.process->terminal) setup_console(o.console_sock, spec.process->console_size);
  if (o.console_sock >= 0) ::close(o.console_sock);
}

// Tells the runtime the container is built. A `create` whose init waits in
// berth-init-wait does everything up to the execve now, and berth-init-wait
// waits for `start` (in memory of its own, if we shared the runtime's): the
// parent reads Ready, then the EOF of that exec or the error of a failed
// one; that path does not return.
void report_ready(ChildContext& c, const std::string& exe) {
  const oci::Spec& spec = *c.opts->spec;
  const InitOptions& o = *c.opts;
  if (c.init_wait_program >= 0) {
    keep_only_preserved_fds(o.preserve_fds, {c.sock, o.exec_fifo});
    apply_process_settings(*spec.process, spec.linux ? &*spec.linux : nullptr, o.prepared, nullptr, true);
    ::prctl(PR_SET_PDEATHSIG, 0);
    sync_send(c.sock, SyncType::Ready);
    exec_init_wait(c.init_wait_program, o.exec_fifo, c.init_wait_seccomp, exe, *spec.process);
  }
  // From here the init outlives `create` (cleared before READY: the parent
  // may exit the moment it reads it).
  ::prctl(PR_SET_PDEATHSIG, 0);
  sync_send(c.sock, SyncType::Ready);
  if (o.exec_fifo >= 0) {
    ::close(c.sock);
    c.sock = -1;
  }
}

// `start` writes one byte into the fifo we hold open. The fifo stays open
// (close-on-exec): `start` waits for it to close, so it returns only once
// startContainer hooks ran and the process is exec'd. (`run` starts at
// once: no fifo; the sync socket stays open, so errors up to execve still
// reach the parent, and its close-on-exec tells it the process started.)
void wait_for_start(int exec_fifo) {
  if (exec_fifo < 0) return;
  char byte;
  for (;;) {
    ssize_t n = ::read(exec_fifo, &byte, 1);
    if (n == 1) return;
    if (n < 0 && errno == EINTR) continue;
    _exit(1);
  }
}

// startContainer hooks, the process's own settings, execve. Returns only
// if one of them failed.
void start_process(ChildContext& c, pid_t host_pid, const std::string& exe) {
  const oci::Spec& spec = *c.opts->spec;
  const InitOptions& o = *c.opts;
  if (spec.hooks && !spec.hooks->start_container.empty())
    run_hooks(spec.hooks->start_container, o.state_for_hooks(host_pid, "created"), "startContainer");
  keep_only_preserved_fds(o.preserve_fds, {c.sock, o.exec_fifo});
  int listener = -1;
  apply_process_settings(*spec.process, spec.linux ? &*spec.linux : nullptr, o.prepared, &listener);
  if (listener >= 0) send_seccomp_listener(spec, listener, host_pid, o.state_for_hooks(host_pid, "running"));
  exec_process(exe, *spec.process);
}

// The container init, from clone to execve: the lifecycle's "creating"
// steps, then (after `start`) the "running" one.
[[noreturn]] void child_main(ChildContext& c) {
  const oci::Spec& spec = *c.opts->spec;
  const InitOptions& o = *c.opts;
  pid_t host_pid = 0;
  std::string exe;
  try {
    reset_signals();
    stop_unless_runtime_alive(c);
    const bool user_ns = c.plan.new_user || c.plan.join_user;
    hide_runtime_and_unshare_early(c.plan, user_ns);
    PreparedMounts idmapped;
    CgroupJoin join;
    host_pid = wait_for_go(c, idmapped, join);
    enter_cgroup(join);
    join_namespaces(c.plan);
    create_late_namespaces(c.plan, spec);
    set_host_names(spec);
    join_session_keyring(o);
    build_rootfs(c, idmapped, host_pid, user_ns);
    apply_sysctls(spec);
    set_up_console(o, spec);
    exe = resolve_executable(*spec.process);
    report_ready(c, exe);
  } catch (...) {
    child_fail(c.sock, std::current_exception());
  }
  wait_for_start(o.exec_fifo);
  try {
    start_process(c, host_pid, exe);
  } catch (...) {
    if (c.sock >= 0) child_fail(c.sock, std::current_exception());
    // The creator is gone: `start` reads this once we are gone, and the
    // container's stderr gets it too (its log outlives `start`).
    Error e = as_error(std::current_exception());
    report_start_error(o.exec_fifo, e);
    std::string line = std::string("berth-runtime: start container: ") + e.what() + "\n";
    [[maybe_unused]] ssize_t n = ::write(2, line.data(), line.size());
  }
  _exit(127);
}

}  // namespace

// ---- the parent --------------------------------------------------------------

bool init_waits_in_helper(const oci::Spec& spec, bool start_now) {
  // berth-init-wait is x86-64 code, like clone_vfork's trampoline.
  if (start_now || !clone_vfork_supported() || !spec.process) return false;
  // It runs neither startContainer hooks nor hands a seccomp notify fd on.
  if (spec.hooks && !spec.hooks->start_container.empty()) return false;
  if (spec.linux && spec.linux->seccomp) {
    const auto& sc = *spec.linux->seccomp;
    if (!sc.listener_path.empty() || sc.default_action == "SCMP_ACT_NOTIFY") return false;
    for (const auto& r : sc.syscalls)
      if (r.action == "SCMP_ACT_NOTIFY") return false;
  }
  return true;
}

bool init_shares_memory(const oci::Spec& spec, bool start_now) {
  if (!clone_vfork_supported() || !spec.process) return false;
  if (spec.linux) {
    for (const auto& ns : spec.linux->namespaces) {
      // The parent writes a new user namespace's id maps; setns into a user
      // or time namespace needs memory of one's own (EINVAL, EUSERS).
      if (ns.type == "user") return false;
      if (ns.type == "time" && !ns.path.empty()) return false;
    }
  }
  if (spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty())) return false;
  if (has_idmapped_mounts(spec)) return false;
  // A `create` init must then leave the runtime's memory to wait.
  return start_now || init_waits_in_helper(spec, start_now);
}

InitProcess spawn_init(const InitOptions& o) {
  const oci::Spec& spec = *o.spec;
  if (!spec.process) fail("config.json: process: missing (nothing to run)");
  NsPlan plan = plan_namespaces(spec);
  if (shares_host_mounts(spec) && (plan.new_user || plan.join_user))
    fail("config.json: linux.namespaces: a user namespace needs a mount namespace too (from a user namespace "
         "the container could not mount in the host's mount namespace)",
         ErrorKind::Unsupported);
  if (plan.join_user && plan.new_pid)
    fail("config.json: linux.namespaces: a new pid namespace with a joined user namespace is not supported",
         ErrorKind::Unsupported);
  if (spec.process->terminal && o.console_sock < 0)
    fail("process.terminal is true: a --console-socket is required to pass the terminal", ErrorKind::InvalidArgument);

  // A joined pid namespace applies to children only: enter it for the clone,
  // then come back so our later children (hooks) stay in ours.
  UniqueFd own_pid_ns, target_pid_ns;
  if (plan.join_pid) {
    target_pid_ns.reset(::open(plan.pid_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!target_pid_ns) throw_errno("linux.namespaces: open pid namespace " + plan.pid_path);
    own_pid_ns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pid_ns) throw_errno("open /proc/self/ns/pid");
    if (::setns(target_pid_ns.get(), CLONE_NEWPID) < 0) throw_errno("linux.namespaces: join pid namespace " + plan.pid_path);
  }

  // With a new user namespace the child cannot join a network, ipc or uts
  // namespace of the host's user namespace (setns wants CAP_SYS_ADMIN over
  // its owner; EPERM): an engine's netns, say, made by the host. The parent
  // enters those for the clone, the child inherits them, and the parent
  // comes back, as for a joined pid namespace (runc's nsexec also joins
  // before it makes the user namespace).
  std::vector<std::pair<UniqueFd, int>> own_joined;  // our own namespace, its flag
  auto leave_joined = [&] {
    for (auto& [own, flag] : own_joined) ::setns(own.get(), flag);
    own_joined.clear();
  };
  struct LeaveJoined {  // also on any throw between here and the clone
    decltype(leave_joined)& leave;
    ~LeaveJoined() { leave(); }
  } leave_joined_guard{leave_joined};
  if (plan.new_user) {
    std::vector<std::pair<std::string, std::string>> child_joins;
    try {
      for (auto& [type, path] : plan.joins) {
        int flag = namespace_flag(type);
        if (flag != CLONE_NEWNET && flag != CLONE_NEWIPC && flag != CLONE_NEWUTS) {
          child_joins.emplace_back(type, path);
          continue;
        }
        UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!target) throw_errno("linux.namespaces: open " + type + " namespace " + path);
        UniqueFd own(::open((std::string("/proc/self/ns/") + namespace_proc_name(type)).c_str(), O_RDONLY | O_CLOEXEC));
        if (!own) throw_errno(std::string("open /proc/self/ns/") + namespace_proc_name(type));
        if (::setns(target.get(), flag) < 0) throw_errno("linux.namespaces: join " + type + " namespace " + path);
        own_joined.emplace_back(std::move(own), flag);
      }
    } catch (...) {
      leave_joined();
      if (own_pid_ns) ::setns(own_pid_ns.get(), CLONE_NEWPID);
      throw;
    }
    plan.joins = child_joins;
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);

  const bool shares_memory = !o.cgroup_needs_pid && init_shares_memory(spec, o.exec_fifo < 0);
  const bool waits_in_helper = init_waits_in_helper(spec, o.exec_fifo < 0);
  CgroupJoin join;
  if (o.cgroup) {
    join = o.cgroup->open_join();
  } else if (o.make_cgroup && shares_memory) {
    // The parent cannot work beside this child: the cgroup comes first.
    join = o.make_cgroup(0)->open_join();
  }

  int pidfd = -1;
  pid_t pid;
  pid_t child_host_pid = 0;
  ChildContext child{&o, plan, child_sock.get(), &join, shares_memory, &child_host_pid};
  UniqueFd self_pidfd;
  if (shares_memory) {
    self_pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    if (!self_pidfd) throw_errno("pidfd_open of the runtime itself");
    child.parent_pidfd = self_pidfd.get();
  }
  UniqueFd init_wait_program, init_wait_seccomp;
  if (waits_in_helper) {
    init_wait_program = runtime::init_wait_program();
    child.init_wait_program = init_wait_program.get();
    if (o.prepared && o.prepared->seccomp && spec.process->no_new_privileges) {
      init_wait_seccomp = runtime::init_wait_seccomp(*o.prepared->seccomp);
      child.init_wait_seccomp = init_wait_seccomp.get();
    }
  }
  try {
    int cgroup_fd = join.v2_dir ? join.v2_dir.get() : -1;
    if (shares_memory) {
      pid = clone_vfork({plan.clone_flags, &pidfd, cgroup_fd, &child_host_pid},
                        [](void* c) { child_main(*static_cast<ChildContext*>(c)); }, &child);
    } else {
      pid = clone3_fork(plan.clone_flags, &pidfd, cgroup_fd);
    }
  } catch (Error& e) {
    if (own_pid_ns) ::setns(own_pid_ns.get(), CLONE_NEWPID);
    leave_joined();
    e.wrap("clone the container init with its namespaces");
    throw;
  }
  if (pid == 0) {
    parent_sock.reset();
    child_main(child);
  }
  leave_joined();
  if (own_pid_ns && ::setns(own_pid_ns.get(), CLONE_NEWPID) < 0) throw_errno("return to our pid namespace");
  child_sock.reset();
  InitProcess init{pid, UniqueFd(pidfd)};

  // If the child failed meanwhile (so it vanished under us), its own error
  // is the cause worth reporting, not our failed write to it.
  auto child_error_first = [&] {
    struct pollfd p = {parent_sock.get(), POLLIN, 0};
    SyncMsg m;
    if (::poll(&p, 1, 0) == 1 && sync_recv(parent_sock.get(), m) && m.type == SyncType::Error)
      throw Error(m.text, static_cast<ErrorKind>(m.kind), m.err);
  };
  try {
    if (plan.new_user) {
      write_proc(pid, "uid_map", map_text(spec.linux->uid_mappings), "linux.uidMappings");
      write_proc(pid, "gid_map", map_text(spec.linux->gid_mappings), "linux.gidMappings");
    }
    join = {};  // the child has its copies
    if (!shares_memory) {
      std::string late_join;  // the v1 dirs of a cgroup made now, one per line
      if (o.make_cgroup) {
        Cgroup* cg = o.make_cgroup(pid);
        for (const auto& d : cg->v1_dirs()) late_join += d + "\n";
      }
      // Before GO: the child cannot outlive us before it has it.
      if (o.record_init) o.record_init(pid);
      try {
        send_idmapped_mounts(parent_sock.get(), spec, o.bundle, pid, plan);
        sync_send(parent_sock.get(), SyncType::Go, pid, late_join);
        if (spec.process->oom_score_adj)
          write_proc(pid, "oom_score_adj", std::to_string(*spec.process->oom_score_adj), "process.oomScoreAdj");
      } catch (const Error&) {
        child_error_first();
        throw;
      }
    }
    // (Sharing memory, the child has exec'd or exited by now: what it said
    // is already queued on the socket, read below.)
    for (;;) {
      SyncMsg m;
      if (!sync_recv(parent_sock.get(), m)) {
        int status = wait_child(pid);
        init.pid = 0;
        throw Error("container init exited before it was ready (" + describe_wait_status(status) + ")",
                    ErrorKind::Internal);
      }
      if (m.type == SyncType::Ready) {
        if (o.exec_fifo >= 0 && !waits_in_helper) break;
        // Started at once (run), or waiting in berth-init-wait: wait for
        // that execve (EOF) or a late error.
        SyncMsg late;
        if (sync_recv(parent_sock.get(), late) && late.type == SyncType::Error) {
          wait_child(pid);
          init.pid = 0;
          throw Error(late.text, static_cast<ErrorKind>(late.kind), late.err);
        }
        break;
      }
      if (m.type == SyncType::Error) throw Error(m.text, static_cast<ErrorKind>(m.kind), m.err);
      if (m.type == SyncType::Hooks) {
        if (o.create_runtime_hooks) o.create_runtime_hooks(pid);
        sync_send(parent_sock.get(), SyncType::HooksDone);
      }
    }
  } catch (...) {
    if (init.pid != 0) {
      ::syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0);
      wait_child(pid);
    }
    throw;
  }
  return init;
}

}  // namespace berth::runtime
