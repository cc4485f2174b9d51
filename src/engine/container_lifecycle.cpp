// ContainerEngine: start, stop, kill, rm, pause, rename, wait, boot.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "common/userns.hpp"
#include "engine/container_engine.hpp"
#include "engine/events.hpp"
#include "engine/image_config_use.hpp"
#include "engine/in_root.hpp"
#include "engine/names.hpp"
#include "engine/oci_config.hpp"
#include "engine/process_identity.hpp"
#include "engine/start_error.hpp"
#include "engine/user_lookup.hpp"
#include "engine/user_namespace.hpp"
#include "image/overlay_snapshotter.hpp"
#include "monitor/options.hpp"

extern char** environ;

namespace berth::engine {

using nlohmann::json;

namespace {

pid_t spawn_quiet(const std::vector<std::string>& argv, int out_fd = -1, int err_fd = -1) {
  return spawn_process(argv, {-1, out_fd, err_fd});
}

int wait_child(pid_t pid) { return wait_process(pid); }

bool sleep_until(const std::function<bool()>& done, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int step = 2;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(step));
    if (step < 50) step *= 2;
  }
  return true;
}

// Copies the image's content at a volume's target into the new, empty
// volume (Docker's copy-up). The source is opened inside the rootfs, so a
// symlinked target in the image cannot make us copy a host directory.
void copy_up(const std::string& rootfs, const std::string& target, const std::string& dest) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return;
  UniqueFd src = open_in_root(root.get(), target, O_PATH | O_DIRECTORY);
  if (!src) return;  // nothing there in the image: the volume stays empty
  // cp reads the source through fd 3, the directory resolved in the root.
  if (run_process({"/bin/cp", "-a", "/proc/self/fd/3/.", dest}, {-1, -1, -1, src.get()}) != 0)
    throw Error("copy " + target + " of the image into volume " + dest + ": cp failed");
}

// mkdir -p of `path` inside the rootfs, every step resolved inside it (a
// symlink in the image cannot make us create a host directory): Docker
// makes a working directory the image lacks.
void make_dir_in_root(const std::string& rootfs, const std::string& path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open rootfs " + rootfs);
  auto dir = [&](const std::string& p) { return open_in_root(root.get(), p, O_PATH | O_DIRECTORY); };
  std::string done;  // the part that exists, relative to the rootfs
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    std::string name = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? path.size() : slash + 1;
    if (name.empty() || name == ".") continue;
    std::string next = done.empty() ? name : done + "/" + name;
    if (name != ".." && !dir(next)) {
      UniqueFd parent = dir(done);
      if (!parent) throw_errno("open " + done + " in " + rootfs);
      if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        throw_errno("make the working directory " + path + " in the container");
    }
    done = next;
  }
  if (!dir(done)) throw_errno("working directory " + path + " in the container");
}

bool dir_empty(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  char buf[1024];
  long n;
  while ((n = ::syscall(SYS_getdents64, fd.get(), buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      auto* name = buf + off + 19;
      unsigned short reclen;
      std::memcpy(&reclen, buf + off + 16, sizeof reclen);
      if (std::strcmp(name, ".") && std::strcmp(name, "..")) return false;
      off += reclen;
    }
  }
  return true;
}

}  // namespace

int ContainerEngine::run_runtime(const Container& c, const std::vector<std::string>& args, bool) const {
  std::vector<std::string> argv = runtime_argv(c);
  argv.insert(argv.end(), args.begin(), args.end());
  return wait_child(spawn_quiet(argv));
}

