// Overlay snapshotter, after containerd's contract: prepare() creates a
// writable snapshot on top of an image and returns the mounts that make it
// a rootfs, without mounting; mount() is a separate helper; remove()
// deletes it. Snapshots live in <root>/containers/<key>/{upper,work,merged}
// and are recorded with their parent image, which is what `rmi` checks.
//
// Many layers: the classic mount(2) data page holds only ~4 KiB of options,
// i.e. a few dozen absolute lowerdir paths. mount() here switches to the
// new mount API and passes each lower dir as its own "lowerdir+" parameter
// (Linux >= 6.8), which lifts the option-length limit up to overlayfs's own
// stack limit of 500 layers. See docs/images.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/image_store.hpp"

namespace berth::image {

struct MountSpec {
  std::string type;    // "overlay" or "bind"
  std::string source;  // "overlay" or a directory
  std::vector<std::string> options;
};

struct SnapshotInfo {
  std::string key;
  std::string image_id;
  std::string dir;  // <root>/containers/<key>
  size_t layers = 0;
};

class OverlaySnapshotter {
 public:
  explicit OverlaySnapshotter(ImageStore& store) : store_(store) {}

  // Creates snapshot `key` on top of `image` (reference or ID; empty = no
  // parent). AlreadyExists if the key is taken.
  std::vector<MountSpec> prepare(const std::string& key, const std::string& image);
  std::vector<MountSpec> mounts(const std::string& key);
  // Unmounts <dir>/merged if mounted, deletes the directories and the record.
  void remove(const std::string& key);
  std::vector<SnapshotInfo> list();
  std::string dir(const std::string& key) const;
  std::string upper(const std::string& key) const { return dir(key) + "/upper"; }
  std::string merged(const std::string& key) const { return dir(key) + "/merged"; }

 private:
  ImageStore& store_;
};

// A read-only view of an image's layers (bottom first, as chain_ids()
// lists them) for reading its filesystem, e.g. into a VM disk: a bind
// mount of a single layer, or an overlay of several with no upper dir.
// Mount it with mount_all(); the bind is not read-only by itself.
std::vector<MountSpec> read_only_mounts(ImageStore& store, const std::vector<std::string>& chains);

// Mounts the specs on target (in order). Throws naming the target and errno.
void mount_all(const std::vector<MountSpec>& mounts, const std::string& target);
// mount_all for a container in a user namespace: every layer is seen
// through an idmapped mount (open_tree clone + MOUNT_ATTR_IDMAP on
// `userns_fd`, the container's own mappings), so the container's root owns
// the image's root files while every file, old or new, keeps its true owner
// on disk (commit, diff and cp need no id shifting). `root_uid`/`root_gid`:
// the host ids container root maps to; the overlay is mounted with them as
// filesystem ids, since overlayfs creates upper files with its mounter's
// ids and those must map through the idmap. Needs Linux >= 6.8.
void mount_all_idmapped(const std::vector<MountSpec>& mounts, const std::string& target, int userns_fd,
                        uint32_t root_uid, uint32_t root_gid);
// An overlay mount through fsopen/fsconfig ("lowerdir+" per lower dir).
void mount_overlay_fsconfig(const MountSpec& m, const std::string& target);
// Unmounts target; no error if it is not a mount point.
void unmount(const std::string& target);
bool is_mount_point(const std::string& path);

// A snapshot key / container id: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}.
void check_snapshot_key(const std::string& key);

}  // namespace berth::image
