// cgroup v1 memory controller: memory.limit_in_bytes, memory.memsw.*,
// soft limit, swappiness, OOM killer. The deprecated kernel and kernelTCP
// limits are not written (ignored_fields.hpp says so once).
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v1_memory(const oci::MemoryResources& m, uint64_t current_limit, Plan& out) {
  auto add = [&](const char* file, std::string value, const char* field) {
    out.push_back({"memory", file, std::move(value), res_field(field), "", ""});
  };
  if (m.limit && *m.limit < -1) fail(res_field("memory.limit") + ": must be -1 (unlimited) or a byte count");
  if (m.swap && *m.swap < -1) fail(res_field("memory.swap") + ": must be -1 (unlimited) or a byte count");
  if (m.limit && m.swap && *m.limit > 0 && *m.swap > 0 && *m.swap < *m.limit)
    fail(res_field("memory.swap") + ": memory+swap limit " + std::to_string(*m.swap) +
         " is below memory.limit " + std::to_string(*m.limit) + " (OCI swap counts memory plus swap)");
  if (m.swap && *m.swap > 0 && m.limit.value_or(0) <= 0)
    fail(res_field("memory.swap") + ": a swap limit needs memory.limit too");

  // A limit of -1 with no swap field means "unlimited memory": memsw must be
  // unlimited too or the kernel keeps the old memsw bound (runc does this).
  // 0 means "not set" for both (runc's reading of the spec).
  const int64_t limit = m.limit.value_or(0);
  int64_t swap = m.swap.value_or(0);
  if (limit == -1 && swap == 0) swap = -1;

  auto limit_write = [&] { add("memory.limit_in_bytes", std::to_string(limit), "memory.limit"); };
  auto swap_write = [&] { add("memory.memsw.limit_in_bytes", std::to_string(swap), "memory.swap"); };
  // The kernel requires memory.limit <= memsw.limit after every write, so
  // raising the pair writes memsw first and lowering it writes memory first.
  if (limit && swap) {
    if (swap == -1 || current_limit < static_cast<uint64_t>(swap)) {
      swap_write();
      limit_write();
    } else {
      limit_write();
      swap_write();
    }
  } else if (limit) {
    limit_write();
  } else if (swap) {
    swap_write();
  }
  if (m.reservation) add("memory.soft_limit_in_bytes", std::to_string(*m.reservation), "memory.reservation");
  if (m.swappiness) {
    if (*m.swappiness > 100) fail(res_field("memory.swappiness") + ": must be 0..100");
    add("memory.swappiness", std::to_string(*m.swappiness), "memory.swappiness");
  }
  if (m.disable_oom_killer && *m.disable_oom_killer) add("memory.oom_control", "1", "memory.disableOOMKiller");
  // Kernels since 5.x always use the hierarchy and reject 0; write only an
  // explicit request so "false" gets the kernel's clear EINVAL.
  if (m.use_hierarchy) add("memory.use_hierarchy", *m.use_hierarchy ? "1" : "0", "memory.useHierarchy");
}

}  // namespace berth::runtime::cgroups
