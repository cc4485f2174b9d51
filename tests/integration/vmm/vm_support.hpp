// Runs `berth vm ...` as a user would and captures its output, for the
// micro-VM integration tests. Guests are the tiny ones from tests/guests/.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) [[maybe_unused]] ssize_t w = write(in[1], input.data(), input.size());
  close(in[1]);
  CmdResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      r.err += "\n[test: killed after timeout]";
      break;
    }
    if (poll(fds, 2, left) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char b[4096];
      ssize_t n = read(fds[i].fd, b, sizeof b);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i ? r.err : r.out).append(b, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// `berth --root R --state S vm <args...>`
class VmEnv {
 public:
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

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

#define BERTH_REQUIRE_KVM()                                                       \
  do {                                                                            \
    BERTH_REQUIRE_ROOT();                                                         \
    if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/kvm";    \
  } while (0)

}  // namespace berth::testing
