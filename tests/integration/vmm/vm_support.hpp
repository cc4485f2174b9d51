// Runs `berth vm ...` as a user would and captures its output, for the
// micro-VM integration tests. Guests are the tiny ones from tests/guests/.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "test_support.hpp"

namespace berth::testing {

struct CmdResult {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};

inline std::string guest(const std::string& name) { return build_dir() + "/guests/" + name + ".bzimage"; }
inline std::string berth_bin() { return build_dir() + "/bin/berth"; }

// argv[0] is the program; stdin gets `input`; killed after timeout_s.
inline CmdResult run_cmd(std::vector<std::string> argv, const std::string& input = "", int timeout_s = 30) {
  RunResult r = run_command(argv, input, timeout_s);
  return CmdResult{r.exit_code, std::move(r.out), std::move(r.err)};
}

// `berth --root R --state S vm <args...>`
class VmEnv {
 public:
  VmEnv() = default;
  VmEnv(const VmEnv&) = delete;
  VmEnv& operator=(const VmEnv&) = delete;
  // A VM killed with SIGKILL leaves its VMM a zombie until init reaps it
  // (late on some hosts), and a v1 cgroup holding a zombie cannot be
  // removed; berth removes such groups on a later `vm` command (docs/vm.md).
  // A test has no later command, so its groups (suffix: the hash of this
  // root, as VmManager::cgroup_name makes it) are removed here.
  ~VmEnv() {
    char tag[16];
    snprintf(tag, sizeof tag, ".%08zx", std::hash<std::string>{}(root()) & 0xffffffff);
    std::vector<std::string> left;
    std::error_code ec;
    for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
      std::filesystem::path parent = h.path() / "berth";
      for (const auto& g : std::filesystem::directory_iterator(parent, ec)) {
        std::string n = g.path().filename();
        if (n.size() > 9 && n.compare(n.size() - 9, 9, tag) == 0) left.push_back(g.path());
      }
    }
    for (int i = 0; i < 500 && !left.empty(); ++i) {
      std::erase_if(left, [](const std::string& d) { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; });
      if (!left.empty()) ::usleep(10000);
    }
  }

  CmdResult vm(std::vector<std::string> args, const std::string& input = "", int timeout_s = 30) {
    std::vector<std::string> argv = {berth_bin(), "--root", root(), "--state", state(), "vm"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, input, timeout_s);
  }
  std::string root() const { return dir_ / "root"; }
  std::string state() const { return dir_ / "state"; }
  std::string path(const std::string& rel) const { return dir_ / rel; }

 private:
  TempDir dir_;
};

inline bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// FNV-1a, as the tiny guests' fnv1a() prints it.
inline uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A process that has exited: gone, or a zombie waiting for init to reap it
// (an orphaned VMM is reaped by init, which may take a while here).
inline bool process_exited(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::string stat = read_all("/proc/" + std::to_string(pid) + "/stat");
  auto p = stat.rfind(')');
  return p == std::string::npos || (p + 2 < stat.size() && stat[p + 2] == 'Z');
}

// Polls cond every 10 ms for up to timeout_ms; true once it holds.
template <class F>
bool eventually(F cond, int timeout_ms = 5000) {
  for (int i = 0; i < timeout_ms / 10; ++i) {
    if (cond()) return true;
    ::usleep(10000);
  }
  return cond();
}

// Starts argv in the background with stdin from /dev/null and stdout and
// stderr to `out`; returns its pid.
inline pid_t spawn_background(const std::vector<std::string>& argv, const std::string& out) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null, 0);
    ::dup2(o, 1);
    ::dup2(o, 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  return pid;
}

// The counter guest (tests/guests/counter.c) prints "count N ap1 M".
struct Count {
  uint64_t count = 0;
  std::vector<uint64_t> aps;
};

// The "count N ap1 M" lines of a console log, in order.
inline std::vector<Count> counts(const std::string& log) {
  std::vector<Count> out;
  // Whole lines only: a VM paused or stopped while printing leaves its
  // last line unfinished ("count 320 ap"), which is not a count yet.
  std::istringstream in(log.substr(0, log.rfind('\n') + 1));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("count ", 0) != 0) continue;
    std::istringstream words(line.substr(6));
    Count c;
    words >> c.count;
    for (std::string ap; words >> ap;) {
      uint64_t v = 0;
      if (words >> v) c.aps.push_back(v);
    }
    out.push_back(c);
  }
  return out;
}

inline std::string console_log(VmEnv& env, const std::string& name) {
  return read_all(env.root() + "/vms/" + name + "/console.log");
}

inline uint64_t last_count(const std::string& log) {
  auto c = counts(log);
  return c.empty() ? 0 : c.back().count;
}

// Waits until the VM's log shows a count of at least n.
inline bool wait_count(VmEnv& env, const std::string& name, uint64_t n, int timeout_ms = 20000) {
  return eventually([&] { return last_count(console_log(env, name)) >= n; }, timeout_ms);
}

// Counts that follow each other by 64 from the first to the last, and
// other CPUs whose counts only grow: a guest that never started over,
// never lost a write and whose every CPU ran.
inline void expect_carried_on(const std::string& log, size_t cpus) {
  EXPECT_FALSE(has(log, "MISMATCH")) << log;
  auto c = counts(log);
  ASSERT_GE(c.size(), 2u) << log;
  for (size_t i = 1; i < c.size(); ++i) {
    EXPECT_EQ(c[i].count, c[i - 1].count + 64) << "line " << i << " of\n" << log;
    ASSERT_EQ(c[i].aps.size(), cpus - 1) << log;
    for (size_t a = 0; a < c[i].aps.size(); ++a)
      EXPECT_GT(c[i].aps[a], c[i - 1].aps[a]) << "cpu " << a + 1 << " stood still at line " << i << " of\n" << log;
  }
}

// Unix sockets of a VM (channel, console).
inline sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  return sa;
}

// Connects once the VMM listens (it starts a moment after `berth vm run`).
inline UniqueFd connect_channel(const std::string& path, int timeout_ms = 15000) {
  sockaddr_un sa = unix_address(path);
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return c;
    ::usleep(10000);
  }
  return UniqueFd();
}

// Reads until a newline (or EOF / timeout).
inline std::string read_line(int fd, int timeout_ms = 15000) {
  std::string out;
  while (out.empty() || out.back() != '\n') {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    char c;
    if (::read(fd, &c, 1) != 1) break;
    out += c;
  }
  return out;
}

#define BERTH_REQUIRE_KVM()                                                       \
  do {                                                                            \
    BERTH_REQUIRE_ROOT();                                                         \
    if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/kvm";    \
  } while (0)

// A loopback address with a port free now (bound once, then let go), as
// `vm receive --listen` and `vm migrate --to` take it.
inline std::string free_port() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return "tcp:127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

}  // namespace berth::testing
