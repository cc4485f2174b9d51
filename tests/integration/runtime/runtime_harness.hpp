// Test harness for berth-runtime integration tests: a bundle with a copy of
// the bundled busybox rootfs and an editable config.json, and a runner for
// the real build/bin/berth-runtime binary with a private --root.
#pragma once

#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace berth::testing {

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

  Runtime() = default;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  // A test that failed midway (an ASSERT returns early) leaves its
  // containers running, with their cgroups: end them with the root, so no
  // process or cgroup outlives the test.
  ~Runtime() {
    auto r = (*this)({"list", "-q"});
    std::istringstream ids(r.out);
    for (std::string id; std::getline(ids, id);)
      if (!id.empty()) (*this)({"delete", "--force", id});
  }

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
