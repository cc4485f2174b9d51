// CHANGES (security owner, for the runtime core):
// - idmapped mounts: spawn_init (init.cpp) calls prepare_mounts() in the
//   runtime once the container's user namespace exists, sends the trees to
//   the init over the sync socket, and the init sets RootfsOptions::prepared;
//   without it a config with "idmap"/uidMappings on a mount fails with a
//   clear Unsupported error.
// - RootfsOptions::cgroup_dirs (FINDINGS F5): fill it from
//   Cgroup::path_for(controller) before setup_mounts() so the `cgroup` mount
//   without a cgroup namespace binds the container's cgroups even if the
//   init has not joined them yet.
// - finish_rootfs() applies
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

#include <map>
#include <string>
#include <string_view>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// Mounts that must be made by the runtime in the host's user namespace
// before the init enters the container's: idmapped bind mounts
// (mounts[i].uidMappings/gidMappings, "idmap"/"ridmap"). Detached trees,
// keyed by the index in spec.mounts; setup_mounts() attaches them.
struct PreparedMounts {
  PreparedMounts();
  PreparedMounts(PreparedMounts&&) noexcept;
  PreparedMounts& operator=(PreparedMounts&&) noexcept;
  ~PreparedMounts();
  std::map<size_t, UniqueFd> idmapped;
};

// Call in the runtime (host user namespace). container_userns_fd: the
// container's user namespace (/proc/<init>/ns/user) for "idmap" without
// explicit mappings, or -1. Throws naming the mount.
PreparedMounts prepare_mounts(const oci::Spec& spec, const std::string& bundle,
                              int container_userns_fd);
// True when some mount needs prepare_mounts() (mappings or "idmap"/"ridmap").
bool has_idmapped_mounts(const oci::Spec& spec);
// move_mount of a prepared tree onto target.
// target_fd: the mount point (an O_PATH fd is fine).
void attach_prepared_tree(int tree_fd, int target_fd, std::string_view what);

struct RootfsOptions {
  std::string bundle;       // absolute bundle dir (relative root.path is from here)
  bool no_pivot = false;    // --no-pivot: chroot (MS_MOVE) instead of pivot_root
  bool new_user_ns = false; // device nodes are bind-mounted from the host
  // No mount namespace (host_rootfs.hpp): "/" is the host's, the runtime
  // already bound the rootfs on itself, and the init chroots into it.
  bool host_mounts = false;
  // From prepare_mounts() (fds inherited by the init); null: an idmapped
  // mount in the config is an Unsupported error.
  const PreparedMounts* prepared = nullptr;
  // The container's cgroup directories on the host, for the `cgroup` mount
  // without a cgroup namespace: key = controller as in /proc/self/cgroup
  // ("memory", "cpu", "name=systemd"; "" = the v2/unified hierarchy), value =
  // host dir (Cgroup::path_for). Without an entry the view binds the init's
  // own current cgroup (/proc/self/cgroup), which is only right once the
  // init has joined (FINDINGS F5).
  std::map<std::string, std::string> cgroup_dirs = {};
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
