// cgroup v2 cpu and cpuset controllers: cpu.weight (from shares), cpu.max,
// cpu.max.burst, cpu.idle, cpuset.cpus/mems.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

// runc/crun's linear map of the v1 shares range [2, 262144] onto the v2
// weight range [1, 10000] (runc libcontainer/cgroups/utils.go).
uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

void plan_v2_cpu(const oci::CpuResources& c, Plan& out) {
  auto add = [&](const char* file, std::string value, const char* field) {
    out.push_back({"cpu", file, std::move(value), res_field(field), "", ""});
  };
  if (c.realtime_period && *c.realtime_period)
    fail(res_field("cpu.realtimePeriod") + ": not supported on cgroup v2 (no RT group scheduling)",
         ErrorKind::Unsupported);
  if (c.realtime_runtime && *c.realtime_runtime)
    fail(res_field("cpu.realtimeRuntime") + ": not supported on cgroup v2 (no RT group scheduling)",
         ErrorKind::Unsupported);
  if (c.shares && *c.shares) add("cpu.weight", std::to_string(cpu_shares_to_weight(*c.shares)), "cpu.shares");
  bool has_quota = c.quota && *c.quota != 0;
  bool has_period = c.period && *c.period != 0;
  if (has_quota || has_period) {
    uint64_t period = has_period ? *c.period : 100000;
    std::string quota = has_quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
    add("cpu.max", quota + " " + std::to_string(period), has_quota ? "cpu.quota" : "cpu.period");
  }
  if (c.burst) add("cpu.max.burst", std::to_string(*c.burst), "cpu.burst");
  if (c.idle) add("cpu.idle", std::to_string(*c.idle), "cpu.idle");
}

void plan_v2_cpuset(const oci::CpuResources& c, Plan& out) {
  if (!c.cpus.empty()) out.push_back({"cpuset", "cpuset.cpus", c.cpus, res_field("cpu.cpus"), "", ""});
  if (!c.mems.empty()) out.push_back({"cpuset", "cpuset.mems", c.mems, res_field("cpu.mems"), "", ""});
}

}  // namespace berth::runtime::cgroups
