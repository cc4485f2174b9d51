// Leak checks and small helpers for the lifecycle-owner's runtime tests
// (lifecycle, namespaces, hooks, exec, console, bad input, selfexe).
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "runtime_harness.hpp"

namespace berth::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline bool path_exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// Every cgroup dir named for the container under any hierarchy (the default
// cgroupsPath is /berth/<id>).
inline std::vector<std::string> cgroup_dirs(const std::string& id) {
  std::vector<std::string> found;
  DIR* d = opendir("/sys/fs/cgroup");
  if (!d) return found;
  std::vector<std::string> roots = {"/sys/fs/cgroup"};
  while (auto* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") roots.push_back("/sys/fs/cgroup/" + n);
  }
  closedir(d);
  for (auto& r : roots)
    if (path_exists(r + "/berth/" + id)) found.push_back(r + "/berth/" + id);
  return found;
}

// Names in the runtime's state root that mention `id` (its state file,
// exec fifo, temp files).
inline std::vector<std::string> state_files_of(const Runtime& rt, const std::string& id) {
  std::vector<std::string> found;
  if (DIR* d = opendir(rt.root().c_str())) {
    while (auto* e = readdir(d))
      if (std::string(e->d_name).find(id) != std::string::npos) found.push_back(e->d_name);
    closedir(d);
  }
  return found;
}

// Mounts whose mount point mentions `needle` in our mount namespace.
inline std::vector<std::string> mounts_under(const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

// Processes whose root directory is inside `dir` (a container's rootfs).
inline std::vector<pid_t> processes_rooted_in(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  while (auto* e = readdir(d)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    char buf[4096];
    std::string link = "/proc/" + std::to_string(pid) + "/root";
    ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
    if (n <= 0) continue;
    buf[n] = 0;
    if (std::string(buf).rfind(dir, 0) == 0) out.push_back(pid);
  }
  closedir(d);
  return out;
}

// Asserts nothing of container `id` (bundle `b`, runtime `rt`) is left.
#define EXPECT_NO_LEFTOVERS(rt, b, id)                                                        \
  do {                                                                                       \
    EXPECT_FALSE(::berth::testing::path_exists((rt).root() + "/" + (id)))                    \
        << "state dir left for " << (id);                                                    \
    EXPECT_TRUE(::berth::testing::cgroup_dirs(id).empty())                                   \
        << "cgroup left: " << ::berth::testing::cgroup_dirs(id)[0];                          \
    EXPECT_TRUE(::berth::testing::mounts_under((b).path()).empty())                          \
        << "mount left: " << ::berth::testing::mounts_under((b).path())[0];                  \
    EXPECT_TRUE(::berth::testing::processes_rooted_in((b).rootfs()).empty())                 \
        << "process left in " << (b).rootfs();                                               \
  } while (0)

// Polls for a condition (a container process doing something); the bound
// only keeps a broken test from hanging, it is not a timing assertion.
template <typename F>
bool eventually(F f, int seconds = 20) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

// The target of /proc/<pid>/<name> (pid 0: self), e.g. "exe", "root",
// "ns/net"; "" if it cannot be read.
inline std::string proc_link(pid_t pid, const std::string& name) {
  char buf[4096];
  std::string p = (pid ? "/proc/" + std::to_string(pid) : std::string("/proc/self")) + "/" + name;
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

inline nlohmann::json state_of(const Runtime& rt, const std::string& id) {
  auto r = rt({"state", id});
  if (r.exit_code != 0) return nlohmann::json();
  return nlohmann::json::parse(r.out);
}

// A host dir bind-mounted read-write into the container at the same path, so
// the container and hooks can leave files the test reads.
inline std::string share_dir(Bundle& b, const std::string& dir) {
  b.config["mounts"].push_back({{"destination", dir}, {"type", "bind"}, {"source", dir},
                                {"options", {"rbind", "rw"}}});
  return dir;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace berth::testing

namespace berth::testing {

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// For verbs that leave a container process behind (create, run -d, exec -d):
// that process inherits the runtime's stdio, so capture through files, not
// pipes a reader would wait on forever.
inline RunResult run_detached(const Runtime& rt, const std::vector<std::string>& args) {
  TempDir d;
  std::string cmd = "exec " + shell_quote(rt.binary) + " --root " + shell_quote(rt.root());
  for (auto& a : args) cmd += " " + shell_quote(a);
  cmd += " </dev/null >" + d.path() + "/out 2>" + d.path() + "/err";
  RunResult r = run_command({"sh", "-c", cmd});
  r.out = slurp(d.path() + "/out");
  r.err = slurp(d.path() + "/err");
  return r;
}

}  // namespace berth::testing
