// The VMM process's cgroup: guest RAM plus a small overhead as the memory
// limit, and --cpus worth of CPU bandwidth. Works on cgroup v1 (memory and cpu
// hierarchies), v2 and hybrid hosts; the VMM moves itself in, and back out
// before removing the group when the VM ends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::engine {

class VmCgroup {
 public:
  static constexpr uint64_t kOverhead = 64ull << 20;
  VmCgroup(const std::string& name, uint64_t memory, int cpus);
  VmCgroup(const VmCgroup&) = delete;
  VmCgroup& operator=(const VmCgroup&) = delete;
  ~VmCgroup();
  // Directories created (one per hierarchy), for tests and inspect.
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  void cleanup();
  std::vector<std::string> paths_;
  std::vector<std::string> origins_;  // where this process was before
};

}  // namespace berth::engine
