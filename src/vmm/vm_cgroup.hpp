// The VMM process's cgroup: guest RAM plus a small overhead as the memory
// limit, and --cpus worth of CPU bandwidth. Works on cgroup v1 (memory and cpu
// hierarchies), v2 and hybrid hosts.
//
// Joining a v1 memory cgroup costs 15-35 ms here (the kernel waits for RCU),
// so the VMM joins on a helper thread while KVM builds and starts the VM:
// the limits apply from a few tens of milliseconds after start, and
// memory.move_charge_at_immigrate carries the pages touched before that.
// When the VM ends (and has been reported), leave() moves the VMM back out on
// a helper thread while KVM tears the VM down, then removes the groups;
// groups of VMMs that were killed are removed by remove_stale() (stop, rm,
// ls, and every new VM).
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace berth::vmm {

class VmCgroup {
 public:
  static constexpr uint64_t kOverhead = 64ull << 20;
  VmCgroup(const std::string& name, uint64_t memory, int cpus);
  VmCgroup(const VmCgroup&) = delete;
  VmCgroup& operator=(const VmCgroup&) = delete;
  ~VmCgroup();
  // Waits until this process is in every group; rethrows a join error.
  void join();
  // Starts moving this process back to where it was and removing the groups.
  void leave();
  const std::vector<std::string>& paths() const { return paths_; }

  // Removes the groups of VMs named in `names` (empty ones only).
  static void remove_stale(const std::vector<std::string>& names);
  // Removes every empty berth/vm-* group.
  static void remove_all_stale();

 private:
  std::vector<std::string> paths_, origins_;
  std::thread joiner_, leaver_;
  std::string join_error_;
  bool joined_ = false;
};

}  // namespace berth::vmm
