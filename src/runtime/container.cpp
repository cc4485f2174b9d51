#include "runtime/container.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <chrono>
#include <cstring>
#include <thread>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/console.hpp"
#include "runtime/hooks.hpp"
#include "runtime/mounts/host_rootfs.hpp"
#include "runtime/ignored_fields.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/mounts/rootfs.hpp"

namespace berth::runtime {

namespace {

// From /etc/passwd itself: berth-runtime is a static binary, and getpwuid()
// would dlopen the NSS modules of the glibc it was built with. runc's
// "owner" is the same local user name (or the uid when there is none), of
// the state file's owner, looked up by `list` rather than stored by every
// create (a passwd read off the start path).
std::string owner_name(uid_t uid) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(::fopen("/etc/passwd", "re"), ::fclose);
  if (f)
    while (struct passwd* pw = ::fgetpwent(f.get()))
      if (pw->pw_uid == uid) return pw->pw_name;
  return std::to_string(uid);
}

oci::Spec stored_spec(const ContainerState& st) {
  if (st.config.empty()) return {};
  try {
    return oci::parse_spec(st.config);
  } catch (Error& e) {
    throw Error("stored config of container " + st.id + ": " + e.message(), ErrorKind::Corrupt);
  }
}

// A pidfd for the init, or an invalid fd if it is gone (pid reuse-safe: the
// start time is checked after the pidfd pins the process).
UniqueFd open_init(const ContainerState& st) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
  if (fd && !init_alive(st)) fd.reset();
  return fd;
}

void signal_pidfd(int pidfd, int sig, const std::string& what) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0 && errno != ESRCH)
    throw_errno("send signal " + std::to_string(sig) + " to " + what);
}

// Waits (up to `seconds`) for the init to be gone; it may not be our child.
bool wait_gone(const ContainerState& st, int seconds) {
  UniqueFd fd = open_init(st);
  if (!fd) return true;
  struct pollfd p = {fd.get(), POLLIN, 0};
  ::poll(&p, 1, seconds * 1000);
  // Zombie (not yet reaped by its parent) counts as gone.
  return !init_alive(st);
}

std::unique_ptr<Cgroup> open_cgroup(const ContainerState& st) {
  if (st.cgroup.empty()) return nullptr;
  return Cgroup::from_json(st.cgroup);
}

// What a `create` killed before it recorded its cgroup may have made: the
// leaf directories its config's cgroupsPath names, removed only if empty.
// One with processes is not that create's (create refuses to join such a
// cgroup): like runc, leave it alone and say so.
void remove_unrecorded_cgroup(const ContainerState& st) {
  const std::string what = "delete container " + st.id + ": ";
  try {
    oci::Spec spec = stored_spec(st);
    std::string path = spec.linux ? spec.linux->cgroups_path : "";
    if (st.systemd_cgroup) {
      // The scope, if systemd made it: stopping it kills what is in it.
      Cgroup::stop_systemd_scope(path, st.id);
      return;
    }
    auto cg = Cgroup::find(path, st.id);
    if (std::vector<pid_t> pids = cg->pids(); !pids.empty()) {
      log::warn(what + "cgroup " + (path.empty() ? "/berth/" + st.id : path) +
                " holds processes that are not the container's (pid " + std::to_string(pids[0]) + "): left alone");
      return;
    }
    cg->destroy(false);
  } catch (const Error& e) {
    log::warn(what + e.what());
  }
}

const char* kSignalNames[] = {"HUP",  "INT",  "QUIT", "ILL",    "TRAP", "ABRT",   "BUS",  "FPE",
                              "KILL", "USR1", "SEGV", "USR2",   "PIPE", "ALRM",   "TERM", "STKFLT",
                              "CHLD", "CONT", "STOP", "TSTP",   "TTIN", "TTOU",   "URG",  "XCPU",
                              "XFSZ", "VTALRM", "PROF", "WINCH", "IO",  "PWR",    "SYS"};

}  // namespace