void ContainerEngine::prepare_rootfs(Container& c, const std::string& netns) {
  std::string merged = container_dir(c.id) + "/merged";
  image::OverlaySnapshotter snap(*images_);
  if (!image::is_mount_point(merged)) {
    auto mounts = snap.mounts(c.id);
    // A --rm container's files go with it: overlayfs need not sync them
    // (at each fsync, and of the whole filesystem at unmount).
    if (c.host.auto_remove)
      for (auto& m : mounts)
        if (m.type == "overlay") m.options.push_back("volatile");
    if (c.host.uid_maps.empty()) {
      image::mount_all(mounts, merged);
    } else {
      UniqueFd userns = open_userns(c.host.uid_maps, c.host.gid_maps, "the user namespace of container " + c.id);
      image::mount_all_idmapped(mounts, merged, userns.get(), static_cast<uint32_t>(host_id_of(c.host.uid_maps, 0)),
                                static_cast<uint32_t>(host_id_of(c.host.gid_maps, 0)));
    }
  }
  try {
    auto img = images_->resolve(c.image_id);
    // Checked as create did (null as {}): build_oci_config reads it unchecked.
    json image_config = checked_image_config(images_->config(img).raw.value("config", json::object()));
    bool changed = false;
    for (auto& m : c.mounts)
      if (m.copy_up) {
        if (dir_empty(m.source)) copy_up(merged, m.destination, m.source);
        m.copy_up = false;
        changed = true;
      }
    if (changed) store_->update(c);
    std::string cwd = c.config.working_dir.empty() ? image_config.value("WorkingDir", std::string()) : c.config.working_dir;
    if (!cwd.empty()) {
      // Through an idmapped rootfs only ids that map can create files.
      if (c.host.uid_maps.empty())
        make_dir_in_root(merged, cwd);
      else
        run_with_fsids(static_cast<uint32_t>(host_id_of(c.host.uid_maps, 0)),
                       static_cast<uint32_t>(host_id_of(c.host.gid_maps, 0)), {}, [&] { make_dir_in_root(merged, cwd); });
    }
    OciInputs in;
    in.rootfs = merged;
    in.netns_path = netns;
    in.etc_dir = state_dir(c.id) + "/etc";
    write_etc_files(c);
    in.cgroups_path = "/berth/" + c.id;
    if (c.host.init) {
      in.init_path = executable_dir() + "/berth-init";
      if (::access(in.init_path.c_str(), X_OK) != 0)
        throw Error("--init: " + in.init_path + " not found (build it: ninja berth-init)", ErrorKind::NotFound);
    }
    std::string config_path = state_dir(c.id) + "/config.json";
    fs::write_file(config_path, build_oci_config(c, image_config, in));
    ::chmod(config_path.c_str(), 0600);  // it holds the container's environment
  } catch (...) {
    image::unmount(merged);
    throw;
  }
}

