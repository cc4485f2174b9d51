#include "monitor/monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/unix_listener.hpp"
#include "monitor/attach_frame.hpp"
#include "monitor/event_log.hpp"
#include "monitor/health_check.hpp"
#include "monitor/json_file_log.hpp"
#include "monitor/restart_policy.hpp"
#include "monitor/runtime_call.hpp"
#include "monitor/status.hpp"

extern char** environ;

namespace berth::monitor {

namespace {


void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string self_start_time() {
  try {
    std::string s = fs::read_file("/proc/self/stat");
    auto p = s.rfind(')');
    int field = 2;
    size_t i = p + 1;
    while (i < s.size() && field < 22) {
      if (s[i] == ' ') ++field;
      ++i;
    }
    return s.substr(i, s.find(' ', i) - i);
  } catch (const Error&) {
    return "";
  }
}

UniqueFd make_timer() {
  return UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
}

void arm(int tfd, int64_t ms) {
  itimerspec its{};
  if (ms > 0) {
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
  }
  ::timerfd_settime(tfd, 0, &its, nullptr);
}

// The OOM-kill count of the container's memory cgroup (v1 oom_control, or
// v2 memory.events in the unified tree), -1 if unknown.
int64_t oom_kills(const std::string& cgroup) {
  if (cgroup.empty()) return -1;
  for (std::string path : {"/sys/fs/cgroup/memory" + cgroup + "/memory.oom_control",
                           "/sys/fs/cgroup" + cgroup + "/memory.events",
                           "/sys/fs/cgroup/unified" + cgroup + "/memory.events"}) {
    // A missing file is the usual case (two of the three paths): no
    // exception for it, since a static binary's first throw is costly.
    std::string text;
    try {
      auto t = fs::read_file_if_exists(path);
      if (!t) continue;
      text = std::move(*t);
    } catch (const Error&) {
      continue;
    }
    auto p = text.find("oom_kill ");
    if (p != std::string::npos) return std::strtoll(text.c_str() + p + 9, nullptr, 10);
  }
  return -1;
}

class Monitor {
 public:
  explicit Monitor(const Options& o) : o_(o), policy_(o.restart, o.max_retries) {}
  int run();

 private:
  struct Client {
    UniqueFd fd;
    FrameReader reader;
    bool sent_stdin = false;
  };
  enum Tag : uint64_t { kSignal = 1, kListener, kStdout, kStderr, kPty, kStopTimer, kRestartTimer, kHealthTimer,
                        kHealthOut, kStdin, kClientBase = 1000 };

  void setup();
  bool start_container();  // false: the start failed (status says why)
  void on_signal();
  void on_container_exit(int wstatus);
  void finish_exit();
  void read_output(Tag which);
  void broadcast(Frame type, std::string_view data);
  void on_client(uint64_t key);
  void drop_client(uint64_t key);
  void request_stop();
  void write_stdin(std::string_view data);
  void flush_stdin();
  void pause_clients(bool paused);
  void close_stdin();
  void save();
  void watch(int fd, uint64_t tag, uint32_t events = EPOLLIN);
  void report_sync(const std::string& line);
  void event(const char* action, std::map<std::string, std::string> attrs) {
    if (o_.events_root.empty()) return;
    attrs["name"] = o_.name;
    attrs["image"] = o_.image;
    append_event(o_.events_root, "container", action, o_.id, attrs);
  }
  [[noreturn]] void exit_for_good(int code);

