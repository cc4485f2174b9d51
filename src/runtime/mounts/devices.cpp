#include "runtime/mounts/devices.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/mounts/mounts.hpp"

namespace berth::runtime {
namespace {

oci::Device chr(const char* path, int64_t major, int64_t minor) {
  oci::Device d;
  d.type = "c";
  d.path = path;
  d.major = major;
  d.minor = minor;
  d.file_mode = 0666;
  d.uid = 0;
  d.gid = 0;
  return d;
}

mode_t node_type(const oci::Device& d, const std::string& field) {
  if (d.type == "c" || d.type == "u") return S_IFCHR;
  if (d.type == "b") return S_IFBLK;
  if (d.type == "p") return S_IFIFO;
  fail(field + ".type: unknown device type \"" + d.type + "\" (want c, b, u or p)");
}

void make_parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) ensure_dir(path.substr(0, slash), 0755);
}

}  // namespace

std::vector<oci::Device> default_devices() {
  return {chr("/dev/null", 1, 3),    chr("/dev/zero", 1, 5),    chr("/dev/full", 1, 7),
          chr("/dev/random", 1, 8),  chr("/dev/urandom", 1, 9), chr("/dev/tty", 5, 0)};
}

void create_devices(const std::string& root, const std::vector<oci::Device>& devices,
                    bool bind_from_host) {
  // mknod honours the umask; the config's mode is exact without a chmod per
  // node.
  struct UmaskGuard {
    mode_t old = umask(0);
    ~UmaskGuard() { umask(old); }
  } guard;
  const uid_t euid = geteuid();
  const gid_t egid = getegid();
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    const std::string field = "linux.devices[" + std::to_string(i) + "] (" + d.path + ")";
    if (d.path.empty() || d.path[0] != '/') fail(field + ".path: must be absolute");
    const mode_t type = node_type(d, field);
    if (type != S_IFIFO && (d.major < 0 || d.minor < 0))
      fail(field + ": major and minor must not be negative");
    const std::string dest = secure_join(root, d.path);
    make_parent(dest);
    if (bind_from_host) {
      // No mknod in a user namespace: bind the host's node (same path).
      make_mount_point(dest, false);
      if (::mount(d.path.c_str(), dest.c_str(), nullptr, MS_BIND, nullptr) != 0)
        throw_errno(field + ": bind host device " + d.path + " on " + dest);
      continue;
    }
    const mode_t perm = d.file_mode.value_or(0666) & 07777;
    const dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    if (mknod(dest.c_str(), type | perm, dev) != 0) {
      if (errno != EEXIST) throw_errno(field + ": mknod " + dest);
      // Same path twice (a configured device over a default one, or a node
      // already in the image): replace it so major/minor are the config's.
      if (unlink(dest.c_str()) != 0 || mknod(dest.c_str(), type | perm, dev) != 0)
        throw_errno(field + ": mknod " + dest);
    }
    // The node already belongs to our fsuid/fsgid; chown only when the
    // config asks for someone else.
    const uid_t uid = d.uid.value_or(0);
    const gid_t gid = d.gid.value_or(0);
    if ((uid != euid || gid != egid) && lchown(dest.c_str(), uid, gid) != 0)
      throw_errno(field + ": chown " + dest);
  }
}

void create_dev_symlinks(const std::string& root, bool devpts) {
  struct Link {
    const char* target;
    const char* path;
  };
  static constexpr Link kLinks[] = {
      {"/proc/self/fd", "/dev/fd"},
      {"/proc/self/fd/0", "/dev/stdin"},
      {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"},
  };
  const std::string dev = secure_join(root, "/dev");
  ensure_dir(dev, 0755);
  for (const auto& l : kLinks) {
    std::string p = dev + (l.path + 4);
    if (symlink(l.target, p.c_str()) != 0 && errno != EEXIST) throw_errno("symlink " + p);
  }
  if (access("/proc/kcore", F_OK) == 0) {
    std::string p = dev + "/core";
    if (symlink("/proc/kcore", p.c_str()) != 0 && errno != EEXIST) throw_errno("symlink " + p);
  }
  if (devpts) {
    std::string p = dev + "/ptmx";
    if (unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + p);
    if (symlink("pts/ptmx", p.c_str()) != 0) throw_errno("symlink " + p);
  }
}

}  // namespace berth::runtime