pid_t ContainerEngine::spawn_monitor(const Container& c, int sync_fd, int attach_fd, int owner_fd) {
  std::string exe = executable_dir() + "/berth-monitor";
  monitor::Options o;
  o.id = c.id;
  o.runtime = c.runtime_path;
  o.runtime_args = {"--root", state_ + "/runtime"};
  o.bundle = state_dir(c.id);
  o.rootfs = container_dir(c.id) + "/merged";
  o.state_dir = state_dir(c.id);
  o.log_path = log_path(c.id);
  o.status_path = container_dir(c.id) + "/status.json";
  o.cgroup_path = "/berth/" + c.id;
  o.events_root = root_;
  o.name = c.name;
  o.image = c.config.image;
  o.tty = c.config.tty;
  o.stdin_open = c.config.open_stdin;
  o.stdin_once = c.config.stdin_once;
  o.sync_fd = 3;
  o.attach_fd = attach_fd >= 0 ? 4 : -1;
  o.restart = c.host.restart_policy.name.empty() ? "no" : c.host.restart_policy.name;
  o.max_retries = c.host.restart_policy.maximum_retry_count;
  o.restart_count = c.restart_count;
  o.stop_signal = parse_signal(c.config.stop_signal.empty() ? "TERM" : c.config.stop_signal);
  o.stop_timeout = c.config.stop_timeout.value_or(10);
  const LogLimits limits = parse_log_opts(c.host.log_opts);  // checked at create too
  o.log_max_size = limits.max_size;
  o.log_max_files = limits.max_files;
  if (c.config.healthcheck && !c.config.healthcheck->test.empty() && c.config.healthcheck->test[0] != "NONE") {
    const auto& h = *c.config.healthcheck;
    o.health.test = h.test;
    if (h.interval_ns) o.health.interval_ms = h.interval_ns / 1000000;
    if (h.timeout_ns) o.health.timeout_ms = h.timeout_ns / 1000000;
    if (h.start_period_ns) o.health.start_period_ms = h.start_period_ns / 1000000;
    if (h.retries) o.health.retries = h.retries;
  }
  if (c.host.auto_remove)
    o.exit_command = {executable_dir() + "/berth", "--root", root_, "--state", state_, "container", "cleanup", c.id};
  std::vector<std::string> argv = monitor::to_argv(o);

  UniqueFd err(::open((state_dir(c.id) + "/monitor.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  // fd 3 the sync pipe, 4 the attach socket if any, then the locked
  // container dir (start()): the monitor holds it, unknowingly, as long as
  // it lives.
  SpawnFds fds{-1, -1, err.get(), sync_fd};
  if (attach_fd >= 0) fds.more_fds.push_back(attach_fd);
  fds.more_fds.push_back(owner_fd);
  fds.new_session = true;
  fds.executable = exe;
  try {
    return spawn_process(argv, fds);
  } catch (Error& e) {
    throw e.wrap("start the container's monitor");
  }
}

void ContainerEngine::start(const std::string& ref, const StartOptions& so) {
  Container c = store_->get(ref);
  sync(c);
  if (c.state.status == "running" || c.state.status == "restarting") return;  // Docker: nothing to do
  if (c.state.status == "paused")
    throw Error("cannot start a paused container, try unpause instead", ErrorKind::FailedPrecondition);
  if (auto m = monitor_of(container_dir(c.id) + "/status.json"); m && process_alive(*m))
    wait_monitor_gone(c, 5000);  // the last one is still finishing up
  // Taken before the rootfs is mounted, handed to the monitor (see the
  // header). Held elsewhere: another start, or a monitor that a killed
  // start left starting the container; wait for it to settle.
  UniqueFd owner(::open(container_dir(c.id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!owner) throw_errno("open " + container_dir(c.id));
  bool owned = sleep_until(
      [&] {
        if (::flock(owner.get(), LOCK_EX | LOCK_NB) == 0) return true;
        c = store_->get(c.id);
        sync(c);
        return c.state.running();
      },
      15000);
  if (c.state.running()) return;
  if (!owned)
    throw Error("start container " + c.id.substr(0, 12) + ": another command is starting it", ErrorKind::FailedPrecondition);
  fs::mkdir_p(state_dir(c.id), 0700);
  if (!c.host.uid_maps.empty()) {
    // In a user namespace the runtime bind-mounts /etc/hosts and the rest
    // as the container's root, an unprivileged host uid: it must be able to
    // pass through the state dirs (not list them; config.json stays 0600).
    for (const std::string& d : {state_, state_ + "/containers", state_dir(c.id)}) ::chmod(d.c_str(), 0711);
    try {
      auto uid = static_cast<uint32_t>(host_id_of(c.host.uid_maps, 0));
      check_passable(container_dir(c.id), uid);
      check_passable(state_dir(c.id), uid);
    } catch (Error& e) {
      throw StartError(e.wrap("start container " + c.id.substr(0, 12)).what(), 125, e.kind());
    }
  }
  try {
    std::string netns;
    const std::string& mode = c.host.network_mode;
    if (mode.rfind("container:", 0) == 0) {
      Container other = store_->get(mode.substr(10));
      sync(other);
      if (!other.state.running() || other.state.pid <= 0)
        throw Error("cannot join network of a non running container: " + other.name, ErrorKind::FailedPrecondition);
      netns = "/proc/" + std::to_string(other.state.pid) + "/ns/net";
    } else {
      teardown_network(c);  // what a run whose end nobody noticed left
      netns = setup_network(c);
      // Its ports recorded now: a CLI killed from here on leaves a record
      // from which the next sync can undo them.
      if (!c.ports.empty()) store_->update(c);
    }
    try {
      prepare_rootfs(c, netns);
    } catch (...) {
      try {
        teardown_network(c);
      } catch (const Error&) {
      }
      throw;
    }
  } catch (Error& e) {
    throw StartError(e.wrap("start container " + c.id.substr(0, 12)).what(), 125, e.kind());
  }
  ::unlink((state_dir(c.id) + "/stop").c_str());
  int p[2];
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t mon = spawn_monitor(c, wr.get(), so.attach_fd, owner.get());
  wr.reset();
  std::string line;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) line.append(buf, static_cast<size_t>(n));
  if (line.rfind("ok ", 0) == 0) {
    c.manually_stopped = false;
    c.state.status = "running";
    sync(c);
    store_->update(c);
    container_event(root_, c, "start");
    return;
  }
  // The monitor reported why (or died): it exits, unmounting the rootfs.
  int ws;
  ::waitpid(mon, &ws, 0);
  image::unmount(container_dir(c.id) + "/merged");
  int code = 125;
  std::string msg = "the container's monitor exited without starting it (see " + state_dir(c.id) + "/monitor.log)";
  if (line.rfind("error ", 0) == 0) {
    code = std::atoi(line.c_str() + 6);
    auto sp = line.find(' ', 6);
    msg = sp == std::string::npos ? "" : line.substr(sp + 1);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  }
  // Unlocked, so that sync() ends a container the runtime started for a
  // monitor that was killed before it could report it.
  owner.reset();
  sync(c);
  if (c.state.error.empty()) {
    c.state.error = msg;
    c.state.exit_code = code;
    store_->update(c);
  }
  throw StartError("failed to start container " + c.id.substr(0, 12) + ": " + msg, code,
                   code == 127 ? ErrorKind::NotFound : ErrorKind::FailedPrecondition);
}

void ContainerEngine::wait_monitor_gone(const Container& c, int timeout_ms) {
  auto m = monitor_of(container_dir(c.id) + "/status.json");
  if (!m) return;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, m->pid, 0)));
  if (!pidfd || !process_alive(*m)) return;
  // Our own child (started by this process) is reaped; others we watch.
  pollfd p{pidfd.get(), POLLIN, 0};
  ::poll(&p, 1, timeout_ms);
  ::waitpid(m->pid, nullptr, WNOHANG);
}

void ContainerEngine::stop(const std::string& ref, int timeout) {
  Container c = store_->get(ref);
  sync(c);
  if (!c.state.running()) return;
  c.manually_stopped = true;
  store_->update(c);
  int sig = parse_signal(c.config.stop_signal.empty() ? "TERM" : c.config.stop_signal);
  int t = timeout >= 0 ? timeout : c.config.stop_timeout.value_or(10);
  fs::write_file(state_dir(c.id) + "/stop", std::to_string(sig) + " " + std::to_string(t) + "\n");
  auto m = monitor_of(container_dir(c.id) + "/status.json");
  if (m && process_alive(*m)) {
    ::kill(m->pid, SIGTERM);
    if (c.state.status == "paused") run_runtime(c, {"resume", c.id});
    wait_monitor_gone(c, static_cast<int>(std::min<int64_t>((int64_t{t} + 15) * 1000, INT32_MAX)));
    if (process_alive(*m)) {
      ::kill(m->pid, SIGKILL);
      wait_monitor_gone(c, 2000);
    }
  }
  c = store_->get(c.id);
  sync(c);
  container_event(root_, c, "stop");
}

void ContainerEngine::restart(const std::string& ref, int timeout) {
  stop(ref, timeout);
  start(ref);
}

void ContainerEngine::kill(const std::string& ref, const std::string& signal) {
  Container c = store_->get(ref);
  sync(c);
  int sig = parse_signal(signal);
  if (c.state.status != "running" && c.state.status != "paused")
    throw Error("cannot kill container: " + ref + ": container " + c.id + " is not running",
                ErrorKind::FailedPrecondition);
  bool fatal = sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
  if (fatal) {
    c.manually_stopped = true;
    store_->update(c);
    fs::write_file(state_dir(c.id) + "/stop", std::to_string(sig) + " 0\n");
  }
  container_event(root_, c, "kill", {{"signal", std::to_string(sig)}});
  if (run_runtime(c, {"kill", c.id, std::to_string(sig)}) != 0)
    throw Error("cannot kill container: " + ref + ": the runtime refused the signal", ErrorKind::Internal);
  if (sig == SIGKILL) {
    if (c.state.status == "paused") run_runtime(c, {"resume", c.id});
    wait_monitor_gone(c, 10000);
  }
  c = store_->get(c.id);
  sync(c);
}

void ContainerEngine::remove(const std::string& ref, bool force, bool with_volumes) {
  Container c = store_->get(ref);
  try {
    sync(c);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::NotFound) return;  // an interrupted create, now cleaned
    throw;
  }
  if (c.state.running() && !force)
    throw Error("cannot remove container \"/" + c.name + "\": container is " + c.state.status +
                    ": stop the container before removing or force remove",
                ErrorKind::FailedPrecondition);
  auto m = monitor_of(container_dir(c.id) + "/status.json");
  // `cleanup` (--rm of a detached container) runs as the monitor's own
  // exit command, in the monitor's process: it must not wait for itself.
  if (m && m->pid == ::getpid()) m.reset();
  if (m && process_alive(*m)) {
    if (c.state.running()) {
      fs::write_file(state_dir(c.id) + "/stop", "9 0\n");
      ::kill(m->pid, SIGTERM);
      if (c.state.status == "paused") run_runtime(c, {"resume", c.id});
    }
    wait_monitor_gone(c, 10000);
    if (process_alive(*m)) {
      ::kill(m->pid, SIGKILL);
      wait_monitor_gone(c, 2000);
    }
  }
  if (fs::exists(state_ + "/runtime/" + c.id)) run_runtime(c, {"delete", "--force", c.id});
  release_resources(c);
  store_->remove(c.id);
  container_event(root_, c, "destroy");
  if (with_volumes) remove_anonymous_volumes(c);
}

