// CHANGES (security owner, for the runtime core): finish_rootfs() applies
// linux.sysctl itself, after pivot_root and before readonlyPaths make
// /proc/sys read-only (runc's order). apply_sysctls() stays public and is
// idempotent: a later call only verifies that the values are in place, so
// the existing call after finish_rootfs() is harmless (and may be dropped).
// validate_sysctls() in runtime/sysctl.hpp checks keys without side effects
// (call it at create for an early, clean error).
//
// The container's filesystem view, built inside the new mount namespace by
// the container init before the user process runs. Called in the cloned
// child (single-threaded copy of berth-runtime: ordinary C++ is fine there,
// see docs/architecture.md), so it throws berth::Error on failure and the
// init reports it to the parent.
#pragma once

#include <string>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

struct RootfsOptions {
  std::string bundle;       // absolute bundle dir (relative root.path is from here)
  bool no_pivot = false;    // --no-pivot: chroot (MS_MOVE) instead of pivot_root
  bool new_user_ns = false; // device nodes are bind-mounted from the host
};

// In the container's mount namespace, in order: set propagation of / to
// linux.rootfsPropagation (default rslave... runc uses rprivate for "/"),
// bind the rootfs onto itself, do every spec mount (bind/rbind, tmpfs, proc,
// sysfs, mqueue, devpts, cgroup, with all options and propagation flags),
// create default and configured devices and the /dev symlinks (fd, stdin,
// stdout, stderr, ptmx), pivot_root (or chroot), then mask maskedPaths,
// make readonlyPaths read-only and remount / read-only if root.readonly.
// Hooks between these steps are the caller's business: setup_mounts() does
// everything up to (not including) pivot_root, finish_rootfs() the rest.
void setup_mounts(const oci::Spec& spec, const RootfsOptions& opts);
void finish_rootfs(const oci::Spec& spec, const RootfsOptions& opts);

// Absolute host path of the rootfs for a spec in a bundle.
std::string rootfs_path(const oci::Spec& spec, const std::string& bundle);

// Writes linux.sysctl entries to /proc/sys (after pivot_root, in the
// container's namespaces); refuses keys that are not namespaced for the
// namespaces the container has.
void apply_sysctls(const oci::Spec& spec);

}  // namespace berth::runtime
