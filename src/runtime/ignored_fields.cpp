#include "runtime/ignored_fields.hpp"

#include <string>

#include "common/log.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"
#include "runtime/lsm_labels.hpp"

namespace berth::runtime {

namespace {

// 0 and -1 ask for no limit: nothing is lost by ignoring them (Docker sends
// "kernel": 0 with every update), so only a real limit is worth a warning.
void warn_deprecated_limit(const std::optional<int64_t>& v, std::string_view prefix, const char* field,
                           const char* why) {
  if (v && *v > 0) log::warn(std::string(prefix) + field + " " + std::to_string(*v) + ": ignored: " + why);
}

}  // namespace

void accept_ignored_resources(const oci::LinuxResources& r, std::string_view prefix) {
  if (!r.memory) return;
  // cgroup v2 has no per-cgroup swappiness (runc ignores it there too);
  // the host is looked at only for a config that sets one.
  if (r.memory->swappiness) {
    const auto& host = cgroups::host_cgroups();
    if (!host.v1_for("memory") && host.v2_has("memory"))
      log::warn(std::string(prefix) + "memory.swappiness " + std::to_string(*r.memory->swappiness) +
                ": ignored: cgroup v2 has no per-cgroup swappiness");
  }
  warn_deprecated_limit(r.memory->kernel, prefix, "memory.kernel",
                        "kernel memory limits are deprecated (runtime-spec: NOT RECOMMENDED); Linux 6.x "
                        "enforces none and cgroup v2 has no such limit, memory.limit covers kernel memory");
  warn_deprecated_limit(r.memory->kernel_tcp, prefix, "memory.kernelTCP",
                        "kernel TCP buffer limits are deprecated (runtime-spec: NOT RECOMMENDED; the kernel "
                        "deprecates memory.kmem.tcp.limit_in_bytes) and cgroup v2 has no such limit");
}

void accept_ignored_fields(const oci::Spec& spec) {
  for (const auto& [field, why] : spec.ignored) log::warn(field + ": ignored: " + why);
  if (!spec.linux) return;
  accept_mount_label(*spec.linux);
  if (spec.linux->resources) accept_ignored_resources(*spec.linux->resources, "linux.resources.");
}

}  // namespace berth::runtime
