// An OCI runtime config.json, through everything berth-runtime checks
// before it touches the kernel (src/oci/runtime_spec.cpp, src/runtime/):
// the parse, the ignored-field warnings, sysctl keys, mount options and
// propagation, capabilities, rlimit names, namespaces, LSM labels, the
// memory policy, the cgroups path and the cgroup plan (for a v1 and a v2
// host, read from fixed mountinfo text) with its device filter program.
// A config that parses must also print (to_json) as one that parses to
// the same text again: the runtime stores the parsed spec back.
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"
#include "runtime/ignored_fields.hpp"
#include "runtime/init.hpp"
#include "runtime/lsm_labels.hpp"
#include "runtime/memory_policy.hpp"
#include "runtime/mounts/mount_options.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/sysctl.hpp"

using namespace berth;

namespace {

const runtime::cgroups::HostCgroups& host(bool v2) {
  static const runtime::cgroups::HostCgroups v1_host = runtime::cgroups::parse_mountinfo(
      "30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
      "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec shared:10 - cgroup2 cgroup2 rw\n"
      "33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory\n"
      "34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
      "35 30 0:31 / /sys/fs/cgroup/cpuset rw,nosuid shared:13 - cgroup cgroup rw,cpuset\n"
      "36 30 0:32 / /sys/fs/cgroup/pids rw,nosuid shared:14 - cgroup cgroup rw,pids\n"
      "37 30 0:33 / /sys/fs/cgroup/blkio rw,nosuid shared:15 - cgroup cgroup rw,blkio\n"
      "38 30 0:34 / /sys/fs/cgroup/devices rw,nosuid shared:16 - cgroup cgroup rw,devices\n"
      "39 30 0:35 / /sys/fs/cgroup/hugetlb rw,nosuid shared:17 - cgroup cgroup rw,hugetlb\n"
      "40 30 0:36 / /sys/fs/cgroup/freezer rw,nosuid shared:18 - cgroup cgroup rw,freezer\n");
  static const runtime::cgroups::HostCgroups v2_host = [] {
    auto h = runtime::cgroups::parse_mountinfo(
        "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - cgroup2 cgroup2 rw,nsdelegate\n");
    h.v2_controllers = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"};
    return h;
  }();
  return v2 ? v2_host : v1_host;
}

void check_spec(const oci::Spec& spec) {
  runtime::accept_ignored_fields(spec);
  runtime::validate_sysctls(spec);
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    fuzz::reject([&] { runtime::parse_mount_options(spec.mounts[i].options, "mounts[" + std::to_string(i) + "]"); });
  if (spec.process) {
    const oci::Process& p = *spec.process;
    if (p.capabilities) fuzz::reject([&] { runtime::resolve_capabilities(*p.capabilities); });
    for (const auto& r : p.rlimits) fuzz::reject([&] { runtime::rlimit_resource(r.type); });
    fuzz::reject([&] { runtime::accept_process_labels(p, "process"); });
  }
  if (!spec.linux) return;
  const oci::Linux& l = *spec.linux;
  if (!l.rootfs_propagation.empty()) fuzz::reject([&] { runtime::parse_propagation(l.rootfs_propagation); });
  for (const auto& ns : l.namespaces) fuzz::reject([&] { runtime::namespace_flag(ns.type); });
  fuzz::reject([&] { runtime::accept_mount_label(l); });
  if (l.memory_policy) fuzz::reject([&] { runtime::check_memory_policy(*l.memory_policy); });
  fuzz::reject([&] { runtime::cgroups::parse_cgroups_path(l.cgroups_path, "fuzz"); });
  fuzz::reject([&] { runtime::device_allow_rules(l.devices); });
  if (l.resources)
    for (bool v2 : {false, true})
      fuzz::reject([&] {
        runtime::cgroups::FullPlan plan = runtime::cgroups::plan_resources(host(v2), *l.resources, 0);
        if (plan.v2_devices) runtime::cgroups::build_device_program(plan.device_rules);
      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::reject([&] {
    oci::Spec spec = oci::parse_spec(in);
    fuzz::reject([&] { check_spec(spec); });
    std::string out = oci::to_json(spec);
    oci::Spec again = oci::parse_spec(out);
    FUZZ_CHECK(oci::to_json(again) == out, out);
  });
  fuzz::reject([&] { oci::parse_process(in); });
  fuzz::reject([&] { oci::parse_resources(in, "fuzz update"); });
  return 0;
}
