#include "runtime/exec.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/clone_vfork.hpp"
#include "runtime/console.hpp"
#include "runtime/init.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/scheduler.hpp"

namespace berth::runtime {

namespace {

const char* kNamespaceTypes[] = {"user", "mount", "pid", "network", "ipc", "uts", "cgroup", "time"};

bool same_ns(pid_t pid, const char* name) {
  struct stat a, b;
  std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
  std::string ours = std::string("/proc/self/ns/") + name;
  if (::stat(theirs.c_str(), &a) < 0) throw_errno("inspect namespace " + theirs);
  if (::stat(ours.c_str(), &b) < 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// What the exec child works from. It holds the parent's objects by pointer
// and its own fds as plain numbers: a child sharing our memory
// (clone_vfork.hpp) closes its copies with ::close() and must not reset the
// parent's UniqueFds, which would leave the parent's copies open.
struct ExecChild {
  const ExecOptions* o;
  const oci::Spec* spec;
  const PreparedProcess* prepared;
  const ContainerState* st;
  const CgroupJoin* join;
  int sock, parent_sock, initfd, console_fd, console_parent;
  int root_fd;  // the init's root, for a container without a mount namespace; else -1
  const cpu_set_t* init_cpus;  // execCPUAffinity with an initial list only: the init's CPUs
  int join_flags;
  bool cgroup_ns, join_user, shares_memory;
};

[[noreturn]] void exec_child(const ExecChild& c) {
  const ExecOptions& o = *c.o;
  ::close(c.parent_sock);
  if (c.console_parent >= 0) ::close(c.console_parent);
  try {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // See init.cpp: /proc/<pid>/exe of this process is the runtime binary
    // until execve; a container process must not reach it.
    if (!c.join_user) ::prctl(PR_SET_DUMPABLE, 0);
    if (!c.shares_memory) {
      SyncMsg m;
      if (!sync_recv(c.sock, m) || m.type != SyncType::Go) _exit(1);
    }
    // execCPUAffinity: where the process runs before and after it joins
    // the container's cgroup (without a final list, where the init runs).
    const auto& affinity = o.process.exec_cpu_affinity;
    if (affinity && !affinity->initial.empty())
      set_cpu_affinity(affinity->initial, "process.execCPUAffinity.initial");
    CgroupJoin join = child_copy(*c.join);
    join.v2_dir.reset();
    join_self(join);
    if (affinity && !affinity->final_cpus.empty()) {
      set_cpu_affinity(affinity->final_cpus, "process.execCPUAffinity.final");
    } else if (c.init_cpus) {
      set_cpu_affinity(*c.init_cpus, "process.execCPUAffinity: run where the init runs");
    }
    if (c.join_flags && ::setns(c.initfd, c.join_flags) < 0) throw_errno("join the namespaces of container " + o.id);
    if (c.cgroup_ns && ::setns(c.initfd, CLONE_NEWCGROUP) < 0)
      throw_errno("join the cgroup namespace of container " + o.id);
    ::close(c.initfd);
    // Sharing our mount namespace, the container differs only by its root
    // (host_rootfs.hpp): take the init's, or this process would run in the
    // host's filesystem (runc's exec does).
    if (c.root_fd >= 0) {
      if (::fchdir(c.root_fd) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0)
        throw_errno("enter the root directory of container " + o.id);
      ::close(c.root_fd);
    }
    if (c.join_user) {
      if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) throw_errno("become root in the user namespace");
    }
    if (o.process.terminal) setup_console(c.console_fd, o.process.console_size);
    if (c.console_fd >= 0) ::close(c.console_fd);
    std::string exe = resolve_executable(o.process);
    keep_only_preserved_fds(o.preserve_fds);
    // The process outlives a detached exec.
    ::prctl(PR_SET_PDEATHSIG, 0);
    int listener = -1;
    const oci::Spec& spec = *c.spec;
    apply_process_settings(o.process, spec.linux ? &*spec.linux : nullptr, c.prepared, &listener);
    if (listener >= 0) send_seccomp_listener(spec, listener, 0, state_json(*c.st, Status::Running, false));
    // Success is the sync socket closing on execve (it is close-on-exec).
    exec_process(exe, o.process);
  } catch (...) {
    child_fail(c.sock, std::current_exception());
  }
}

}  // namespace

oci::Process container_process(const GlobalOptions& g, const std::string& id) {
  ContainerState st = load_state(g.root, id);
  oci::Spec spec = oci::parse_spec(st.config);
  if (!spec.process) fail("container " + id + " has no process config", ErrorKind::Corrupt);
  return *spec.process;
}

int exec_in_container(const GlobalOptions& g, const ExecOptions& o) {
  ContainerState st = load_state(g.root, o.id);
  Status s = current_status(g.root, st);
  if (s == Status::Stopped || s == Status::Creating)
    throw Error(std::string("exec in container ") + o.id + ": container is " + status_name(s),
                ErrorKind::FailedPrecondition);
  if (s == Status::Paused && !o.ignore_paused)
    throw Error("exec in container " + o.id + ": container is paused", ErrorKind::FailedPrecondition);
  oci::Spec spec = oci::parse_spec(st.config);
  if (o.process.args.empty()) fail("exec: no command given");
  if (o.process.terminal && o.console_socket.empty() && o.detach)
    fail("exec --tty --detach needs a --console-socket to hand the terminal to");

  PreparedProcess prepared = prepare_process_settings(o.process, spec.linux ? &*spec.linux : nullptr,
                                                      fs::join(g.root, ".seccomp-cache"), "exec process");
  // Pin the init: namespaces are taken from this exact process.
  UniqueFd initfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
  if (!initfd || !init_alive(st))
    throw Error("exec in container " + o.id + ": container not running", ErrorKind::FailedPrecondition);

  int join_flags = 0;
  bool join_user = false, join_pid = false;
  for (const char* t : kNamespaceTypes) {
    if (same_ns(st.pid, namespace_proc_name(t))) continue;
    if (std::string(t) == "pid") {
      join_pid = true;
      continue;
    }
    if (std::string(t) == "user") join_user = true;
    join_flags |= namespace_flag(t);
  }
  bool cgroup_ns = join_flags & CLONE_NEWCGROUP;
  join_flags &= ~CLONE_NEWCGROUP;
  UniqueFd root_fd;
  if (!(join_flags & CLONE_NEWNS)) {
    std::string root = "/proc/" + std::to_string(st.pid) + "/root";
    root_fd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    // Checked after the open, as the pidfd was: a reused pid's root is not it.
    if (!root_fd || !init_alive(st))
      throw Error("exec in container " + o.id + ": container not running", ErrorKind::FailedPrecondition);
  }

  std::unique_ptr<Cgroup> cg;
  if (!st.cgroup.empty()) cg = Cgroup::from_json(st.cgroup);
  std::optional<cpu_set_t> init_cpus;
  if (const auto& a = o.process.exec_cpu_affinity; a && !a->initial.empty() && a->final_cpus.empty())
    init_cpus = cpu_affinity_of(st.pid, "process.execCPUAffinity");

  UniqueFd console, console_parent;
  int console_fd = -1;
  if (o.process.terminal) {
    if (!o.console_socket.empty()) {
      console = connect_console_socket(o.console_socket);
      console_fd = console.get();
    } else {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
      console_parent.reset(sv[0]);
      console.reset(sv[1]);
      console_fd = sv[1];
    }
  }

  if (!o.detach) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    block_forwarded_signals();
  }

