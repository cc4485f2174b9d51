// mount_all_idmapped (overlay_snapshotter.hpp): a container's rootfs seen
// through its user namespace's id mapping.
//
// Each layer is cloned as a detached mount (open_tree OPEN_TREE_CLONE),
// idmapped, and handed to overlayfs as /proc/self/fd/N: nothing is attached
// anywhere but the final overlay, so a process killed half-way leaks no
// mount (detached mounts go with their last fd). Overlayfs keeps private
// clones of its layers, so our fds can close once it is mounted.
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/userns.hpp"
#include "image/overlay_snapshotter.hpp"

namespace berth::image {
namespace {

UniqueFd idmapped_clone(const std::string& path, int userns_fd) {
  UniqueFd fd(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!fd) throw_errno("clone a mount of " + path);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (::syscall(SYS_mount_setattr, fd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    throw_errno("idmap a mount of " + path + " (idmapped mounts need Linux >= 5.12 and a filesystem that has them)");
  return fd;
}

std::string fd_path(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) fail("no parent directory for " + path);
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

void mount_all_idmapped(const std::vector<MountSpec>& mounts, const std::string& target, int userns_fd,
                        uint32_t root_uid, uint32_t root_gid) {
  for (const auto& m : mounts) {
    if (m.type == "bind") {
      UniqueFd fd = idmapped_clone(m.source, userns_fd);
      if (::syscall(SYS_move_mount, fd.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        throw_errno("move an idmapped mount of " + m.source + " to " + target);
      continue;
    }
    std::vector<UniqueFd> held;
    MountSpec mapped{m.type, m.source, {}};
    std::string upper_parent;
    UniqueFd upper_fd;
    for (const auto& o : m.options) {
      auto eq = o.find('=');
      std::string k = o.substr(0, eq), v = eq == std::string::npos ? "" : o.substr(eq + 1);
      if (k == "lowerdir") {
        std::string list;
        size_t pos = 0;
        while (pos <= v.size()) {
          size_t next = v.find(':', pos);
          if (next == std::string::npos) next = v.size();
          held.push_back(idmapped_clone(v.substr(pos, next - pos), userns_fd));
          list += (list.empty() ? "" : ":") + fd_path(held.back());
          pos = next + 1;
        }
        mapped.options.push_back("lowerdir=" + list);
      } else if (k == "upperdir" || k == "workdir") {
        // Both must be on one mount: one clone of their common parent.
        if (!upper_fd) {
          upper_parent = parent_of(v);
          upper_fd = idmapped_clone(upper_parent, userns_fd);
        } else if (parent_of(v) != upper_parent) {
          fail("overlay upperdir and workdir in different directories: " + v);
        }
        mapped.options.push_back(k + "=" + fd_path(upper_fd) + "/" + base_of(v));
      } else {
        mapped.options.push_back(o);
      }
    }
    std::vector<int> keep;
    for (const auto& fd : held) keep.push_back(fd.get());
    if (upper_fd) keep.push_back(upper_fd.get());
    run_with_fsids(root_uid, root_gid, keep, [&] { mount_overlay_fsconfig(mapped, target); });
  }
}

}  // namespace berth::image
