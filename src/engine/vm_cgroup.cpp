#include "engine/vm_cgroup.hpp"

#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::engine {

namespace {

void put(const std::string& dir, const char* file, const std::string& v) {
  fs::write_file(fs::join(dir, file), v);
}

std::vector<std::string> hierarchies() {
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) return {"/sys/fs/cgroup"};
  std::vector<std::string> h;
  for (const char* d : {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu"})
    if (fs::is_dir(d)) h.push_back(d);
  return h;
}

}  // namespace

VmCgroup::VmCgroup(const std::string& name, uint64_t memory, int cpus) {
  std::string leaf = "berth/vm-" + name;
  uint64_t limit = memory + kOverhead;
  try {
    for (const auto& root : hierarchies()) {
      std::string dir = fs::join(root, leaf);
      fs::mkdir_p(dir);
      paths_.push_back(dir);
      if (root == "/sys/fs/cgroup") {  // pure v2
        try { put(fs::join(root, "berth"), "cgroup.subtree_control", "+memory +cpu"); } catch (const Error&) {}
        put(dir, "memory.max", std::to_string(limit));
        put(dir, "cpu.max", std::to_string(cpus * 100000) + " 100000");
      } else if (root.ends_with("/memory")) {
        put(dir, "memory.limit_in_bytes", std::to_string(limit));
        try { put(dir, "memory.move_charge_at_immigrate", "3"); } catch (const Error&) {}
      } else {
        put(dir, "cpu.cfs_period_us", "100000");
        put(dir, "cpu.cfs_quota_us", std::to_string(cpus * 100000));
      }
    }
  } catch (Error& e) {
    for (auto& p : paths_) ::rmdir(p.c_str());
    throw e.wrap("create the cgroup of vm " + name);
  }
  // Writing the TGID moves every thread of the VMM, present and future.
  std::string pid = std::to_string(::getpid());
  joiner_ = std::thread([this, pid, name] {
    try {
      for (const auto& dir : paths_) put(dir, "cgroup.procs", pid);
    } catch (Error& e) {
      join_error_ = e.wrap("put the VMM of vm " + name + " in its cgroup").what();
    }
  });
}

void VmCgroup::join() {
  if (joiner_.joinable()) joiner_.join();
  joined_ = true;
  if (!join_error_.empty()) throw Error(join_error_, ErrorKind::Internal);
}

VmCgroup::~VmCgroup() {
  if (joiner_.joinable()) joiner_.join();
}

void VmCgroup::remove_stale(const std::vector<std::string>& names) {
  for (const auto& root : hierarchies())
    for (const auto& n : names) ::rmdir(fs::join(root, "berth/vm-" + n).c_str());  // EBUSY while in use
}

}  // namespace berth::engine
