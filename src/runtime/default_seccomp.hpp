// Berth's default seccomp profile: the same policy as Docker's and Podman's
// default (moby profiles/seccomp/default.json), expressed as an
// oci::Seccomp so the engine (`berth run`) can put it in a container's
// config. See docs/security.md for what it blocks and why.
//
// Shape: an allow-list. Default action SCMP_ACT_ERRNO(EPERM); ~350 ordinary
// syscalls allowed; syscalls that only make sense with a capability
// (mount/unshare/setns/bpf with CAP_SYS_ADMIN, ptrace & co with
// CAP_SYS_PTRACE, init_module with CAP_SYS_MODULE, reboot with CAP_SYS_BOOT,
// ...) are allowed only when the container's bounding set has that
// capability; everything else (kexec_load, open_by_handle_at without
// CAP_DAC_READ_SEARCH, keyctl/add_key/request_key, userfaultfd, uselib,
// ustat, sysfs, nfsservctl, vm86, personality other than the few Linux
// execution domains, AF_VSOCK sockets, ...) returns EPERM. clone3 returns
// ENOSYS without CAP_SYS_ADMIN so libc falls back to clone(2), whose
// namespace flags are then checked.
#pragma once

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// `bounding` is the container's capability bounding set (names); the
// profile is specialised for it and for the host architecture.
oci::Seccomp default_seccomp_profile(const std::vector<std::string>& bounding);

}  // namespace berth::runtime
