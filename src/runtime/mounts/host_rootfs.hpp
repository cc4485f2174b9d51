// The rootfs of a container that shares the host's mount namespace (no
// "mount" in linux.namespaces, which the runtime-spec allows: the container
// inherits the runtime's namespace). Its mounts are then made in the host's
// mount table, so they must not outlive it (runc leaves every one of them
// behind after delete):
//
//   - before the clone the runtime binds the rootfs onto itself (this
//     class); every mount of the config goes under that one mount, which
//     is what the init's root is (a chroot: pivot_root would move the
//     root of every process of the host's namespace);
//   - a failed create detaches it (the destructor), `delete` detaches the
//     one recorded at create (its mount id, in the state file), with
//     everything mounted under it, but only while that mount is still the
//     one on top of the rootfs: never what someone else mounted there.
//
// Nothing else is isolated: the container sees the host's mount table
// (/proc/self/mountinfo shows what is under its root) and mounts the host
// makes under the rootfs later; a process with CAP_SYS_ADMIN can mount
// anywhere in it, and CAP_SYS_CHROOT can leave a chroot. A new or joined
// user namespace is refused (it could not mount in the host's namespace).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// No mount namespace, new or joined, in linux.namespaces.
bool shares_host_mounts(const oci::Spec& spec);

class HostRootfsMount {
 public:
  // Binds rootfs (recursively) onto itself. Throws naming the path.
  // `record` gets the mount's id before the mount is attached (create
  // saves it in the state file: see the .cpp).
  HostRootfsMount(const std::string& rootfs, const std::function<void(uint64_t)>& record);
  HostRootfsMount(const HostRootfsMount&) = delete;
  HostRootfsMount& operator=(const HostRootfsMount&) = delete;
  // Detaches the mount and everything under it, unless released.
  ~HostRootfsMount();

  // What `delete` needs to find it again (never 0).
  uint64_t id() const { return id_; }
  void release() { tree_.reset(); }

 private:
  std::string rootfs_;
  UniqueFd tree_;  // the mount itself (open_tree), so the undo hits exactly it
  uint64_t id_ = 0;
};

// For `delete`: detaches the mount `id` if it is still on top of rootfs
// (else warns and leaves the path alone). Throws if the unmount fails.
void detach_host_rootfs(const std::string& rootfs, uint64_t id);

}  // namespace berth::runtime
