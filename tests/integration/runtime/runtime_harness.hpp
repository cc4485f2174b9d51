// Test harness for berth-runtime integration tests: a bundle with a copy of
// the bundled busybox rootfs and an editable config.json, and a runner for
// the real build/bin/berth-runtime binary with a private --root.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace berth::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv, feeding `input` on stdin, capturing stdout and stderr.
inline RunResult run_command(const std::vector<std::string>& argv,
                             const std::string& input = "") {
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
  if (!input.empty()) [[maybe_unused]] auto n = write(in[1], input.data(), input.size());
  close(in[1]);
  RunResult r;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// The default config: what `runc spec` writes, with the busybox rootfs.
inline nlohmann::json default_config() {
  return nlohmann::json::parse(R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "berth",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})");
}

// A bundle directory: rootfs copied from the bundled busybox image.
class Bundle {
 public:
  Bundle() : config(default_config()) {
    std::string cmd = "cp -a " + busybox_rootfs() + " " + dir_.path() + "/rootfs";
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
  // Writes config.json (call after editing `config`).
  void write() const {
    std::string p = dir_.path() + "/config.json";
    FILE* f = fopen(p.c_str(), "w");
    std::string s = config.dump(2);
    fwrite(s.data(), 1, s.size(), f);
    fclose(f);
  }
  void set_args(std::vector<std::string> args) { config["process"]["args"] = args; }
  const std::string& path() const { return dir_.path(); }
  std::string rootfs() const { return dir_.path() + "/rootfs"; }

  nlohmann::json config;

 private:
  TempDir dir_;
};

// berth-runtime with a private --root (state dir), like a private runc root.
class Runtime {
 public:
  std::string binary = build_dir() + "/bin/berth-runtime";

  RunResult operator()(std::vector<std::string> args, const std::string& input = "") const {
    std::vector<std::string> argv = {binary, "--root", root_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, input);
  }
  const std::string& root() const { return root_.path(); }
  // A container id unique to this test process.
  static std::string unique_id(const std::string& stem) {
    static int n = 0;
    return stem + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
  }

 private:
  TempDir root_;
};

inline bool busybox_available() { return access((busybox_rootfs() + "/bin/busybox").c_str(), X_OK) == 0; }

#define BERTH_REQUIRE_BUSYBOX()                                                       \
  do {                                                                                \
    BERTH_REQUIRE_ROOT();                                                             \
    if (!::berth::testing::busybox_available())                                       \
      GTEST_FAIL() << "bundled busybox rootfs missing: run scripts/make-base-image " \
                   << ::berth::testing::build_dir() << "/images";                     \
  } while (0)

}  // namespace berth::testing