  Options o_;
  RestartPolicy policy_;
  Status st_;
  UniqueFd epoll_, sigfd_, stop_timer_, restart_timer_;
  std::unique_ptr<UnixListener> listener_;
  std::unique_ptr<JsonFileLog> log_;
  std::unique_ptr<HealthChecker> health_;
  UniqueFd out_, err_, in_, pty_;
  std::map<uint64_t, Client> clients_;
  uint64_t next_client_ = kClientBase;
  int container_pid_ = 0;
  int64_t started_ms_ = 0;
  bool stop_requested_ = false;
  bool stdin_closed_ = false;
  // Client bytes for the container's stdin pipe that it has not read yet.
  // Written as the pipe takes them (EPOLLOUT), never blocking: a blocking
  // write deadlocked `cat` with a full stdout pipe (the monitor stopped
  // reading it), and the write's timeout then dropped input.
  std::string stdin_pending_;
  bool stdin_watched_ = false;
  bool stdin_close_after_ = false;  // stdin closed by a client: close the pipe once pending is written
  bool clients_paused_ = false;
  static constexpr size_t kStdinMax = 16u << 20;  // then clients are not read until the container catches up
  bool done_ = false;
  bool had_clients_at_exit_ = false;
};

void Monitor::watch(int fd, uint64_t tag, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  check(::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev), "epoll_ctl");
}

void Monitor::save() {
  try {
    write_status(o_.status_path, st_);
  } catch (const Error&) {
    // A full disk must not take the container down; the next change retries.
  }
}

void Monitor::report_sync(const std::string& line) {
  if (o_.sync_fd < 0) return;
  write_all(o_.sync_fd, line);
  ::close(o_.sync_fd);
  o_.sync_fd = -1;
}

void Monitor::setup() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::prctl(PR_SET_NAME, "berth-monitor");
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  sigfd_.reset(static_cast<int>(check(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd")));
  epoll_.reset(static_cast<int>(check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")));
  stop_timer_ = make_timer();
  restart_timer_ = make_timer();
  fs::mkdir_p(o_.state_dir, 0700);
  check(::chdir(o_.state_dir.c_str()), "chdir " + o_.state_dir);
  // Relative names: the state dir may be deeper than a socket path allows.
  listener_ = std::make_unique<UnixListener>("attach.sock", "attach socket");
  log_ = std::make_unique<JsonFileLog>(o_.log_path, o_.log_max_size, o_.log_max_files);
  watch(sigfd_.get(), kSignal);
  watch(listener_->fd(), kListener);
  watch(stop_timer_.get(), kStopTimer);
  watch(restart_timer_.get(), kRestartTimer);
  if (o_.attach_fd >= 0) {
    set_nonblock(o_.attach_fd);
    ::fcntl(o_.attach_fd, F_SETFD, FD_CLOEXEC);
    uint64_t key = next_client_++;
    clients_[key].fd.reset(o_.attach_fd);
    watch(o_.attach_fd, key, EPOLLIN | EPOLLRDHUP);
  }
  if (!o_.health.test.empty()) {
    health_ = std::make_unique<HealthChecker>(o_);
    watch(health_->timer_fd(), kHealthTimer);
  }
  st_.monitor_pid = ::getpid();
  st_.monitor_start = self_start_time();
  st_.restart_count = o_.restart_count;
}

bool Monitor::start_container() {
  ContainerStdio io = make_container_stdio(o_.tty, o_.stdin_open);
  RuntimeResult r = runtime_run_detached(o_, io);
  if (!r.ok) {
    st_.status = st_.restart_count > o_.restart_count ? "exited" : "created";
    st_.exit_code = r.exit_code;
    st_.error = r.error;
    st_.pid = 0;
    st_.finished_at = now_rfc3339();
    save();
    return false;
  }
  container_pid_ = r.pid;
  started_ms_ = monotonic_ms();
  stdin_closed_ = !o_.stdin_open;
  if (o_.tty) {
    pty_ = std::move(io.pty);
    set_nonblock(pty_.get());
    watch(pty_.get(), kPty, EPOLLIN | EPOLLRDHUP);
  } else {
    out_ = std::move(io.out);
    err_ = std::move(io.err);
    set_nonblock(out_.get());
    set_nonblock(err_.get());
    watch(out_.get(), kStdout, EPOLLIN | EPOLLRDHUP);
    watch(err_.get(), kStderr, EPOLLIN | EPOLLRDHUP);
  }
  in_ = std::move(io.in);
  if (in_) set_nonblock(in_.get());
  st_.status = "running";
  st_.pid = r.pid;
  st_.started_at = now_rfc3339();
  st_.finished_at.clear();
  st_.exit_code = 0;
  st_.error.clear();
  st_.oom_killed = false;
  if (health_) {
    health_->container_started(r.pid);
    st_.health = "starting";
    st_.health_failing = 0;
  }
  save();
  return true;
}

void Monitor::broadcast(Frame type, std::string_view data) {
  if (clients_.empty()) return;
  std::string f = encode_frame(type, data);
  std::vector<uint64_t> gone;
  for (auto& [k, c] : clients_)
    if (!write_all(c.fd.get(), f)) gone.push_back(k);
  for (auto k : gone) drop_client(k);
}

void Monitor::read_output(Tag which) {
  UniqueFd& fd = which == kStdout ? out_ : which == kStderr ? err_ : pty_;
  if (!fd) return;
  char buf[16384];
  for (int rounds = 0; rounds < 16; ++rounds) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      std::string_view d(buf, static_cast<size_t>(n));
      const char* stream = which == kStderr ? "stderr" : "stdout";
      log_->write(stream, d);
      broadcast(which == kStderr ? Frame::Stderr : Frame::Stdout, d);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF, or EIO from a pty whose last writer is gone
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd.get(), nullptr);
    fd.reset();
    return;
  }
}

void Monitor::write_stdin(std::string_view data) {
  int fd = o_.tty ? pty_.get() : in_.get();
  if (fd < 0 || stdin_closed_) return;
  if (o_.tty) {
    write_all(fd, data);
    return;
  }
  stdin_pending_.append(data);
  flush_stdin();
}

void Monitor::flush_stdin() {
  while (in_ && !stdin_pending_.empty()) {
    ssize_t w = ::write(in_.get(), stdin_pending_.data(), stdin_pending_.size());
    if (w > 0) {
      stdin_pending_.erase(0, static_cast<size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    stdin_pending_.clear();  // EPIPE: the container closed its stdin
  }
  if (!in_) stdin_pending_.clear();
  bool want = !stdin_pending_.empty();
  if (want != stdin_watched_) {
    if (want) {
      watch(in_.get(), kStdin, EPOLLOUT);
    } else {
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, in_.get(), nullptr);
    }
    stdin_watched_ = want;
  }
  if (stdin_pending_.size() >= kStdinMax) pause_clients(true);
  else if (stdin_pending_.size() < kStdinMax / 2) pause_clients(false);
  if (stdin_pending_.empty() && stdin_close_after_) {
    stdin_close_after_ = false;
    in_.reset();
  }
}

void Monitor::pause_clients(bool paused) {
  if (paused == clients_paused_) return;
  clients_paused_ = paused;
  for (auto& [key, c] : clients_) {
    epoll_event ev{};
    ev.events = paused ? 0 : EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = key;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  }
}

void Monitor::close_stdin() {
  if (stdin_closed_) return;
  stdin_closed_ = true;
  if (o_.tty) {
    if (pty_) write_all(pty_.get(), "\x04");  // EOF on a terminal is ^D
  } else if (!stdin_pending_.empty()) {
    stdin_close_after_ = true;  // flush_stdin closes it
  } else {
    in_.reset();
  }
}

void Monitor::drop_client(uint64_t key) {
  auto it = clients_.find(key);
  if (it == clients_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
  bool sent = it->second.sent_stdin;
  clients_.erase(it);
  if (o_.stdin_once && sent) close_stdin();
}

void Monitor::on_client(uint64_t key) {
  auto it = clients_.find(key);
  if (it == clients_.end()) return;
  Client& c = it->second;
  char buf[16384];
  ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop_client(key);
    return;
  }
  c.reader.feed(buf, static_cast<size_t>(n));
  Frame type;
  std::string payload;
  try {
    while (c.reader.next(&type, &payload)) {
      switch (type) {
        case Frame::Stdin:
          c.sent_stdin = true;
          write_stdin(payload);
          break;
        case Frame::CloseStdin:
          close_stdin();
          break;
        case Frame::Resize: {
          winsize ws{};
          unsigned rows = 0, cols = 0;
          char* end = nullptr;
          rows = static_cast<unsigned>(std::strtoul(payload.c_str(), &end, 10));
          cols = static_cast<unsigned>(std::strtoul(end, nullptr, 10));
          if (rows && cols && pty_) {
            ws.ws_row = static_cast<unsigned short>(rows);
            ws.ws_col = static_cast<unsigned short>(cols);
            ::ioctl(pty_.get(), TIOCSWINSZ, &ws);
          }
          break;
        }
        case Frame::Signal: {
          int sig = std::atoi(payload.c_str());
          if (container_pid_ > 0 && sig > 0 && sig < 65) ::kill(container_pid_, sig);
          break;
        }
        default:
          break;
      }
    }
  } catch (const Error&) {
    drop_client(key);  // a client speaking garbage is dropped, the container goes on
  }
}

void Monitor::request_stop() {
  stop_requested_ = true;
  int sig = o_.stop_signal, timeout = o_.stop_timeout;
  std::optional<std::string> stop_file;  // "SIGNAL TIMEOUT" from `berth stop`
  try {
    stop_file = fs::read_file_if_exists("stop");
  } catch (const Error&) {
  }
  if (stop_file) {
    char* end = nullptr;
    sig = static_cast<int>(std::strtol(stop_file->c_str(), &end, 10));
    timeout = static_cast<int>(std::strtol(end, nullptr, 10));
  }
  if (st_.status == "restarting") {  // nothing runs: just do not come back
    arm(restart_timer_.get(), 0);
    st_.status = "exited";
    save();
    finish_exit();
    return;
  }
  if (container_pid_ <= 0) return;
  ::kill(container_pid_, sig);
  if (sig == SIGKILL) return;
  arm(stop_timer_.get(), timeout <= 0 ? 1 : static_cast<int64_t>(timeout) * 1000);
}

void Monitor::on_signal() {
  signalfd_siginfo si;
  while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
      request_stop();
      continue;
    }
    if (si.ssi_signo != SIGCHLD) continue;
    int ws;
    pid_t p;
    while ((p = ::waitpid(-1, &ws, WNOHANG)) > 0) {
      if (health_ && health_->on_exit(p, ws)) continue;
      if (p == container_pid_) on_container_exit(ws);
    }
  }
}

void Monitor::on_container_exit(int ws) {
  int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  container_pid_ = 0;
  arm(stop_timer_.get(), 0);
  // Whatever the container wrote before it died is still in the pipes.
  for (Tag t : {kStdout, kStderr, kPty}) read_output(t);
  log_->flush();
  for (UniqueFd* fd : {&out_, &err_, &pty_}) {
    if (*fd) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd->get(), nullptr);
    fd->reset();
  }
  if (stdin_watched_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, in_.get(), nullptr);
  in_.reset();
  stdin_pending_.clear();
  stdin_watched_ = stdin_close_after_ = false;
  pause_clients(false);
  int64_t kills = oom_kills(o_.cgroup_path);
  runtime_delete(o_);
  if (health_) health_->container_stopped();
  int64_t ran = monotonic_ms() - started_ms_;
  bool stopped = stop_requested_ || fs::exists("stop");
  // `berth update --restart` of a running container
  std::optional<std::string> policy_file;
  try {
    policy_file = fs::read_file_if_exists("restart-policy");
  } catch (const Error&) {
  }
  if (policy_file) {
    const std::string& p = *policy_file;
    auto sp = p.find(' ');
    policy_ = RestartPolicy(p.substr(0, sp), sp == std::string::npos ? 0 : std::atoi(p.c_str() + sp + 1));
    o_.restart = p.substr(0, sp);
    ::unlink("restart-policy");
  }
  int64_t delay = policy_.next(code, ran, st_.restart_count - o_.restart_count, stopped);
  st_.exit_code = code;
  st_.oom_killed = kills > 0;
  st_.pid = 0;
  st_.finished_at = now_rfc3339();
  st_.status = delay >= 0 ? "restarting" : "exited";
  event("die", {{"exitCode", std::to_string(code)}});
  if (kills > 0) event("oom", {});
  if (!st_.health.empty()) st_.health = "unhealthy";
  save();
  had_clients_at_exit_ = !clients_.empty();
  broadcast(Frame::Exit, std::to_string(code));
  clients_.clear();  // attached clients end with the run they watched
  if (delay >= 0) {
    arm(restart_timer_.get(), delay);
    return;
  }
  finish_exit();
}

void Monitor::finish_exit() { done_ = true; }

void Monitor::exit_for_good(int code) {
  if (!o_.rootfs.empty()) ::umount2(o_.rootfs.c_str(), MNT_DETACH);
  listener_.reset();
  ::unlink("pid");
  if (!o_.exit_command.empty() && !had_clients_at_exit_) {
    std::vector<char*> argv;
    for (auto& a : o_.exit_command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), environ);
  }
  ::_exit(code);
}

