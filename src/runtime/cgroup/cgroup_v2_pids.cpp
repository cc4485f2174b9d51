// cgroup v2 pids controller.
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v2_pids(const oci::PidsResources& p, Plan& out) {
  out.push_back({"pids", "pids.max", p.limit > 0 ? std::to_string(p.limit) : "max", res_field("pids.limit"), "", ""});
}

}  // namespace berth::runtime::cgroups