int parse_signal(const std::string& in) {
  if (in.empty()) fail("empty signal");
  if (std::isdigit(static_cast<unsigned char>(in[0]))) {
    char* end = nullptr;
    long v = std::strtol(in.c_str(), &end, 10);
    if (*end || v <= 0 || v >= NSIG) fail("invalid signal \"" + in + "\"");
    return static_cast<int>(v);
  }
  std::string s = in;
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  if (s == "IOT") return SIGABRT;
  if (s == "POLL") return SIGIO;
  for (size_t i = 0; i < std::size(kSignalNames); ++i)
    if (s == kSignalNames[i]) return static_cast<int>(i) + 1;
  if (s.rfind("RTMIN", 0) == 0 || s.rfind("RTMAX", 0) == 0) {
    int base = s[2] == 'M' && s[3] == 'I' ? SIGRTMIN : SIGRTMAX;
    if (s.size() == 5) return base;
    long off = std::strtol(s.c_str() + 5, nullptr, 10);
    int v = base + static_cast<int>(off);
    if (v >= SIGRTMIN && v <= SIGRTMAX) return v;
  }
  fail("unknown signal \"" + in + "\"");
}

void write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return;
  std::string abs = path[0] == '/' ? path : fs::join(std::filesystem::current_path().string(), path);
  fs::write_file_atomic(abs, std::to_string(pid), 0644);
}

namespace {

// ---- create's steps, in the order create_container takes them --------------

struct LoadedBundle {
  std::string bundle;  // absolute
  oci::Spec spec;
  std::string config_text;  // config.json as read
};

// The bundle's config.json, parsed and checked; the caller's before_create
// sees it before anything is made.
LoadedBundle load_bundle(const CreateOptions& o, bool start_now) {
  LoadedBundle b;
  try {
    try {
      b.bundle = fs::absolute(o.bundle);
    } catch (Error& e) {
      throw Error("bundle " + o.bundle + " does not exist", ErrorKind::NotFound, e.errno_value());
    }
    b.spec = oci::load_spec(b.bundle, &b.config_text);
    if (!b.spec.process) fail(b.bundle + "/config.json: process: missing (nothing to run)");
    if (o.before_create) o.before_create(b.spec, start_now);
    // After before_create, which may re-exec us: one warning per create.
    accept_ignored_fields(b.spec);
  } catch (Error& e) {
    e.wrap("create container " + o.id);
    throw;
  }
  return b;
}

ContainerState new_state(const CreateOptions& o, LoadedBundle& b) {
  ContainerState st;
  st.id = o.id;
  st.oci_version = b.spec.oci_version;
  st.bundle = b.bundle;
  st.rootfs = rootfs_path(b.spec, b.bundle);
  st.created = now_rfc3339();
  st.annotations = b.spec.annotations;
  // The file as read and parsed, not a re-serialisation of the parsed spec
  // (to_json cost 40-70 us of every start); parse_spec reads it back.
  st.config = std::move(b.config_text);
  if (b.spec.linux)
    for (auto& ns : b.spec.linux->namespaces) st.own_cgroup_ns |= ns.type == "cgroup" && ns.path.empty();
  return st;
}

// Undoes a create that did not commit: its cgroup and its state (the
// reserved id). The rootfs mount in the host (HostRootfsMount) and the
// init (spawn_init) undo themselves.
class CreateUndo {
 public:
  CreateUndo(const std::string& root, const std::string& id) : root_(root), id_(id) {}
  CreateUndo(const CreateUndo&) = delete;
  CreateUndo& operator=(const CreateUndo&) = delete;
  ~CreateUndo() {
    if (committed_) return;
    if (cgroup) {
      try {
        cgroup->destroy(true);
      } catch (const Error& e) {
        log::warn(std::string("undo create: ") + e.what());
      }
    }
    try {
      remove_state(root_, id_, false);
    } catch (...) {
    }
  }
  void commit() { committed_ = true; }
  std::unique_ptr<Cgroup> cgroup;

