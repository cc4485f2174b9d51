// cgroup v2 memory controller: memory.max, memory.low, memory.swap.max.
// OCI's swap is memory+swap (the v1 memsw meaning); v2 limits swap alone,
// so memory.swap.max = swap - limit. The deprecated kernel and kernelTCP
// limits and swappiness have no v2 file and are not written
// (ignored_fields.hpp warns).
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v2_memory(const oci::MemoryResources& m, Plan& out) {
  auto add = [&](const char* file, std::string value, const char* field) {
    out.push_back({"memory", file, std::move(value), res_field(field), "", ""});
  };
  auto unsupported = [](const char* field, const char* why) {
    fail(res_field(field) + ": not supported on cgroup v2 (" + why + ")", ErrorKind::Unsupported);
  };
  if (m.disable_oom_killer && *m.disable_oom_killer) unsupported("memory.disableOOMKiller", "v2 has no memory.oom_control");
  if (m.use_hierarchy && !*m.use_hierarchy) unsupported("memory.useHierarchy", "v2 is always hierarchical");

  // 0 means "not set" (runc's reading of the spec).
  const int64_t limit = m.limit.value_or(0);
  const int64_t swap = m.swap.value_or(0);
  if (limit < -1) fail(res_field("memory.limit") + ": must be -1 (unlimited) or a byte count");
  if (limit != 0) add("memory.max", limit == -1 ? "max" : std::to_string(limit), "memory.limit");
  if (swap == -1) {
    add("memory.swap.max", "max", "memory.swap");
  } else if (swap < -1) {
    fail(res_field("memory.swap") + ": must be -1 (unlimited) or a byte count");
  } else if (swap > 0) {
    if (limit <= 0) fail(res_field("memory.swap") + ": a memory+swap limit needs a memory.limit on cgroup v2");
    if (swap < limit)
      fail(res_field("memory.swap") + ": memory+swap limit " + std::to_string(swap) + " is below memory.limit " +
           std::to_string(limit) + " (OCI swap counts memory plus swap)");
    add("memory.swap.max", std::to_string(swap - limit), "memory.swap");
  }
  if (m.reservation) add("memory.low", *m.reservation == -1 ? "max" : std::to_string(*m.reservation), "memory.reservation");
}

}  // namespace berth::runtime::cgroups
