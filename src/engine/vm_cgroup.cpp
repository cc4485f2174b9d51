#include "engine/vm_cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::engine {

namespace {

// The cgroup this process is in for a v1 controller ("memory") or v2 ("").
std::string current_cgroup(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controller.empty() ? (line.rfind("0::", 0) == 0)
                           : (("," + ctrls + ",").find("," + controller + ",") != std::string::npos))
      return path;
  }
  return "/";
}

void put(const std::string& dir, const char* file, const std::string& v) {
  fs::write_file(fs::join(dir, file), v);
}

}  // namespace

VmCgroup::VmCgroup(const std::string& name, uint64_t memory, int cpus) {
  std::string pid = std::to_string(::getpid());
  std::string leaf = "berth/vm-" + name;
  uint64_t limit = memory + kOverhead;
  try {
    if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {  // pure v2
      std::string dir = fs::join("/sys/fs/cgroup", leaf);
      fs::mkdir_p(dir);
      paths_.push_back(dir);
      origins_.push_back(fs::join("/sys/fs/cgroup", current_cgroup("")));
      try { put("/sys/fs/cgroup/berth", "cgroup.subtree_control", "+memory +cpu"); } catch (const Error&) {}
      put(dir, "memory.max", std::to_string(limit));
      put(dir, "cpu.max", std::to_string(cpus * 100000) + " 100000");
      put(dir, "cgroup.procs", pid);
      return;
    }
    if (fs::is_dir("/sys/fs/cgroup/memory")) {
      std::string dir = fs::join("/sys/fs/cgroup/memory", leaf);
      fs::mkdir_p(dir);
      paths_.push_back(dir);
      origins_.push_back(fs::join("/sys/fs/cgroup/memory", current_cgroup("memory")));
      put(dir, "memory.limit_in_bytes", std::to_string(limit));
      put(dir, "cgroup.procs", pid);
    }
    std::string cpu_root = fs::is_dir("/sys/fs/cgroup/cpu") ? "/sys/fs/cgroup/cpu" : "";
    if (!cpu_root.empty()) {
      std::string dir = fs::join(cpu_root, leaf);
      fs::mkdir_p(dir);
      paths_.push_back(dir);
      origins_.push_back(fs::join(cpu_root, current_cgroup("cpu")));
      put(dir, "cpu.cfs_period_us", "100000");
      put(dir, "cpu.cfs_quota_us", std::to_string(cpus * 100000));
      put(dir, "cgroup.procs", pid);
    }
  } catch (Error& e) {
    cleanup();
    throw e.wrap("put the VMM of vm " + name + " in its cgroup");
  }
}

VmCgroup::~VmCgroup() { cleanup(); }

void VmCgroup::cleanup() {
  std::string pid = std::to_string(::getpid());
  for (size_t i = paths_.size(); i-- > 0;) {
    try {
      if (i < origins_.size()) put(origins_[i], "cgroup.procs", pid);
    } catch (const Error& e) {
      log::warn(e.what());
    }
    ::rmdir(paths_[i].c_str());
  }
  paths_.clear();
  origins_.clear();
}

}  // namespace berth::engine