 private:
  const std::string& root_;
  const std::string& id_;
  bool committed_ = false;
};

// The fifo `start` writes to (a `create`; `run` starts at once).
UniqueFd open_exec_fifo(const GlobalOptions& g, const std::string& id) {
  std::string fifo = exec_fifo_path(g.root, id);
  if (::mkfifo(fifo.c_str(), 0600) < 0) throw_errno("create " + fifo);
  UniqueFd fd(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno("open " + fifo);
  return fd;
}

PreparedProcess prepare_process(const GlobalOptions& g, const LoadedBundle& b) {
  try {
    return prepare_process_settings(*b.spec.process, b.spec.linux ? &*b.spec.linux : nullptr,
                                    fs::join(g.root, ".seccomp-cache"));
  } catch (Error& e) {
    e.wrap(b.bundle + "/config.json");
    throw;
  }
}

// The hooks the runtime itself runs while the init waits (init.cpp). The
// status each hook kind sees: prestart "created" (the environment exists,
// as crun says; runc says "creating"), createRuntime and createContainer
// "creating", startContainer "created".
void run_create_runtime_hooks(const oci::Spec& spec, const InitOptions& io, pid_t pid) {
  if (!spec.hooks->prestart.empty()) run_hooks(spec.hooks->prestart, io.state_for_hooks(pid, "created"), "prestart");
  if (!spec.hooks->create_runtime.empty())
    run_hooks(spec.hooks->create_runtime, io.state_for_hooks(pid, "creating"), "createRuntime");
}

// The init is built and waits (create) or runs (run): on record as such,
// and in the caller's --pid-file. A failure here kills it.
void record_init_ready(const GlobalOptions& g, const CreateOptions& o, ContainerState& st, const InitProcess& init,
                       bool start_now) {
  // (record_init read the start time from our own child, whose stat stays
  // readable until we reap it, even if the process already exited.)
  if (st.pid != init.pid || st.pid_start_time == 0) {
    wait_child(init.pid);
    fail("container init exited during create", ErrorKind::Internal);
  }
  try {
    if (!start_now) {
      st.recorded = Status::Created;
      save_state(g.root, st);
    }
    write_pid_file(o.pid_file, init.pid);
  } catch (...) {
    ::syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0);
    wait_child(init.pid);
    throw;
  }
}

}  // namespace

InitProcess create_container(const GlobalOptions& g, const CreateOptions& o, bool start_now) {
  validate_id(o.id);
  // Where systemd does not run, one line naming the flag, before anything
  // is made.
  if (g.systemd_cgroup) Cgroup::check_systemd();
  LoadedBundle b = load_bundle(o, start_now);
  const oci::Spec& spec = b.spec;
  ContainerState st = new_state(o, b);
  st.systemd_cgroup = g.systemd_cgroup;
  reserve_state(g.root, st);
  CreateUndo undo(g.root, o.id);
  try {
    if (!fs::is_dir(st.rootfs))
      throw Error(b.bundle + "/config.json: root.path: rootfs " + st.rootfs + " does not exist or is not a directory",
                  ErrorKind::NotFound);
    UniqueFd fifo_fd;
    if (!start_now) fifo_fd = open_exec_fifo(g, o.id);
    UniqueFd console;
    int console_fd = o.console_fd;
    if (!o.console_socket.empty()) {
      console = connect_console_socket(o.console_socket);
      console_fd = console.get();
    }
    // Without a mount namespace the container's mounts go into the host's,
    // all under this one (undone if create fails).
    std::optional<HostRootfsMount> host_rootfs;
    if (shares_host_mounts(spec))
      host_rootfs.emplace(st.rootfs, [&](uint64_t id) {
        st.host_rootfs_mount = id;
        save_state(g.root, st);
      });

    // The cgroup: made before the clone when the init must enter a v2 dir
    // at fork time, else by spawn_init while the child builds namespaces;
    // systemd's scope once the init exists (it is made with its pid).
    const oci::LinuxResources* res = spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
    const std::string cgroups_path = spec.linux ? spec.linux->cgroups_path : "";
    if (!g.systemd_cgroup && Cgroup::is_systemd_path(cgroups_path))
      fail(b.bundle + "/config.json: linux.cgroupsPath \"" + cgroups_path +
           "\": a systemd path (slice:prefix:name) needs --systemd-cgroup");
    auto make_cgroup = [&](pid_t pid) -> Cgroup* {
      try {
        undo.cgroup = g.systemd_cgroup ? Cgroup::create_systemd(cgroups_path, o.id, res, pid, spec.annotations)
                                       : Cgroup::create(cgroups_path, o.id, res);
      } catch (Error& e) {
        e.wrap("linux.cgroupsPath");
        throw;
      }
      st.cgroup = undo.cgroup->to_json();
      return undo.cgroup.get();
    };
    bool cgroup_before_clone;
    try {
      cgroup_before_clone = !g.systemd_cgroup && Cgroup::has_v2_dir(res);
    } catch (Error& e) {
      e.wrap("linux.cgroupsPath");
      throw;
    }
    if (cgroup_before_clone) make_cgroup(0);

    PreparedProcess prepared = prepare_process(g, b);
    InitOptions io;
    io.prepared = &prepared;
    io.id = o.id;
    io.bundle = b.bundle;
    io.no_new_keyring = o.no_new_keyring;
    io.spec = &spec;
    io.no_pivot = o.no_pivot;
    io.console_sock = console_fd;
    io.exec_fifo = fifo_fd.get();
    io.preserve_fds = o.preserve_fds;
    io.cgroup = undo.cgroup.get();
    if (!cgroup_before_clone) io.make_cgroup = make_cgroup;
    io.cgroup_needs_pid = g.systemd_cgroup;
    io.state_for_hooks = [&st](pid_t pid, const char* status) {
      ContainerState s = st;
      s.pid = pid;
      nlohmann::json j = nlohmann::json::parse(state_json(s, Status::Running, false));
      j["status"] = status;
      return json_text(j);
    };
    // The init's pid (and the cgroup, made by then) on record as soon as
    // the init exists, before it can outlive us: a `create` killed from
    // here on leaves what `delete --force` needs to find and kill it.
    // `run`'s is recorded as running at once (its process is exec'd before
    // spawn_init returns), so a `run` writes its state once.
    io.record_init = [&](pid_t pid) {
      st.pid = pid;
      st.pid_start_time = process_start_time(pid, true).value_or(0);
      st.recorded = start_now ? Status::Running : Status::Creating;
      save_state(g.root, st);
    };
    io.create_runtime_hooks = [&](pid_t pid) { run_create_runtime_hooks(spec, io, pid); };

    InitProcess init = spawn_init(io);
    record_init_ready(g, o, st, init, start_now);
    if (host_rootfs) host_rootfs->release();
    undo.commit();
    return init;
  } catch (Error& e) {
    e.wrap("create container " + o.id);
    throw;
  }
}

