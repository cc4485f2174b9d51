// From LinuxResources to control-file writes: picks, per resource group,
// the hierarchy that owns the controller on this host (v1 first, then the
// v2 hierarchy), so pure v1, pure v2 and hybrid hosts share one path.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

namespace {

// Not kernel/kernelTCP: ignored, they must not make a memory dir either.
bool any_memory(const oci::MemoryResources& m) {
  return m.limit || m.reservation || m.swap || m.swappiness || m.disable_oom_killer || m.use_hierarchy;
}
bool any_cpu(const oci::CpuResources& c) {
  return (c.shares && *c.shares) || (c.quota && *c.quota) || c.burst || (c.period && *c.period) ||
         (c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period) || c.idle;
}
bool any_blkio(const oci::BlockIoResources& b) {
  return (b.weight && *b.weight) || (b.leaf_weight && *b.leaf_weight) || !b.weight_device.empty() || !b.throttle_read_bps_device.empty() ||
         !b.throttle_write_bps_device.empty() || !b.throttle_read_iops_device.empty() ||
         !b.throttle_write_iops_device.empty();
}

// 1: the v1 hierarchy has it; 2: the v2 hierarchy has it; else throws.
int owner(const HostCgroups& host, const char* v1_name, const char* v2_name, const std::string& field) {
  if (host.v1_for(v1_name)) return 1;
  if (host.v2_has(v2_name)) return 2;
  std::string where = host.v2 ? " (the cgroup v2 hierarchy does not offer \"" + std::string(v2_name) + "\" either)" : "";
  fail(field + ": not supported on this host: no " + v1_name + " cgroup controller is mounted" + where,
       ErrorKind::Unsupported);
}

}  // namespace

FullPlan plan_resources(const HostCgroups& host, const oci::LinuxResources& r, uint64_t current_mem_limit) {
  FullPlan fp;
  Plan& w = fp.writes;
  auto run = [&](int version, auto&& v1, auto&& v2) {
    size_t from = w.size();
    if (version == 1) {
      v1();
    } else {
      v2();
      for (size_t i = from; i < w.size(); ++i) w[i].v2 = true;
    }
  };

  if (r.memory && any_memory(*r.memory)) {
    run(owner(host, "memory", "memory", res_field("memory")),
        [&] { plan_v1_memory(*r.memory, current_mem_limit, w); }, [&] { plan_v2_memory(*r.memory, w); });
  }
  if (r.cpu && any_cpu(*r.cpu)) {
    run(owner(host, "cpu", "cpu", res_field("cpu")), [&] { plan_v1_cpu(*r.cpu, w); },
        [&] { plan_v2_cpu(*r.cpu, w); });
  }
  if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) {
    std::string field = res_field(r.cpu->cpus.empty() ? "cpu.mems" : "cpu.cpus");
    run(owner(host, "cpuset", "cpuset", field), [&] { plan_v1_cpuset(*r.cpu, w); },
        [&] { plan_v2_cpuset(*r.cpu, w); });
  }
  if (r.pids) {
    run(owner(host, "pids", "pids", res_field("pids.limit")), [&] { plan_v1_pids(*r.pids, w); },
        [&] { plan_v2_pids(*r.pids, w); });
  }
  if (r.block_io && any_blkio(*r.block_io)) {
    run(owner(host, "blkio", "io", res_field("blockIO")), [&] { plan_v1_blkio(*r.block_io, w); },
        [&] { plan_v2_io(*r.block_io, w); });
  }
  if (!r.hugepage_limits.empty()) {
    run(owner(host, "hugetlb", "hugetlb", res_field("hugepageLimits")),
        [&] { plan_v1_hugetlb(r.hugepage_limits, w); }, [&] { plan_v2_hugetlb(r.hugepage_limits, w); });
  }
  if (!r.devices.empty()) {
    std::vector<oci::DeviceCgroupRule> rules = r.devices;
    const auto& defaults = default_allowed_devices();
    rules.insert(rules.end(), defaults.begin(), defaults.end());
    if (host.v1_for("devices")) {
      plan_v1_devices(rules, w);
    } else if (host.v2) {
      build_device_program(rules);  // validates the rules before anything is made
      fp.v2_devices = true;
      fp.device_rules = std::move(rules);
    } else {
      fail(res_field("devices") + ": not supported on this host: no devices cgroup controller and no cgroup v2",
           ErrorKind::Unsupported);
    }
  }
  if (!r.unified.empty()) {
    if (!host.v2)
      fail(res_field("unified") + ": needs a cgroup v2 hierarchy; this host has only cgroup v1",
           ErrorKind::Unsupported);
    size_t from = w.size();
    plan_v2_unified(r.unified, w);
    for (size_t i = from; i < w.size(); ++i) {
      w[i].v2 = true;
      const std::string& c = w[i].controller;
      if (c.empty() || host.v2_has(c)) continue;
      if (host.v1_for(c))
        fail(w[i].field + ": the " + c + " controller is bound to a cgroup v1 hierarchy on this host (" +
                 layout_name(host.layout) + " layout), so the v2 file cannot be used; use the linux.resources." +
                 c + " fields instead",
             ErrorKind::Unsupported);
      fail(w[i].field + ": the cgroup v2 hierarchy has no " + c + " controller", ErrorKind::Unsupported);
    }
  }
  return fp;
}

}  // namespace berth::runtime::cgroups
