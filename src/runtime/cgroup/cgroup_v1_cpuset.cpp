// cgroup v1 cpuset controller. New v1 cpuset dirs start with empty
// cpuset.cpus/mems and refuse tasks (ENOSPC) until both are set, so the
// factory copies the parent's values into every dir it makes (see
// cgroup_factory.cpp); this file plans the container's own values.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v1_cpuset(const oci::CpuResources& c, Plan& out) {
  if (!c.cpus.empty()) out.push_back({"cpuset", "cpuset.cpus", c.cpus, res_field("cpu.cpus"), "", ""});
  if (!c.mems.empty()) out.push_back({"cpuset", "cpuset.mems", c.mems, res_field("cpu.mems"), "", ""});
}

}  // namespace berth::runtime::cgroups
