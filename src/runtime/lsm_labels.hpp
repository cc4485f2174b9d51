// SELinux and AppArmor labels in a config: process.selinuxLabel,
// process.apparmorProfile (also what `exec --process-label` / `--apparmor`
// set) and linux.mountLabel. berth-runtime does not apply labels. On a
// host where the module is off a label confines nothing, so it is accepted
// with one warning naming it (runc and crun refuse it there, which breaks
// configs written for other hosts). Where the module is on, running the
// container unlabelled would drop a confinement the config asked for: that
// is refused, naming the field.
#pragma once

#include <string_view>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// Whether the module is active on this host (selinuxfs mounted; AppArmor's
// module parameter "enabled" is Y, as runc and crun read it).
bool selinux_enabled();
bool apparmor_enabled();

// `where` prefixes the field names ("process", "exec process").
void accept_process_labels(const oci::Process& process, std::string_view where);
void accept_mount_label(const oci::Linux& linux_config);

}  // namespace berth::runtime