void ContainerEngine::pause(const std::string& ref) {
  Container c = store_->get(ref);
  sync(c);
  if (c.state.status == "paused")
    throw Error("container " + c.id + " is already paused", ErrorKind::FailedPrecondition);
  if (c.state.status != "running")
    throw Error("container " + c.id + " is not running", ErrorKind::FailedPrecondition);
  if (run_runtime(c, {"pause", c.id}) != 0) throw Error("pause container " + c.id + ": the runtime failed");
  c.state.status = "paused";
  store_->update(c);
  container_event(root_, c, "pause");
}

void ContainerEngine::unpause(const std::string& ref) {
  Container c = store_->get(ref);
  sync(c);
  if (c.state.status != "paused")
    throw Error("container " + c.id + " is not paused", ErrorKind::FailedPrecondition);
  if (run_runtime(c, {"resume", c.id}) != 0) throw Error("unpause container " + c.id + ": the runtime failed");
  c.state.status = "running";
  store_->update(c);
  container_event(root_, c, "unpause");
}

void ContainerEngine::rename(const std::string& ref, const std::string& new_name) {
  Container c = store_->get(ref);
  std::string n = check_container_name(new_name);
  if (n == c.name) throw Error("Renaming a container with the same name as its current name", ErrorKind::InvalidArgument);
  std::string old = c.name;
  c.name = n;
  store_->update(c);
  container_event(root_, c, "rename", {{"oldName", "/" + old}});
}