  UniqueFd own_pid_ns;
  if (join_pid) {
    own_pid_ns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (::setns(initfd.get(), CLONE_NEWPID) < 0) throw_errno("exec: join the pid namespace of container " + o.id);
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);
  CgroupJoin join;  // the child joins the container's cgroups itself (see CgroupJoin)
  if (cg) join = cg->open_join();
  // The parent has nothing to do between the clone and the child's
  // execve, so the child shares our memory while we sleep (clone_vfork.hpp),
  // where the architecture allows it -- unless it joins a time namespace,
  // which the kernel allows only a process whose memory is its own (EUSERS).
  ExecChild child{&o,
                  &spec,
                  &prepared,
                  &st,
                  &join,
                  child_sock.get(),
                  parent_sock.get(),
                  initfd.get(),
                  console_fd,
                  console_parent ? console_parent.get() : -1,
                  root_fd.get(),
                  init_cpus ? &*init_cpus : nullptr,
                  join_flags,
                  cgroup_ns,
                  join_user,
                  clone_vfork_supported() && !(join_flags & CLONE_NEWTIME)};
  int pidfd = -1;
  pid_t pid;
  try {
    int cgroup_fd = join.v2_dir ? join.v2_dir.get() : -1;
    if (child.shares_memory) {
      pid = clone_vfork({0, &pidfd, cgroup_fd, nullptr}, [](void* c) { exec_child(*static_cast<ExecChild*>(c)); },
                        &child);
    } else {
      pid = clone3_fork(0, &pidfd, cgroup_fd);
      if (pid == 0) exec_child(child);
    }
  } catch (Error& e) {
    if (own_pid_ns) ::setns(own_pid_ns.get(), CLONE_NEWPID);
    e.wrap("exec in container " + o.id);
    throw;
  }
  if (own_pid_ns && ::setns(own_pid_ns.get(), CLONE_NEWPID) < 0) throw_errno("return to our pid namespace");
  child_sock.reset();
  console.reset();
  UniqueFd child_pidfd(pidfd);
  join = {};
  try {
    // (A child sharing our memory has exec'd or failed by now.)
    if (!child.shares_memory) sync_send(parent_sock.get(), SyncType::Go, pid);
    SyncMsg m;
    if (sync_recv(parent_sock.get(), m)) {
      if (m.type == SyncType::Error) {
        wait_child(pid);
        pid = 0;
        throw Error(m.text, static_cast<ErrorKind>(m.kind), m.err);
      }
    }
  } catch (Error& e) {
    if (pid) {
      ::syscall(SYS_pidfd_send_signal, child_pidfd.get(), SIGKILL, nullptr, 0);
      wait_child(pid);
    }
    e.wrap("exec in container " + o.id);
    throw;
  }
  write_pid_file(o.pid_file, pid);
  std::unique_ptr<ConsoleProxy> proxy;
  if (console_parent) {
    proxy = std::make_unique<ConsoleProxy>();
    proxy->start(recv_fd(console_parent.get()));
  }
  if (o.detach) return 0;
  return exit_code_of(wait_forwarding(pid, child_pidfd.get(), proxy.get()));
}

}  // namespace berth::runtime
