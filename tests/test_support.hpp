// Helpers shared by the gtest binaries.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#define BERTH_REQUIRE_ROOT()                                  \
  do {                                                        \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";       \
  } while (0)

namespace berth::testing {

// A fresh directory under /tmp (or $TMPDIR) removed when the object dies.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/berth-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (!p) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::string cmd = "umount -R -l " + path_ + "/* 2>/dev/null; rm -rf " + path_;
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv (argv[0] looked up in PATH), feeding `input` on stdin and
// capturing stdout and stderr; killed after timeout_s so a hung child fails
// its test instead of the whole run.
inline RunResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                             int timeout_s = 300) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) [[maybe_unused]] ssize_t w = write(in[1], input.data(), input.size());
  close(in[1]);
  RunResult r;
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
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline std::string build_dir() { return BERTH_BUILD_DIR; }
inline std::string source_dir() { return BERTH_SOURCE_DIR; }
// The unpacked bundled base image made by scripts/make-base-image.
inline std::string busybox_rootfs() { return build_dir() + "/images/busybox-rootfs"; }

}  // namespace berth::testing
