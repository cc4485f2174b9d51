#include "image/overlay_snapshotter.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::image {

void check_snapshot_key(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 128 && std::isalnum(static_cast<unsigned char>(key[0]));
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) ok = false;
  if (!ok)
    throw Error("invalid container id \"" + key + "\" (letters, digits, '_', '.', '-'; up to 128)",
                ErrorKind::InvalidArgument);
}

std::string OverlaySnapshotter::dir(const std::string& key) const {
  check_snapshot_key(key);
  return store_.root() + "/containers/" + key;
}

static std::string lowerdir_option(ImageStore& store, const std::vector<std::string>& chains) {
  std::string lower;
  for (auto it = chains.rbegin(); it != chains.rend(); ++it)  // topmost layer first
    lower += (lower.empty() ? "" : ":") + store.layer_dir(*it);
  return "lowerdir=" + lower;
}

static std::vector<MountSpec> specs_for(ImageStore& store, const std::string& d,
                                        const std::vector<std::string>& chains) {
  if (chains.empty()) return {{"bind", d + "/upper", {"rbind", "rw"}}};
  return {{"overlay", "overlay",
           {"index=off", lowerdir_option(store, chains), "upperdir=" + d + "/upper", "workdir=" + d + "/work"}}};
}

std::vector<MountSpec> read_only_mounts(ImageStore& store, const std::vector<std::string>& chains) {
  if (chains.empty()) fail("an image without layers has no filesystem");
  // overlayfs wants two lower dirs when it has no upper dir.
  if (chains.size() == 1) return {{"bind", store.layer_dir(chains[0]), {"rbind", "ro"}}};
  return {{"overlay", "overlay", {"index=off", lowerdir_option(store, chains)}}};
}

std::vector<MountSpec> OverlaySnapshotter::prepare(const std::string& key, const std::string& image) {
  std::string d = dir(key);
  auto lock = store_.shared_lock();
  if (store_.snapshot(key) || fs::exists(d))
    throw Error("container " + key + " already has a rootfs snapshot", ErrorKind::AlreadyExists);
  std::string image_id;
  std::vector<std::string> chains;
  if (!image.empty()) {
    auto img = store_.resolve(image);
    image_id = img.id;
    chains = store_.chain_ids(img);
    for (auto& c : chains)
      if (!fs::is_dir(store_.layer_dir(c)))
        throw Error("layer " + c + " of image " + image + " is not unpacked", ErrorKind::FailedPrecondition);
  }
  fs::mkdir_p(store_.root() + "/containers", 0711);
  if (::mkdir(d.c_str(), 0711) != 0) throw_errno("create snapshot dir " + d);
  try {
    for (auto sub : {"upper", "work", "merged"}) fs::mkdir_p(d + "/" + sub, 0755);
    store_.record_snapshot(key, image_id, chains);
  } catch (...) {
    fs::remove_all(d);
    throw;
  }
  return specs_for(store_, d, chains);
}

std::vector<MountSpec> OverlaySnapshotter::mounts(const std::string& key) {
  auto rec = store_.snapshot(key);
  if (!rec) throw Error("container " + key + " has no rootfs snapshot", ErrorKind::NotFound);
  return specs_for(store_, dir(key), rec->chain_ids);
}

void OverlaySnapshotter::remove(const std::string& key) {
  std::string d = dir(key);
  auto rec = store_.snapshot(key);
  if (!rec && !fs::exists(d)) throw Error("container " + key + " has no rootfs snapshot", ErrorKind::NotFound);
  unmount(d + "/merged");
  fs::remove_all(d);
  store_.forget_snapshot(key);
}

std::vector<SnapshotInfo> OverlaySnapshotter::list() {
  std::vector<SnapshotInfo> out;
  for (auto& s : store_.snapshots()) out.push_back({s.key, s.image_id, dir(s.key), s.chain_ids.size()});
  return out;
}

bool is_mount_point(const std::string& path) {
  // statx knows (Linux >= 5.8) without reading the whole mount table, which
  // grows with every running container.
  struct statx sx{};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, 0, &sx) == 0 &&
      (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  struct stat a, b;
  if (::lstat(path.c_str(), &a) != 0) return false;
  if (::lstat((path + "/..").c_str(), &b) != 0) return false;
  if (a.st_dev != b.st_dev) return true;
  // Same device (e.g. a bind mount of the same fs): ask the mount table.
  std::string mi;
  try {
    mi = fs::read_file("/proc/self/mountinfo");
  } catch (...) {
    return false;
  }
  std::string needle = " " + path + " ";
  return mi.find(needle) != std::string::npos;
}

void unmount(const std::string& target) {
  if (!is_mount_point(target)) return;
  if (::umount2(target.c_str(), 0) != 0) {
    if (errno == EINVAL) return;
    if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH) == 0) return;
    throw_errno("unmount " + target);
  }
}

// The new mount API: one fsconfig per option, one per lower dir.
void mount_overlay_fsconfig(const MountSpec& m, const std::string& target) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) throw_errno("fsopen overlay for " + target);
  auto cfg_error = [&](const std::string& what) {
    int err = errno;
    throw Error("mount overlay on " + target + ": " + what, err == EINVAL ? ErrorKind::Unsupported : ErrorKind::Internal, err);
  };
  for (auto& o : m.options) {
    auto eq = o.find('=');
    std::string k = o.substr(0, eq), v = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (k == "lowerdir") {
      size_t pos = 0;
      int n = 0;
      while (pos <= v.size()) {
        size_t next = v.find(':', pos);
        if (next == std::string::npos) next = v.size();
        std::string dir = v.substr(pos, next - pos);
        if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", dir.c_str(), 0) != 0)
          cfg_error("add lower dir " + std::to_string(n) + " " + dir +
                    " (\"lowerdir+\" needs Linux 6.8; overlayfs stacks at most 500 layers)");
        ++n;
        pos = next + 1;
      }
    } else if (eq == std::string::npos) {
      if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, k.c_str(), nullptr, 0) != 0) cfg_error("option " + k);
    } else {
      if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, k.c_str(), v.c_str(), 0) != 0) cfg_error("option " + o);
    }
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) cfg_error("create");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) throw_errno("fsmount overlay for " + target);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    throw_errno("move overlay mount to " + target);
}

void mount_all(const std::vector<MountSpec>& mounts, const std::string& target) {
  for (auto& m : mounts) {
    if (m.type == "bind") {
      if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        throw_errno("bind mount " + m.source + " on " + target);
      continue;
    }
    std::string data;
    for (auto& o : m.options) data += (data.empty() ? "" : ",") + o;
    // mount(2) copies at most one page of options.
    if (data.size() < static_cast<size_t>(::sysconf(_SC_PAGESIZE)) - 1) {
      if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), 0, data.c_str()) != 0)
        throw_errno("mount " + m.type + " on " + target);
    } else {
      mount_overlay_fsconfig(m, target);
    }
  }
}

}  // namespace berth::image
