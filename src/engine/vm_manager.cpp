#include "engine/vm_manager.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <random>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "engine/vm_cgroup.hpp"
#include "engine/vm_channel.hpp"
#include "vmm/machine.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

std::string now_rfc3339() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

void validate_name(const std::string& n) {
  bool ok = !n.empty() && n.size() <= 63 && std::isalnum(static_cast<unsigned char>(n[0]));
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') ok = false;
  if (!ok) fail("invalid VM name '" + n + "' (letters, digits, - _ . ; at most 63)");
}

std::string random_name() {
  std::random_device rd;
  char b[16];
  snprintf(b, sizeof b, "vm-%06x", rd() & 0xffffff);
  return b;
}

uint64_t host_memory() {
  std::string s = fs::read_file("/proc/meminfo");
  auto p = s.find("MemTotal:");
  if (p == std::string::npos) return 0;
  return std::stoull(s.substr(p + 9)) * 1024;
}

// Field 22 of /proc/<pid>/stat: guards against a recycled pid.
std::string process_start(pid_t pid) {
  std::string s;
  try {
    s = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const Error&) {
    return "";
  }
  auto p = s.rfind(')');
  if (p == std::string::npos) return "";
  std::istringstream in(s.substr(p + 2));
  std::string f;
  for (int i = 3; i <= 22 && in >> f; ++i) {
  }
  return f;
}

int exit_code(vmm::ExitReason r) {
  switch (r) {
    case vmm::ExitReason::Poweroff:
    case vmm::ExitReason::Reset:
    case vmm::ExitReason::Stopped:
      return 0;
    default:
      return 1;
  }
}

class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

constexpr char kDetachKey = 0x1d;  // Ctrl-]

}  // namespace

struct VmManager::Prepared {
  std::string name;
  vmm::VmConfig cfg;
  json config;
  std::string dir, log_path, sock_path;
  uint64_t memory = 0;
};

// VM names are unique per root; two roots (parallel tests) may reuse one, so
// the cgroup carries a tag of the root too.
std::string VmManager::cgroup_name(const std::string& name) const {
  char tag[16];
  snprintf(tag, sizeof tag, "%08zx", std::hash<std::string>{}(root_) & 0xffffffff);
  return name + "." + tag;
}

