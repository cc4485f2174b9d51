// Config fields berth-runtime accepts without applying them: deprecated
// fields whose effect the kernel no longer offers (memory.kernel,
// kernelTCP; swappiness on cgroup v2), fields of other platforms, and
// SELinux/AppArmor labels where the module is off
// (lsm_labels.hpp, which also refuses them where it is on). Each one that
// is set gets one warning through log::warn -- stderr, or the --log file
// (JSON with --log-format json) that containerd and Docker read -- naming
// the field and why going on without it is safe. Called once by each
// command that takes the fields in (create; update for resources), never
// on the parse that every command does, so a warning is not repeated by
// start, state or delete.
#pragma once

#include <string_view>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

void accept_ignored_fields(const oci::Spec& spec);
// `prefix` goes in front of "memory.kernel" ("linux.resources.", "update: ").
void accept_ignored_resources(const oci::LinuxResources& resources, std::string_view prefix);

}  // namespace berth::runtime
