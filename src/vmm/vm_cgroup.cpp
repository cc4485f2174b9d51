#include "vmm/vm_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <ctime>
#include <unistd.h>


#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::vmm {

namespace {

void put(const std::string& dir, const char* file, const std::string& v) {
  fs::write_file(fs::join(dir, file), v);
}

// For settings a kernel may lack: no exception (the first throw in a
// process costs ~1.5 ms of unwinder set-up, on the VMM's path to boot).
bool try_put(const std::string& dir, const char* file, const std::string& v) {
  int fd = ::open(fs::join(dir, file).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
  ::close(fd);
  return ok;
}

std::vector<std::string> hierarchies() {
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) return {"/sys/fs/cgroup"};
  std::vector<std::string> h;
  for (const char* d : {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu"})
    if (fs::is_dir(d)) h.push_back(d);
  return h;
}

// The cgroup this process is in for a v1 controller ("memory") or v2 ("").
std::string current_cgroup(const std::string& controller) {
  std::string all = fs::read_file("/proc/self/cgroup");
  for (size_t pos = 0, nl; pos < all.size(); pos = nl + 1) {
    nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(pos, nl - pos);
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    if (controller.empty() ? line.rfind("0::", 0) == 0
                           : ("," + ctrls + ",").find("," + controller + ",") != std::string::npos)
      return line.substr(b + 1);
  }
  return "/";
}

}  // namespace

void VmCgroup::remove_all_stale() {
  for (const auto& root : hierarchies()) {
    std::string dir = fs::join(root, "berth");
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    // A group younger than a minute may belong to a VMM still joining it.
    time_t old = ::time(nullptr) - 60;
    while (dirent* e = ::readdir(d)) {
      struct stat st{};
      if (std::string_view(e->d_name).starts_with("vm-") &&
          ::fstatat(::dirfd(d), e->d_name, &st, 0) == 0 && st.st_mtime < old)
        ::unlinkat(::dirfd(d), e->d_name, AT_REMOVEDIR);  // EBUSY while in use
    }
    ::closedir(d);
  }
}

void VmCgroup::leave() {
  if (joiner_.joinable()) joiner_.join();
  std::string pid = std::to_string(::getpid());
  leaver_ = std::thread([this, pid] {
    for (size_t i = 0; i < paths_.size(); ++i) {
      try {
        put(origins_[i], "cgroup.procs", pid);
      } catch (const Error& e) {
        log::warn(e.what());
      }
      ::rmdir(paths_[i].c_str());
    }
  });
}

void VmCgroup::create(const std::string& name, uint64_t memory, int cpus) {
  std::string leaf = "berth/vm-" + name;
  uint64_t limit = memory + kOverhead;
  try {
    for (const auto& root : hierarchies()) {
      std::string dir = fs::join(root, leaf);
      std::string ctrl = root == "/sys/fs/cgroup" ? "" : root.substr(root.rfind('/') + 1);
      origins_.push_back(fs::join(root, current_cgroup(ctrl)));
      fs::mkdir_p(dir);
      paths_.push_back(dir);
      if (root == "/sys/fs/cgroup") {  // pure v2
        try_put(fs::join(root, "berth"), "cgroup.subtree_control", "+memory +cpu");
        put(dir, "memory.max", std::to_string(limit));
        put(dir, "cpu.max", std::to_string(cpus * 100000) + " 100000");
      } else if (root.ends_with("/memory")) {
        put(dir, "memory.limit_in_bytes", std::to_string(limit));
        try_put(dir, "memory.move_charge_at_immigrate", "3");  // gone in recent kernels
      } else {
        put(dir, "cpu.cfs_period_us", "100000");
        put(dir, "cpu.cfs_quota_us", std::to_string(cpus * 100000));
      }
    }
  } catch (Error& e) {
    for (auto& p : paths_) ::rmdir(p.c_str());
    paths_.clear();
    throw e.wrap("create the cgroup of vm " + name);
  }
}

VmCgroup::VmCgroup(const std::string& name, uint64_t memory, int cpus,
                   std::function<void(const std::string&)> on_error) {
  // Everything runs on a helper thread, off the VMM's path to a booted
  // guest: stale groups, mkdir and limits, then the join. Writing the TGID
  // moves every thread of the VMM, present and future.
  std::string pid = std::to_string(::getpid());
  joiner_ = std::thread([this, pid, name, memory, cpus, on_error = std::move(on_error)] {
    try {
      remove_all_stale();
      create(name, memory, cpus);
    } catch (const Error& e) {
      create_error_ = e.what();
      on_error(create_error_);
      return;
    }
    try {
      for (const auto& dir : paths_) put(dir, "cgroup.procs", pid);
    } catch (Error& e) {
      join_error_ = e.wrap("put the VMM of vm " + name + " in its cgroup").what();
    }
  });
}

void VmCgroup::join() {
  if (joiner_.joinable()) joiner_.join();
  if (!create_error_.empty()) throw Error(create_error_, ErrorKind::Internal);
  if (!join_error_.empty()) throw Error(join_error_, ErrorKind::Internal);
}

VmCgroup::~VmCgroup() {
  if (joiner_.joinable()) joiner_.join();
  if (leaver_.joinable()) leaver_.join();
}

void VmCgroup::leave_if_in(const std::string& name) {
  std::string leaf = "/berth/vm-" + name;
  for (const auto& root : hierarchies()) {
    std::string ctrl = root == "/sys/fs/cgroup" ? "" : root.substr(root.rfind('/') + 1);
    if (current_cgroup(ctrl) != leaf) continue;
    try {
      put(fs::join(root, "berth"), "cgroup.procs", std::to_string(::getpid()));
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }
}

void VmCgroup::remove_stale(const std::vector<std::string>& names) {
  for (const auto& root : hierarchies())
    for (const auto& n : names) ::rmdir(fs::join(root, "berth/vm-" + n).c_str());  // EBUSY while in use
}

}  // namespace berth::vmm
