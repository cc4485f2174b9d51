// Mount helpers for building the container's filesystem (rootfs.cpp,
// devices.cpp, mounts_cgroup.cpp). Everything here runs in the container's
// mount namespace before pivot_root, with host paths.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/mounts/mount_options.hpp"

namespace berth::runtime {

// Joins `unsafe` under `root` resolving every symlink as if `root` were "/"
// (filepath-securejoin semantics): the result never leaves root. Missing
// trailing components are kept as they are (for mkdir).
std::string secure_join(const std::string& root, std::string_view unsafe);

// Opens `path` (container view, e.g. "/dev/pts") below root_fd with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), O_PATH: symlinks are
// resolved as if root_fd were "/", so a path swapped by a concurrent
// container sharing a volume cannot send a mount outside the rootfs
// (CVE-2021-30465 class). Mount onto fd_path() of the result.
UniqueFd open_in_root(int root_fd, std::string_view path, std::string_view what);
// "/proc/self/fd/N": names exactly the object the fd refers to. It lands on
// the dentry itself, not on what is mounted on it since: reopen after a
// mount to reach the new mount.
std::string fd_path(int fd);

// mkdir -p for mount points: one mkdir(2) when the parent exists (the
// common case), parents only on ENOENT; an existing path is left as it is
// (the mount that follows reports a non-directory).
void ensure_dir(const std::string& path, mode_t mode = 0755);

// Creates the mount point: a directory, or (for a non-directory bind source)
// an empty file. Parents are made 0755. Throws naming the path.
void make_mount_point(const std::string& path, bool directory);

// mount(2) throwing "mount <what> on <target>: ERRNO".
void do_mount(const char* source, const std::string& target, const char* fstype,
              unsigned long flags, const std::string& data, std::string_view what);

// Applies propagation flags and recursive attributes of parsed options.
void apply_propagation(const std::string& target, const MountOptions& o, std::string_view what);
void apply_recursive_attrs(const std::string& target, const MountOptions& o, std::string_view what);

// Remounts a bind mount with `flags` (MS_RDONLY, MS_NOSUID, ...), keeping the
// flags the kernel locks in a user namespace (nosuid/nodev/noexec/atime of
// the source) unless the caller clears them explicitly.
void remount_bind(const std::string& target, unsigned long flags, unsigned long clear,
                  std::string_view what, std::string_view shown = {});

// The container's cgroup view at `dest` (`"type": "cgroup"` mounts): v1
// hierarchies, hybrid and pure v2; direct cgroup mounts with a cgroup
// namespace, bind mounts of the process's own cgroups without one.
// `dest` is the container path below root_fd; `shown` the host path for
// messages.
// cgroup_dirs: see RootfsOptions::cgroup_dirs.
void mount_cgroups(int root_fd, const std::string& dest, const std::string& shown,
                   const MountOptions& o, bool cgroup_ns,
                   const std::map<std::string, std::string>& cgroup_dirs, std::string_view what);

}  // namespace berth::runtime