void start_container(const GlobalOptions& g, const std::string& id) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  if (s != Status::Created)
    throw Error(std::string("cannot start container ") + id + ": it is " + status_name(s) +
                    (s == Status::Stopped ? "" : " (start works only once, on a created container)"),
                ErrorKind::FailedPrecondition);
  std::string fifo = exec_fifo_path(g.root, id, st.legacy_dir);
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENXIO || errno == ENOENT)
      throw Error("cannot start container " + id + ": its init is gone", ErrorKind::FailedPrecondition);
    throw_errno("start container " + id + ": open " + fifo);
  }
  char byte = '0';
  if (::write(fd.get(), &byte, 1) != 1) throw_errno("start container " + id + ": write " + fifo);
  ::unlink(fifo.c_str());
  // The init holds the only reader; it closes at execve of the user process
  // (or when the init dies), which a writer sees as POLLERR.
  for (;;) {
    struct pollfd p = {fd.get(), 0, 0};
    int r = ::poll(&p, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  try {
    throw_start_error(fd.get());
  } catch (Error& e) {
    e.wrap("start container " + id);
    throw;
  }
  fd.reset();
  st.recorded = Status::Running;
  save_state(g.root, st);
  oci::Spec spec = stored_spec(st);
  if (spec.hooks && !spec.hooks->poststart.empty())
    run_hooks_warn(spec.hooks->poststart, state_json(st, Status::Running, false), "poststart");
}

void kill_container(const GlobalOptions& g, const std::string& id, int sig, bool all) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  // `--all` of a stopped container signals what still lives in its cgroup
  // (children of an init that exited, with no pid namespace to take them
  // along) and succeeds, empty or not, as runc's does: containerd's shim
  // calls it after every task exit to make sure of exactly that.
  if (s == Status::Creating || (s == Status::Stopped && !all))
    throw Error("kill container " + id + ": container not running", ErrorKind::FailedPrecondition);
  if (all) {
    auto cg = open_cgroup(st);
    if (cg) {
      std::vector<pid_t> pids = cg->pids();
      for (pid_t p : pids)
        if (::kill(p, sig) < 0 && errno != ESRCH) throw_errno("kill container " + id + ": signal pid " + std::to_string(p));
      // A frozen task cannot die (a paused container whose init was killed).
      if (sig == SIGKILL && (s == Status::Paused || (!pids.empty() && cg->frozen()))) cg->thaw();
      return;
    }
    if (s == Status::Stopped) return;
  }
  UniqueFd fd = open_init(st);
  if (!fd) throw Error("kill container " + id + ": container not running", ErrorKind::FailedPrecondition);
  signal_pidfd(fd.get(), sig, "container " + id + " init");
  if (s == Status::Paused && (sig == SIGKILL || sig == SIGTERM)) {
    // A frozen task cannot die; SIGKILL of a paused container must work.
    if (sig == SIGKILL) open_cgroup(st)->thaw();
  }
}

