// cgroup v1 cpu controller (CFS shares, quota/period/burst, RT, idle).
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v1_cpu(const oci::CpuResources& c, Plan& out) {
  auto add = [&](const char* file, std::string value, const char* field) {
    out.push_back({"cpu", file, std::move(value), res_field(field), "", ""});
  };
  if (c.shares && *c.shares) add("cpu.shares", std::to_string(*c.shares), "cpu.shares");
  // Period before quota: a quota is checked against the current period.
  if (c.period && *c.period) add("cpu.cfs_period_us", std::to_string(*c.period), "cpu.period");
  if (c.quota && *c.quota) add("cpu.cfs_quota_us", std::to_string(*c.quota), "cpu.quota");
  if (c.burst) add("cpu.cfs_burst_us", std::to_string(*c.burst), "cpu.burst");
  if (c.realtime_period && *c.realtime_period)
    add("cpu.rt_period_us", std::to_string(*c.realtime_period), "cpu.realtimePeriod");
  if (c.realtime_runtime && *c.realtime_runtime)
    add("cpu.rt_runtime_us", std::to_string(*c.realtime_runtime), "cpu.realtimeRuntime");
  if (c.idle) add("cpu.idle", std::to_string(*c.idle), "cpu.idle");
}

}  // namespace berth::runtime::cgroups