int Monitor::run() {
  setup();
  if (!start_container()) {
    report_sync("error " + std::to_string(st_.exit_code) + " " + st_.error + "\n");
    broadcast(Frame::Exit, std::to_string(st_.exit_code));
    clients_.clear();
    had_clients_at_exit_ = true;  // the starter reports the failure itself
    exit_for_good(1);
  }
  report_sync("ok " + std::to_string(container_pid_) + "\n");
  epoll_event evs[16];
  while (!done_) {
    int n = ::epoll_wait(epoll_.get(), evs, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("epoll_wait");
    for (int i = 0; i < n && !done_; ++i) {
      uint64_t tag = evs[i].data.u64;
      uint64_t expirations;
      switch (tag) {
        case kSignal: on_signal(); break;
        case kListener:
          while (UniqueFd c = listener_->accept()) {
            uint64_t key = next_client_++;
            int fd = c.get();
            clients_[key].fd = std::move(c);
            watch(fd, key, clients_paused_ ? 0 : EPOLLIN | EPOLLRDHUP);
          }
          break;
        case kStdout:
        case kStderr:
        case kPty: read_output(static_cast<Tag>(tag)); break;
        case kStopTimer:
          if (::read(stop_timer_.get(), &expirations, 8) == 8 && container_pid_ > 0) ::kill(container_pid_, SIGKILL);
          break;
        case kRestartTimer:
          if (::read(restart_timer_.get(), &expirations, 8) != 8) break;
          st_.restart_count++;
          if (start_container()) event("start", {});
          if (st_.status != "running") {
            // A restart that cannot start counts as a failed run.
            int64_t delay = policy_.next(st_.exit_code, 0, st_.restart_count - o_.restart_count, stop_requested_);
            if (delay >= 0) {
              st_.status = "restarting";
              save();
              arm(restart_timer_.get(), delay);
            } else {
              finish_exit();
            }
          }
          break;
        case kHealthTimer:
          if (health_ && health_->on_timer(epoll_.get(), kHealthOut)) {
            st_.health = health_->status();
            st_.health_failing = health_->failing();
            st_.health_log = health_->log_json();
            save();
          }
          break;
        case kHealthOut:
          if (health_) health_->on_output();
          break;
        case kStdin: flush_stdin(); break;
        default: on_client(tag); break;
      }
    }
    if (health_ && health_->take_changed()) {
      st_.health = health_->status();
      st_.health_failing = health_->failing();
      st_.health_log = health_->log_json();
      save();
    }
  }
  exit_for_good(0);
}

}  // namespace

int run_monitor(const Options& o) {
  Monitor m(o);
  return m.run();
}

}  // namespace berth::monitor
