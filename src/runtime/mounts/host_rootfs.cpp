#include "runtime/mounts/host_rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/mounts/mounts.hpp"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U  // Linux 6.8; older headers lack it
#endif

namespace berth::runtime {

namespace {

// The unique (never reused) mount id where the kernel has one (6.8+), the
// reusable one before; create and delete run on the same kernel, so they
// agree on which.
uint64_t mount_id(int fd, const std::string& what) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE | STATX_MNT_ID, &stx) != 0)
    throw_errno("statx " + what);
  if (!(stx.stx_mask & (STATX_MNT_ID_UNIQUE | STATX_MNT_ID)))
    fail("statx " + what + ": this kernel reports no mount id", ErrorKind::Unsupported);
  return stx.stx_mnt_id;
}

// Through the fd, so it is exactly that mount whatever is mounted on the
// path meanwhile. Lazily: the init may still hold it as its root, and the
// mounts the config made under it go with it.
void detach(int fd, const std::string& what) {
  if (::umount2(fd_path(fd).c_str(), MNT_DETACH) != 0) throw_errno("unmount " + what);
}

}  // namespace

bool shares_host_mounts(const oci::Spec& spec) {
  if (!spec.linux) return true;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == "mount") return false;
  return true;
}

HostRootfsMount::HostRootfsMount(const std::string& rootfs, const std::function<void(uint64_t)>& record)
    : rootfs_(rootfs) {
  const std::string what = "the rootfs " + rootfs + " bound on itself in the host's mount namespace";
  UniqueFd tree(::open_tree(AT_FDCWD, rootfs.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree) throw_errno("bind rootfs " + rootfs + " on itself (linux.namespaces has no mount namespace)");
  // The detached copy already has the id it keeps once attached: on record
  // before it is in the host's table, so that a create killed from here on
  // leaves `delete --force` what it needs to find it.
  const uint64_t id = mount_id(tree.get(), what);
  if (record) record(id);
  if (::move_mount(tree.get(), "", AT_FDCWD, rootfs.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    throw_errno("bind rootfs " + rootfs + " on itself (linux.namespaces has no mount namespace)");
  tree_ = std::move(tree);
  id_ = id;
}

HostRootfsMount::~HostRootfsMount() {
  if (!tree_) return;
  try {
    detach(tree_.get(), "the rootfs bind of " + rootfs_);
  } catch (const Error& e) {
    log::warn(std::string("undo create: ") + e.what());
  }
}

void detach_host_rootfs(const std::string& rootfs, uint64_t id) {
  UniqueFd top(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!top) {
    if (errno == ENOENT) return;
    throw_errno("open rootfs " + rootfs);
  }
  if (mount_id(top.get(), rootfs) != id) {
    log::warn("rootfs " + rootfs + ": the container's mount is no longer the one on top; left in place");
    return;
  }
  detach(top.get(), "the rootfs bind of " + rootfs);
}

}  // namespace berth::runtime