void VmManager::open_db() {
  db_ = std::make_unique<Database>(fs::join(root_, "berth.db"));
  // The last connection to close would checkpoint the WAL (two fdatasyncs,
  // ~25 ms here) on the way out of every `berth vm` command, including the
  // VMM's exit; leave checkpoints to SQLite's automatic ones during writes.
  sqlite3_db_config(db_->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

VmManager::VmManager(std::string root, std::string state)
    : root_(std::move(root)), state_(std::move(state)) {
  fs::mkdir_p(root_, 0700);
  open_db();
  db_->exec(
      "CREATE TABLE IF NOT EXISTS vms ("
      " name TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT NOT NULL,"
      " pid INTEGER, pid_start TEXT, created TEXT, started TEXT, finished TEXT,"
      " exit_reason TEXT, exit_detail TEXT, console_log TEXT, console_sock TEXT)");
}

VmManager::Prepared VmManager::prepare(const VmSpec& s) {
  Prepared p;
  p.name = s.name.empty() ? random_name() : s.name;
  validate_name(p.name);
  if (s.kernel.empty()) fail("--kernel is required");
  if (!fs::exists(s.kernel)) throw Error("kernel " + s.kernel + " not found", ErrorKind::NotFound, ENOENT);
  p.cfg.boot.kernel = fs::absolute(s.kernel);
  if (!s.initrd.empty()) {
    if (!fs::exists(s.initrd)) throw Error("initrd " + s.initrd + " not found", ErrorKind::NotFound, ENOENT);
    p.cfg.boot.initrd = fs::absolute(s.initrd);
  }
  p.cfg.boot.cmdline = s.cmdline;
  if (s.cpus < 1 || s.cpus > 64) fail("--cpus must be between 1 and 64, not " + std::to_string(s.cpus));
  unsigned host_cpus = std::thread::hardware_concurrency();
  if (host_cpus && static_cast<unsigned>(s.cpus) > 4 * host_cpus)
    fail("--cpus " + std::to_string(s.cpus) + " is more than 4x this host's " + std::to_string(host_cpus) + " CPUs");
  p.cfg.cpus = s.cpus;
  p.memory = vmm::parse_size(s.memory);
  if (p.memory < 16 * vmm::kMiB) fail("--memory " + s.memory + " is too small (at least 16M)");
  uint64_t host = host_memory();
  if (host && p.memory > host)
    fail("--memory " + s.memory + " is larger than this host's RAM (" + std::to_string(host >> 20) + " MiB)");
  p.cfg.memory = p.memory;
  json disks = json::array();
  for (const auto& d : s.disks) {
    std::string path = d;
    bool ro = false;
    if (auto c = d.rfind(','); c != std::string::npos) {
      std::string opt = d.substr(c + 1);
      if (opt == "ro") ro = true;
      else if (opt != "rw") fail("--disk " + d + ": unknown option '" + opt + "' (ro or rw)");
      path = d.substr(0, c);
    }
    if (!fs::exists(path)) throw Error("disk " + path + " not found", ErrorKind::NotFound, ENOENT);
    p.cfg.disks.push_back({fs::absolute(path), ro});
    disks.push_back({{"path", p.cfg.disks.back().path}, {"readonly", ro}});
  }
  if (s.net == "tap") p.cfg.tap = ("bt-" + p.name).substr(0, 15);
  else if (s.net.rfind("tap:", 0) == 0) p.cfg.tap = s.net.substr(4);
  else if (s.net != "none" && !s.net.empty()) fail("--net must be none, tap or tap:NAME, not '" + s.net + "'");
  p.cfg.mac = s.mac;
  p.cfg.rng = s.rng;
  p.cfg.channel = resolve_channel(s.channel, fs::join(fs::join(fs::join(state_, "vms"), p.name), "channel.sock"));
  p.dir = fs::join(fs::join(root_, "vms"), p.name);
  p.log_path = fs::join(p.dir, "console.log");
  p.sock_path = fs::join(fs::join(fs::join(state_, "vms"), p.name), "console.sock");
  p.config = {{"kernel", p.cfg.boot.kernel}, {"initrd", p.cfg.boot.initrd},
              {"cmdline", s.cmdline},        {"cpus", s.cpus},
              {"memory", p.memory},          {"disks", disks},
              {"net", s.net},                {"tap", p.cfg.tap},
              {"rng", s.rng},                {"channel", p.cfg.channel}};

  // The primary key makes the name claim atomic across berth processes.
  try {
    db_->prepare("INSERT INTO vms (name, config, state, created) VALUES (?, ?, 'created', ?)")
        .bind(1, p.name).bind(2, p.config.dump()).bind(3, now_rfc3339()).run();
  } catch (Error& e) {
    auto st = db_->prepare("SELECT state FROM vms WHERE name = ?");
    st.bind(1, p.name);
    if (st.step())
      throw Error("vm " + p.name + " already exists (" + st.text(0) + "); remove it with 'berth vm rm'",
                  ErrorKind::AlreadyExists);
    throw;
  }
  return p;
}

void VmManager::finish(const std::string& name, const std::string& reason, const std::string& detail) {
  db_->prepare("UPDATE vms SET state = 'stopped', finished = ?, exit_reason = ?, exit_detail = ?, pid = NULL WHERE name = ?")
      .bind(1, now_rfc3339()).bind(2, reason).bind(3, detail).bind(4, name).run();
}

int VmManager::serve(Prepared& p, bool detached, int ready_fd) {
  // Signals become events on the I/O loop, in every thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  UniqueFd sfd(static_cast<int>(check(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd")));

  VmCgroup cgroup(cgroup_name(p.name), p.memory, p.cfg.cpus);

  std::vector<int> clients;
  UniqueFd log_fd, listener;
  if (detached) {
    fs::mkdir_p(p.dir, 0700);
    log_fd.reset(static_cast<int>(check(::open(p.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600),
                                        "open console log " + p.log_path)));
    p.cfg.console_out = [&](const uint8_t* d, size_t n) {
      [[maybe_unused]] ssize_t w = ::write(log_fd.get(), d, n);
      for (size_t i = 0; i < clients.size();) {
        if (::send(clients[i], d, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
          ::close(clients[i]);
          clients.erase(clients.begin() + static_cast<long>(i));
        } else {
          ++i;
        }
      }
    };
  } else {
    p.cfg.console_out = [](const uint8_t* d, size_t n) {
      while (n) {
        ssize_t w = ::write(1, d, n);
        if (w <= 0) return;
        d += w;
        n -= static_cast<size_t>(w);
      }
    };
  }

  vmm::Machine m(p.cfg);

  if (detached) {
    std::string sdir = p.sock_path.substr(0, p.sock_path.rfind('/'));
    fs::mkdir_p(sdir, 0700);
    ::unlink(p.sock_path.c_str());
    listener.reset(static_cast<int>(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "console socket")));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (p.sock_path.size() >= sizeof sa.sun_path) fail("console socket path too long: " + p.sock_path);
    std::strcpy(sa.sun_path, p.sock_path.c_str());
    check(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "bind console socket " + p.sock_path);
    check(::listen(listener.get(), 4), "listen on console socket " + p.sock_path);
    m.loop().add(listener.get(), [&] {
      int c = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) return;
      clients.push_back(c);
      m.loop().add(c, [&, c] {
        char b[256];
        ssize_t n = ::read(c, b, sizeof b);
        if (n > 0) {
          m.console_input(std::string_view(b, static_cast<size_t>(n)));
          return;
        }
        m.loop().remove(c);
        std::erase(clients, c);
        ::close(c);
      });
    });
  }

  std::unique_ptr<RawTerminal> raw;
  if (!detached) {
    raw = std::make_unique<RawTerminal>(0);
    bool tty = raw->active();
    // stdin may be a file or /dev/null, which epoll refuses: then no input.
    if (struct stat st{}; ::fstat(0, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
                          !(S_ISCHR(st.st_mode) && !::isatty(0) && major(st.st_rdev) == 1))
    m.loop().add(0, [&, tty] {
      char b[256];
      ssize_t n = ::read(0, b, sizeof b);
      if (n <= 0) {
        m.loop().remove(0);
        return;
      }
      std::string_view in(b, static_cast<size_t>(n));
      if (tty && in.find(kDetachKey) != std::string_view::npos) {
        m.stop("stopped from the console (Ctrl-])");
        return;
      }
      m.console_input(in);
    });
  }
  m.loop().add(sfd.get(), [&] {
    signalfd_siginfo si{};
    if (::read(sfd.get(), &si, sizeof si) == sizeof si)
      m.stop(std::string("stopped by signal ") + strsignal(static_cast<int>(si.ssi_signo)));
  });

  db_->prepare("UPDATE vms SET state = 'running', pid = ?, pid_start = ?, started = ?, console_log = ?, console_sock = ? WHERE name = ?")
      .bind(1, static_cast<int64_t>(::getpid())).bind(2, process_start(::getpid()))
      .bind(3, now_rfc3339()).bind(4, detached ? p.log_path : "")
      .bind(5, detached ? p.sock_path : "").bind(6, p.name).run();
  if (ready_fd >= 0) {
    [[maybe_unused]] ssize_t w = ::write(ready_fd, "ok", 2);
  }

  vmm::ExitReason r = m.run();
  try {
    cgroup.join();
  } catch (const Error& e) {
    log::warn(e.what());
  }
  cgroup.leave();  // runs while the Machine below is torn down
  raw.reset();
  for (int c : clients) ::close(c);
  if (detached) ::unlink(p.sock_path.c_str());
  std::string detail = m.exit_detail();
  finish(p.name, vmm::exit_reason_name(r), detail);
  std::cerr << "berth: vm " << p.name << " ended: " << vmm::exit_reason_name(r) << " (" << detail << ")\n";
  return exit_code(r);
}

int VmManager::run_foreground(const VmSpec& spec) {
  Prepared p = prepare(spec);
  try {
    return serve(p, false, -1);
  } catch (Error& e) {
    // The VM never ran: leave no record behind.
    db_->prepare("DELETE FROM vms WHERE name = ? AND state = 'created'").bind(1, p.name).run();
    throw e.wrap("run vm " + p.name);
  }
}

std::string VmManager::run_detached(const VmSpec& spec) {
  Prepared p = prepare(spec);
  int pipefd[2];
  check(::pipe2(pipefd, O_CLOEXEC), "pipe");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  // SQLite state must not cross fork (its per-inode lock bookkeeping would
  // be shared with a process that does not hold the locks): close, fork,
  // and open a fresh connection on each side.
  db_.reset();
  pid_t pid = ::fork();
  if (pid != 0) open_db();
  if (pid < 0) throw_errno("fork VMM for vm " + p.name);
  if (pid == 0) {
    rd.reset();
    ::setsid();
    int rc = 1;
    try {
      open_db();
      fs::mkdir_p(p.dir, 0700);
      int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      int err = ::open(fs::join(p.dir, "vmm.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      ::dup2(null, 0);
      ::dup2(null, 1);
      if (err >= 0) ::dup2(err, 2);
      rc = serve(p, true, wr.get());
    } catch (const std::exception& e) {
      auto* be = dynamic_cast<const Error*>(&e);
      std::string msg = "err:" + std::to_string(static_cast<int>(be ? be->kind() : ErrorKind::Internal)) +
                        ":" + (be ? be->message() : std::string(e.what()));
      if (wr) [[maybe_unused]] ssize_t w = ::write(wr.get(), msg.data(), msg.size());
      try {
        db_->prepare("DELETE FROM vms WHERE name = ? AND state = 'created'").bind(1, p.name).run();
        finish(p.name, "error", e.what());
      } catch (...) {
      }
      std::cerr << "berth: " << e.what() << "\n";
    }
    ::_exit(rc);
  }
  wr.reset();
  // One message: "ok" once the VM runs, or "err:<why>"; EOF if the VMM died.
  std::string answer;
  char b[1024];
  ssize_t n;
  while ((n = ::read(rd.get(), b, sizeof b)) < 0 && errno == EINTR) {
  }
  if (n > 0) answer.assign(b, static_cast<size_t>(n));
  if (answer == "ok") return p.name;
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (answer.rfind("err:", 0) == 0) {
    size_t colon = answer.find(':', 4);
    int kind = std::atoi(answer.substr(4, colon - 4).c_str());
    throw Error("run vm " + p.name + ": " + answer.substr(colon + 1), static_cast<ErrorKind>(kind));
  }
  throw Error("run vm " + p.name + ": the VMM exited before the VM started", ErrorKind::Internal);
}

bool VmManager::monitor_alive(const std::string& name) {
  auto st = db_->prepare("SELECT pid, pid_start FROM vms WHERE name = ? AND state = 'running'");
  st.bind(1, name);
  if (!st.step() || st.is_null(0)) return false;
  pid_t pid = static_cast<pid_t>(st.integer(0));
  std::string start = process_start(pid);
  return !start.empty() && start == st.text(1);
}

std::string VmManager::format_list() {
  std::ostringstream out;
  out << "NAME                 STATE              CPUS  MEMORY   PID      CREATED\n";
  std::vector<std::string> names;
  {
    auto st = db_->prepare("SELECT name FROM vms ORDER BY created, name");
    while (st.step()) names.push_back(st.text(0));
  }
  std::vector<std::string> ended;
  for (const auto& n : names) {
    auto st = db_->prepare("SELECT state, config, pid, created, exit_reason FROM vms WHERE name = ?");
    st.bind(1, n);
    if (!st.step()) continue;
    json cfg = json::parse(st.text(1), nullptr, false);
    std::string state = st.text(0);
    if (state == "running" && !monitor_alive(n)) state = "dead";
    else if (state == "stopped" && !st.is_null(4)) state = "stopped(" + st.text(4) + ")";
    if (state != "running") ended.push_back(cgroup_name(n));
    char line[256];
    snprintf(line, sizeof line, "%-20s %-18s %-5d %-8s %-8s %s\n", n.c_str(), state.c_str(),
             cfg.is_object() ? cfg.value("cpus", 0) : 0,
             cfg.is_object() ? (std::to_string(cfg.value("memory", uint64_t{0}) >> 20) + "M").c_str() : "?",
             st.is_null(2) || state != "running" ? "-" : std::to_string(st.integer(2)).c_str(),
             st.text(3).c_str());
    out << line;
  }
  VmCgroup::remove_stale(ended);
  return out.str();
}

std::string VmManager::inspect(const std::string& name) {
  auto st = db_->prepare(
      "SELECT name, config, state, pid, created, started, finished, exit_reason, exit_detail, console_log, console_sock "
      "FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  auto opt = [&](int c) -> json { return st.is_null(c) ? json(nullptr) : json(st.text(c)); };
  std::string state = st.text(2);
  if (state == "running" && !monitor_alive(name)) state = "dead";
  json j = {{"Name", st.text(0)},
            {"Config", json::parse(st.text(1), nullptr, false)},
            {"State", state},
            {"Pid", st.is_null(3) ? json(nullptr) : json(st.integer(3))},
            {"Created", opt(4)},
            {"Started", opt(5)},
            {"Finished", opt(6)},
            {"ExitReason", opt(7)},
            {"ExitDetail", opt(8)},
            {"ConsoleLog", opt(9)},
            {"ConsoleSocket", opt(10)},
            {"Cgroup", "berth/vm-" + cgroup_name(name)}};
  return j.dump(2);
}

void VmManager::stop(const std::string& name, bool kill) {
  auto st = db_->prepare("SELECT state, pid FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  if (st.text(0) != "running" || !monitor_alive(name))
    throw Error("vm " + name + " is not running", ErrorKind::FailedPrecondition);
  pid_t pid = static_cast<pid_t>(st.integer(1));
  check(::kill(pid, kill ? SIGKILL : SIGTERM), "signal the VMM of vm " + name);
  for (int i = 0; i < 1000 && monitor_alive(name); ++i) ::usleep(10000);
  if (monitor_alive(name)) throw Error("vm " + name + ": VMM did not stop within 10 s", ErrorKind::Internal);
  // The monitor's exit left its cgroup empty; its pid may linger as a zombie briefly.
  for (int i = 0; i < 100; ++i) {
    VmCgroup::remove_stale({cgroup_name(name)});
    if (::kill(pid, 0) != 0) break;
    ::usleep(5000);
  }
  VmCgroup::remove_stale({cgroup_name(name)});
  if (kill) {
    // A killed monitor cannot write its own epitaph.
    db_->prepare("UPDATE vms SET state = 'stopped', finished = ?, exit_reason = 'killed', exit_detail = 'VMM killed (SIGKILL)', pid = NULL WHERE name = ? AND state = 'running'")
        .bind(1, now_rfc3339()).bind(2, name).run();
  }
}

void VmManager::remove(const std::string& name) {
  auto st = db_->prepare("SELECT state FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  if (st.text(0) == "running" && monitor_alive(name))
    throw Error("vm " + name + " is running; stop it first", ErrorKind::FailedPrecondition);
  db_->prepare("DELETE FROM vms WHERE name = ?").bind(1, name).run();
  VmCgroup::remove_stale({cgroup_name(name)});
  fs::remove_all(fs::join(fs::join(root_, "vms"), name));
  fs::remove_all(fs::join(fs::join(state_, "vms"), name));
}

void VmManager::console(const std::string& name) {
  auto st = db_->prepare("SELECT console_sock FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  if (!monitor_alive(name)) throw Error("vm " + name + " is not running", ErrorKind::FailedPrecondition);
  std::string path = st.is_null(0) ? "" : st.text(0);
  if (path.empty()) throw Error("vm " + name + " runs in the foreground; its console is that terminal", ErrorKind::FailedPrecondition);
  UniqueFd s(static_cast<int>(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket")));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  check(::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "connect to console of vm " + name);
  RawTerminal raw(0);
  if (raw.active()) std::cerr << "[attached to vm " << name << "; Ctrl-] detaches]\r\n";
  pollfd fds[2] = {{0, POLLIN, 0}, {s.get(), POLLIN, 0}};
  bool stdin_open = true;
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    check(n, "poll console");
    char b[4096];
    if (fds[1].revents) {
      ssize_t r = ::read(s.get(), b, sizeof b);
      if (r <= 0) break;  // the VM ended
      [[maybe_unused]] ssize_t w = ::write(1, b, static_cast<size_t>(r));
    }
    if (stdin_open && fds[0].revents) {
      ssize_t r = ::read(0, b, sizeof b);
      if (r <= 0) {
        stdin_open = false;
        fds[0].fd = -1;
        continue;
      }
      std::string_view in(b, static_cast<size_t>(r));
      if (raw.active() && in.find(kDetachKey) != std::string_view::npos) break;
      [[maybe_unused]] ssize_t w = ::write(s.get(), b, static_cast<size_t>(r));
    }
  }
}

}  // namespace berth::engine

namespace berth::engine {

void VmManager::create_disk(const std::string& from, const std::string& size, const std::string& out) {
  uint64_t bytes = vmm::parse_size(size);
  if (bytes < 8 * vmm::kMiB) fail("--size " + size + " is too small for an ext4 disk (at least 8M)");
  std::string rootfs;
  if (fs::is_dir(from)) {
    rootfs = fs::absolute(from);
  } else {
    throw Error("--from " + from + ": not a directory; pass an unpacked image rootfs", ErrorKind::NotFound);
  }
  if (fs::exists(out)) throw Error("disk " + out + " already exists", ErrorKind::AlreadyExists);
  std::string tmp = out + ".tmp";
  {
    UniqueFd f(static_cast<int>(check(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), "create " + tmp)));
    check(::ftruncate(f.get(), static_cast<off_t>(bytes)), "size " + tmp);
  }
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork mkfs.ext4");
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-L", "berth-root", "-d",
             rootfs.c_str(), tmp.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(tmp.c_str());
    fail(WIFEXITED(status) && WEXITSTATUS(status) == 127
             ? "mkfs.ext4 not found (install e2fsprogs)"
             : "mkfs.ext4 -d " + rootfs + " " + out + " failed (is --size large enough?)",
         ErrorKind::Internal);
  }
  check(::rename(tmp.c_str(), out.c_str()), "rename " + tmp + " to " + out);
}

}  // namespace berth::engine
