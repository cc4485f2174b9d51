// The VMM process's cgroup: guest RAM plus a small overhead as the memory
// limit, and --cpus worth of CPU bandwidth. Works on cgroup v1 (memory and cpu
// hierarchies), v2 and hybrid hosts.
//
// Joining a v1 memory cgroup costs 15-35 ms here (the kernel waits for RCU),
// and creating the groups about a millisecond more, so a helper thread does
// both while the VM starts: the limits bind from the join, a few tens of
// milliseconds after start (memory.move_charge_at_immigrate, where the
// kernel still has it, carries the pages touched before that). If the
// groups cannot be created, on_error is called (the VMM ends the VM).
// When the VM ends (and has been reported), leave() moves the VMM back out on
// a helper thread while KVM tears the VM down, then removes the groups;
// groups of VMMs that were killed are removed by remove_stale() (stop, rm,
// ls, and every new VM).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace berth::vmm {

class VmCgroup {
 public:
  static constexpr uint64_t kOverhead = 64ull << 20;
  VmCgroup(const std::string& name, uint64_t memory, int cpus,
           std::function<void(const std::string&)> on_error);
  VmCgroup(const VmCgroup&) = delete;
  VmCgroup& operator=(const VmCgroup&) = delete;
  ~VmCgroup();
  // Waits until this process is in every group; rethrows a join error.
  void join();
  // Starts moving this process back to where it was and removing the groups.
  void leave();
  const std::vector<std::string>& paths() const { return paths_; }

  // Moves this process out of VM `name`'s groups (to their parent,
  // berth/) if it is in them: the exit command of `vm run --rm`, which the
  // VMM starts from inside its groups, would otherwise keep them busy and
  // in place (a `vm rm` that takes a while, detaching a network, outlived
  // the VMM's own removal of them).
  static void leave_if_in(const std::string& name);
  // Removes the groups of VMs named in `names` (empty ones only).
  static void remove_stale(const std::vector<std::string>& names);
  // Removes every empty berth/vm-* group.
  static void remove_all_stale();

 private:
  void create(const std::string& name, uint64_t memory, int cpus);

  std::vector<std::string> paths_, origins_;
  std::thread joiner_, leaver_;
  std::string create_error_, join_error_;
};

}  // namespace berth::vmm