void delete_container(const GlobalOptions& g, const std::string& id, bool force) {
  validate_id(id);
  // runc: `delete --force` of a container that is already gone succeeds
  // (containerd's shim deletes again in its cleanup).
  if (force && !fs::exists(state_path(g.root, id))) return;
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  std::unique_ptr<Cgroup> cg;
  try {
    cg = open_cgroup(st);
  } catch (const Error& e) {
    log::warn("delete container " + id + ": " + e.what());
  }
  if (s == Status::Creating) {
    if (!force)
      throw Error("cannot delete container " + id + ": it is being created (use --force to remove what is left)",
                  ErrorKind::FailedPrecondition);
  } else if (s == Status::Running || s == Status::Paused) {
    if (!force)
      throw Error(std::string("cannot delete container ") + id + " that is not stopped: " + status_name(s) +
                      " (use --force)",
                  ErrorKind::FailedPrecondition);
  }
  // Creating included: the init of a create that was killed (or is still
  // running) once it recorded the init.
  if (s != Status::Stopped) {
    if (UniqueFd fd = open_init(st)) signal_pidfd(fd.get(), SIGKILL, "container " + id + " init");
    if (cg) {
      for (pid_t p : cg->pids()) ::kill(p, SIGKILL);
      if (s == Status::Paused) cg->thaw();
    }
    if (!wait_gone(st, 10)) throw Error("delete container " + id + ": init did not die after SIGKILL", ErrorKind::Internal);
  }
  if (st.host_rootfs_mount) {
    try {
      detach_host_rootfs(st.rootfs, st.host_rootfs_mount);
    } catch (Error& e) {
      e.wrap("delete container " + id);
      throw;
    }
  }
  if (!cg && s == Status::Creating) remove_unrecorded_cgroup(st);
  if (cg) {
    try {
      cg->destroy(true);
    } catch (Error& e) {
      e.wrap("delete container " + id);
      throw;
    }
  }
  // Without this key in the stored config.json there are no poststop hooks
  // and nothing to parse (with it, maybe some: parsed to know).
  if (s != Status::Creating && st.config.find("\"poststop\"") != std::string::npos) {
    oci::Spec spec;
    try {
      spec = stored_spec(st);
    } catch (const Error& e) {
      log::warn(e.what());
    }
    if (spec.hooks && !spec.hooks->poststop.empty())
      run_hooks_warn(spec.hooks->poststop, state_json(st, Status::Stopped, false), "poststop");
  }
  remove_state(g.root, id, st.legacy_dir);
}

void pause_container(const GlobalOptions& g, const std::string& id) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  if (s != Status::Running)
    throw Error(std::string("cannot pause container ") + id + ": it is " + status_name(s), ErrorKind::FailedPrecondition);
  auto cg = open_cgroup(st);
  if (!cg) fail("cannot pause container " + id + ": it has no cgroup", ErrorKind::FailedPrecondition);
  cg->freeze();
  st.recorded = Status::Paused;
  save_state(g.root, st);
}

void resume_container(const GlobalOptions& g, const std::string& id) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  if (s != Status::Paused)
    throw Error(std::string("cannot resume container ") + id + ": it is " + status_name(s) + ", not paused",
                ErrorKind::FailedPrecondition);
  open_cgroup(st)->thaw();
  st.recorded = Status::Running;
  save_state(g.root, st);
}