int ContainerEngine::wait(const std::string& ref) {
  std::string id = store_->get(ref).id;
  int code = 0;
  sleep_until(
      [&] {
        auto c = store_->find(id);
        if (!c) return true;  // removed (--rm): its last code was recorded before
        sync(*c);
        code = c->state.exit_code;
        return !c->state.running() || c->state.status == "restarting";
      },
      24 * 3600 * 1000);
  return code;
}

Container ContainerEngine::inspect(const std::string& ref) {
  Container c = store_->get(ref);
  sync(c);
  return c;
}

std::vector<Container> ContainerEngine::list(const ListOptions& o) {
  // Filtered in place: a second vector of records was a fifth of the
  // memory `ps` touched (each new page a fault).
  std::vector<Container> all = o.listing ? store_->listing() : store_->list();
  size_t kept = 0;
  for (auto& c : all) {
    try {
      sync(c);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::NotFound) continue;
      throw;
    }
    if (c.state.status == "creating") continue;
    if (!o.all && o.last < 0 && !c.state.running()) continue;
    if (&all[kept] != &c) all[kept] = std::move(c);
    ++kept;
    if (o.last >= 0 && static_cast<int>(kept) >= o.last) break;
  }
  all.erase(all.begin() + static_cast<std::ptrdiff_t>(kept), all.end());
  return all;
}

std::string ContainerEngine::top(const std::string& ref, const std::vector<std::string>& ps_args) {
  Container c = inspect(ref);
  if (!c.state.running()) throw Error("container " + c.id + " is not running", ErrorKind::FailedPrecondition);
  std::vector<std::string> argv = runtime_argv(c);
  argv.insert(argv.end(), {"ps", c.id});
  argv.insert(argv.end(), ps_args.begin(), ps_args.end());
  int p[2];
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = spawn_quiet(argv, wr.get(), -1);
  wr.reset();
  std::string out = fs::read_all(rd.get(), "runtime ps");
  if (wait_child(pid) != 0) throw Error("top: the runtime could not list the container's processes");
  return out;
}

int ContainerEngine::attach_socket(const std::string& ref) {
  Container c = inspect(ref);
  if (!c.state.running())
    throw Error("You cannot attach to a stopped container, start it first", ErrorKind::FailedPrecondition);
  UniqueFd dir(::open(state_dir(c.id).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw_errno("open " + state_dir(c.id));
  std::string path = "/proc/self/fd/" + std::to_string(dir.get()) + "/attach.sock";
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    throw_errno("attach to container " + c.id.substr(0, 12));
  return s.release();
}

std::vector<std::string> ContainerEngine::boot() {
  std::vector<std::string> started;
  for (auto& c : store_->list()) {
    try {
      sync(c);
      const std::string& p = c.host.restart_policy.name;
      bool want = p == "always" || (p == "unless-stopped" && !c.manually_stopped);
      if (!want || c.state.running()) continue;
      start(c.id);
      started.push_back(c.id);
    } catch (const Error&) {
      // one container that cannot come back must not keep the others down
    }
  }
  return started;
}

void ContainerEngine::cleanup(const std::string& ref) {
  auto c = store_->find(ref);
  if (!c) return;
  sync(*c);
  if (c->host.auto_remove && !c->state.running()) remove(c->id, true, true);
}

}  // namespace berth::engine
