#include "runtime/memory_policy.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/id_list.hpp"

namespace berth::runtime {

namespace {

// The kernel's numbers (linux/mempolicy.h; Debian 12's headers predate
// MPOL_WEIGHTED_INTERLEAVE, Linux 6.9).
int mode_number(const std::string& m) {
  if (m == "MPOL_PREFERRED") return 1;
  if (m == "MPOL_BIND") return 2;
  if (m == "MPOL_INTERLEAVE") return 3;
  if (m == "MPOL_LOCAL") return 4;
  if (m == "MPOL_PREFERRED_MANY") return 5;
  if (m == "MPOL_WEIGHTED_INTERLEAVE") return 6;
  return 0;  // MPOL_DEFAULT
}

int flag_bits(const std::vector<std::string>& flags) {
  int bits = 0;
  for (const auto& f : flags) {
    if (f == "MPOL_F_STATIC_NODES") bits |= 1 << 15;
    if (f == "MPOL_F_RELATIVE_NODES") bits |= 1 << 14;
    if (f == "MPOL_F_NUMA_BALANCING") bits |= 1 << 13;
  }
  return bits;
}

bool takes_no_nodes(const std::string& mode) { return mode == "MPOL_DEFAULT" || mode == "MPOL_LOCAL"; }

}  // namespace

void check_memory_policy(const oci::MemoryPolicy& p) {
  if (takes_no_nodes(p.mode)) {
    if (!p.nodes.empty()) fail("linux.memoryPolicy.nodes: " + p.mode + " takes no nodes");
    return;
  }
  if (p.nodes.empty()) fail("linux.memoryPolicy.nodes: " + p.mode + " needs nodes");
  parse_id_list(p.nodes, "linux.memoryPolicy.nodes");
}

void apply_memory_policy(const oci::MemoryPolicy& p) {
  std::vector<unsigned long> mask;
  if (!takes_no_nodes(p.mode)) {
    constexpr unsigned kBits = 8 * sizeof(unsigned long);
    for (unsigned node : parse_id_list(p.nodes, "linux.memoryPolicy.nodes")) {
      if (mask.size() <= node / kBits) mask.resize(node / kBits + 1);
      mask[node / kBits] |= 1UL << (node % kBits);
    }
  }
  // The kernel reads maxnode - 1 bits (a historical off-by-one libnuma
  // also pays).
  const unsigned long maxnode = mask.empty() ? 0 : mask.size() * 8 * sizeof(unsigned long) + 1;
  if (::syscall(SYS_set_mempolicy, mode_number(p.mode) | flag_bits(p.flags), mask.empty() ? nullptr : mask.data(),
                maxnode) != 0)
    throw_errno("linux.memoryPolicy: set_mempolicy " + p.mode + (p.nodes.empty() ? "" : " on nodes " + p.nodes));
}

}  // namespace berth::runtime