std::vector<pid_t> container_pids(const GlobalOptions& g, const std::string& id) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  if (s == Status::Stopped || s == Status::Creating) return {};
  auto cg = open_cgroup(st);
  if (!cg) return {st.pid};
  return cg->pids();
}

ContainerInfo inspect_container(const GlobalOptions& g, const std::string& id) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  return {std::move(st), s};
}

std::vector<ContainerInfo> list_containers(const GlobalOptions& g) {
  std::vector<ContainerInfo> out;
  for (auto& id : list_ids(g.root)) {
    try {
      out.push_back(inspect_container(g, id));
      std::string& owner = out.back().state.owner;
      struct stat sb;
      if (owner.empty() && ::stat(state_path(g.root, id).c_str(), &sb) == 0) owner = owner_name(sb.st_uid);
    } catch (const Error& e) {
      log::warn("list: " + std::string(e.what()));
    }
  }
  return out;
}

// ---- waiting and signal forwarding ------------------------------------------

static sigset_t forwarded_set() {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS})
    sigdelset(&set, s);
  return set;
}

void block_forwarded_signals() {
  sigset_t set = forwarded_set();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

int wait_forwarding(pid_t pid, int pidfd, ConsoleProxy* proxy) {
  sigset_t set = forwarded_set();
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd) throw_errno("signalfd");
  int status = 0;
  bool done = false;
  auto reap = [&] {
    // We may be a subreaper: reap everything, remember our child's status.
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(-1, &st, WNOHANG | __WALL);
      if (r <= 0) break;
      if (r == pid) {
        status = st;
        done = true;
      }
    }
  };
  while (!done) {
    struct pollfd fds[4] = {{sfd.get(), POLLIN, 0},
                            {pidfd, POLLIN, 0},
                            {proxy ? proxy->master_fd() : -1, POLLIN, 0},
                            {proxy ? proxy->stdin_fd() : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          reap();
        } else if (sig == SIGWINCH && proxy) {
          proxy->resize();
        } else if (sig != SIGPIPE && sig != SIGURG) {
          ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
        }
      }
    }
    if (fds[1].revents & POLLIN) reap();
    if (proxy && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) proxy->on_master_ready();
    if (proxy && (fds[3].revents & (POLLIN | POLLHUP))) proxy->on_stdin_ready();
  }
  if (proxy) proxy->finish();
  return status;
}

int run_container(const GlobalOptions& g, const CreateOptions& opts, bool detach, bool keep) {
  CreateOptions o = opts;
  std::unique_ptr<ConsoleProxy> proxy;
  UniqueFd console_parent, console_child;
  if (!detach) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    block_forwarded_signals();
  }
  // The config is parsed once, by create_container; what run needs of it
  // comes through before_create (called before anything is made): the
  // terminal flag, before the clone, and the poststart hooks.
  std::vector<oci::Hook> poststart;
  auto caller_hook = o.before_create;
  o.before_create = [&](const oci::Spec& spec, bool start_now) {
    if (caller_hook) caller_hook(spec, start_now);
    if (spec.hooks) poststart = spec.hooks->poststart;
    // A terminal with nobody to hand it to: we proxy it ourselves.
    if (!detach && o.console_socket.empty() && spec.process && spec.process->terminal) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
      console_parent.reset(sv[0]);
      console_child.reset(sv[1]);
      o.console_fd = sv[1];  // create_container reads it after this hook
    }
  };
  InitProcess init = create_container(g, o, true);
  console_child.reset();
  try {
    if (console_parent) {
      proxy = std::make_unique<ConsoleProxy>();
      proxy->start(recv_fd(console_parent.get()));
      console_parent.reset();
    }
    if (!poststart.empty())
      run_hooks_warn(poststart, state_json(load_state(g.root, o.id), Status::Running, false), "poststart");
  } catch (...) {
    try {
      delete_container(g, o.id, true);
    } catch (...) {
    }
    throw;
  }
  if (detach) return 0;
  int status = wait_forwarding(init.pid, init.pidfd.get(), proxy.get());
  if (!keep) delete_container(g, o.id, true);
  return exit_code_of(status);
}

}  // namespace berth::runtime
