#include "runtime/mounts/rootfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/mounts/devices.hpp"
#include "runtime/mounts/mounts.hpp"

namespace berth::runtime {
namespace {

bool has_namespace(const oci::Spec& spec, std::string_view type) {
  if (!spec.linux) return false;
  return std::any_of(spec.linux->namespaces.begin(), spec.linux->namespaces.end(),
                     [&](const oci::Namespace& n) { return n.type == type; });
}

std::string clean_dest(const std::string& d) {
  std::string s = d.empty() || d[0] != '/' ? "/" + d : d;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Copies the tree under `src_fd` (the directory hidden by a new tmpfs) into
// `dst_fd`, keeping modes, owners and symlinks ("tmpcopyup").
void copy_tree(int src_fd, int dst_fd, const std::string& where) {
  int dup_fd = dup(src_fd);
  if (dup_fd < 0) throw_errno("tmpcopyup: dup " + where);
  DIR* dir = fdopendir(dup_fd);
  if (!dir) {
    close(dup_fd);
    throw_errno("tmpcopyup: opendir " + where);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, closedir);
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string p = where + "/" + name;
    struct stat st {};
    if (fstatat(src_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("tmpcopyup: stat " + p);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst_fd, name.c_str(), st.st_mode & 07777) != 0 && errno != EEXIST)
        throw_errno("tmpcopyup: mkdir " + p);
      UniqueFd s(openat(src_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd d(openat(dst_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s || !d) throw_errno("tmpcopyup: open " + p);
      copy_tree(s.get(), d.get(), p);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlinkat(src_fd, name.c_str(), target.data(), target.size());
      if (n < 0) throw_errno("tmpcopyup: readlink " + p);
      target.resize(static_cast<size_t>(n));
      if (symlinkat(target.c_str(), dst_fd, name.c_str()) != 0) throw_errno("tmpcopyup: symlink " + p);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd s(openat(src_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd d(openat(dst_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
      if (!s || !d) throw_errno("tmpcopyup: copy " + p);
      off_t off = 0;
      while (off < st.st_size) {
        ssize_t n = copy_file_range(s.get(), nullptr, d.get(), nullptr,
                                    static_cast<size_t>(st.st_size - off), 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS)) {
          char buf[65536];
          n = pread(s.get(), buf, sizeof buf, off);
          if (n > 0 && pwrite(d.get(), buf, static_cast<size_t>(n), off) != n) n = -1;
        }
        if (n < 0) throw_errno("tmpcopyup: copy " + p);
        if (n == 0) break;
        off += n;
      }
    } else {
      if (mknodat(dst_fd, name.c_str(), st.st_mode, st.st_rdev) != 0) throw_errno("tmpcopyup: mknod " + p);
    }
    if (fchownat(dst_fd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
      throw_errno("tmpcopyup: chown " + p);
    if (!S_ISLNK(st.st_mode) && fchmodat(dst_fd, name.c_str(), st.st_mode & 07777, 0) != 0)
      throw_errno("tmpcopyup: chmod " + p);
  }
}

// Paths under /proc a mount may cover (lxcfs-style overrides, as runc
// allows); anything else under /proc could hide or redirect security
// relevant files (/proc/self/attr, /proc/sys/...).
bool proc_mount_allowed(const std::string& dest_in_container) {
  static constexpr const char* kAllowed[] = {
      "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",   "/proc/swaps",
      "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid"};
  for (const char* a : kAllowed)
    if (dest_in_container == a) return true;
  return false;
}

struct Deferred {
  std::string in_container;
  std::string shown;
  unsigned long flags;
  std::string what;
};

// One spec mount. Mount points are created by path (secure_join), then
// opened with open_in_root and mounted through /proc/self/fd, so a symlink
// swapped in meanwhile cannot move the mount out of the rootfs.
void mount_entry(const std::string& root, int root_fd, const oci::Mount& m, size_t index,
                 const RootfsOptions& opts, bool cgroup_ns, std::vector<Deferred>& deferred) {
  const std::string dest_rel = clean_dest(m.destination);
  const std::string field = "mounts[" + std::to_string(index) + "] (" + dest_rel + ")";
  if (m.destination.empty()) fail(field + ".destination: missing");
  MountOptions o = parse_mount_options(m.options, field + ".options");
  const std::string dest = secure_join(root, dest_rel);
  const std::string in_container =
      dest.size() > root.size() ? dest.substr(root.size() == 1 ? 0 : root.size()) : "/";
  if (in_container.starts_with("/proc/") && m.type != "proc" && !proc_mount_allowed(in_container))
    fail(field + ": mounting over " + in_container + " is not allowed");
  const bool idmapped = !m.uid_mappings.empty() || !m.gid_mappings.empty() || o.idmap;
  int prepared_tree = -1;
  if (idmapped) {
    if (opts.prepared) {
      auto it = opts.prepared->idmapped.find(index);
      if (it != opts.prepared->idmapped.end()) prepared_tree = it->second.get();
    }
    if (prepared_tree < 0)
      fail(field + ": idmapped mounts need the runtime to prepare them (prepare_mounts)",
           ErrorKind::Unsupported);
  }
  auto open_target = [&] { return open_in_root(root_fd, in_container, field); };
  // After the mount: the fd of the new mount's root, for remounts and
  // propagation.
  auto finish = [&](bool remount, unsigned long rflags) {
    if (!remount && !o.recursive_attrs && o.propagation.empty()) return;
    UniqueFd t = open_target();
    const std::string p = fd_path(t.get());
    if (remount) remount_bind(p, rflags, o.clear, field, dest);
    apply_recursive_attrs(p, o, field);
    apply_propagation(p, o, field);
  };

  if (m.type == "bind" || o.is_bind()) {
    std::string src = m.source;
    if (src.empty()) fail(field + ".source: a bind mount needs a source");
    if (src[0] != '/') src = fs::join(opts.bundle, src);
    struct stat st {};
    if (stat(src.c_str(), &st) != 0) throw_errno(field + ": bind source " + src);
    make_mount_point(dest, S_ISDIR(st.st_mode));
    const unsigned long rec = o.flags & MS_REC;
    {
      UniqueFd t = open_target();
      if (prepared_tree >= 0) {
        attach_prepared_tree(prepared_tree, t.get(),
                             field + ": attach idmapped " + src + " on " + dest);
      } else {
        do_mount(src.c_str(), fd_path(t.get()), nullptr, MS_BIND | rec, "",
                 field + ": bind " + src + " on " + dest);
      }
    }
    // A bind ignores every flag but MS_REC; the others take a remount.
    finish(o.bind_remount_flags() != 0 || o.clear != 0, o.bind_remount_flags());
    return;
  }

  const unsigned long flags = o.flags & ~MS_REC;
  if (m.type == "cgroup") {
    ensure_dir(dest, 0755);
    mount_cgroups(root_fd, in_container, dest, o, cgroup_ns, opts.cgroup_dirs, field);
    finish(false, 0);
    return;
  }

  if (m.type.empty()) fail(field + ".type: missing (and the options do not say bind)");
  ensure_dir(dest, 0755);
  const std::string what = field + ": mount " + m.type + " on " + dest;
  const char* source = m.source.empty() ? m.type.c_str() : m.source.c_str();
  UniqueFd t = open_target();
  const std::string target = fd_path(t.get());

  if (m.type == "tmpfs") {
    // Devices and copied files must be written before a read-only tmpfs
    // becomes read-only.
    const bool late_ro = (flags & MS_RDONLY) && (o.tmpcopyup || dest_rel == "/dev");
    UniqueFd under;
    if (o.tmpcopyup) {
      under.reset(openat(t.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!under) throw_errno(field + ": tmpcopyup: open " + dest);
    }
    do_mount(source, target, "tmpfs", late_ro ? flags & ~MS_RDONLY : flags, o.data, what);
    if (o.tmpcopyup) {
      UniqueFd top_path = open_target();
      UniqueFd top(openat(top_path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!top) throw_errno(field + ": tmpcopyup: open " + dest);
      copy_tree(under.get(), top.get(), dest);
    }
    if (late_ro) deferred.push_back({in_container, dest, flags, what});
  } else if (m.type == "sysfs" || m.type == "mqueue") {
    if (::mount(source, target.c_str(), m.type.c_str(), flags,
                o.data.empty() ? nullptr : o.data.c_str()) != 0) {
      // Without its own netns (sysfs) or ipc ns (mqueue), a user namespace
      // may not mount these: bind the host's instead, as runc does.
      if (!(errno == EPERM && opts.new_user_ns)) throw_errno(what);
      const char* host = m.type == "sysfs" ? "/sys" : "/dev/mqueue";
      do_mount(host, target, nullptr, MS_BIND | MS_REC, "", what + " (bind of host " + host + ")");
      finish(true, flags);
      return;
    }
  } else {
    do_mount(source, target, m.type.c_str(), flags, o.data, what);
  }
  finish(false, 0);
}

bool dev_is_bind(const oci::Spec& spec) {
  for (const auto& m : spec.mounts) {
    if (clean_dest(m.destination) != "/dev") continue;
    if (m.type == "bind") return true;
    for (const auto& o : m.options)
      if (o == "bind" || o == "rbind") return true;
  }
  return false;
}

bool has_devpts(const oci::Spec& spec) {
  return std::any_of(spec.mounts.begin(), spec.mounts.end(), [](const oci::Mount& m) {
    return m.type == "devpts" && clean_dest(m.destination) == "/dev/pts";
  });
}

void pivot_to(const std::string& root) {
  UniqueFd oldroot(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!oldroot) throw_errno("open /");
  UniqueFd newroot(open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!newroot) throw_errno("open rootfs " + root);
  check(fchdir(newroot.get()), "chdir " + root);
  // pivot_root(".", ".") stacks the old root on the new one; no put_old
  // directory is needed in the image (runc's trick).
  check(syscall(SYS_pivot_root, ".", "."), "pivot_root to " + root);
  check(fchdir(oldroot.get()), "chdir to old root");
  // Make sure the unmount does not propagate to the host.
  check(::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr), "make old root rslave");
  check(umount2(".", MNT_DETACH), "unmount old root");
  check(chdir("/"), "chdir /");
}

// With move_over_slash (--no-pivot), the rootfs mount first replaces "/"
// of the container's mount namespace; without, a plain chroot.
void chroot_into(const std::string& root, bool move_over_slash) {
  check(chdir(root.c_str()), "chdir " + root);
  if (move_over_slash)
    check(::mount(root.c_str(), "/", nullptr, MS_MOVE, nullptr), "move rootfs " + root + " to /");
  check(chroot("."), "chroot " + root);
  check(chdir("/"), "chdir /");
}

void mask_path(const std::string& p, size_t index) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;
    throw_errno("linux.maskedPaths[" + std::to_string(index) + "]: stat " + p);
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "size=0,nr_inodes=1") != 0)
      throw_errno("linux.maskedPaths[" + std::to_string(index) + "]: mount read-only tmpfs on " + p);
  } else if (::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throw_errno("linux.maskedPaths[" + std::to_string(index) + "]: bind /dev/null on " + p);
  }
}

void readonly_path(const std::string& p, size_t index) {
  const std::string field = "linux.readonlyPaths[" + std::to_string(index) + "]";
  if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    if (errno == ENOENT) return;
    throw_errno(field + ": bind " + p + " on itself");
  }
  // Recursively, in one call: submounts under the path become read-only too
  // (a plain remount would leave them writable).
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (mount_setattr(AT_FDCWD, p.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0)
    throw_errno(field + ": make " + p + " read-only");
}

}  // namespace

std::string rootfs_path(const oci::Spec& spec, const std::string& bundle) {
  if (spec.root.path.empty()) fail("root.path: missing");
  std::string p = spec.root.path[0] == '/' ? spec.root.path : fs::join(bundle, spec.root.path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

void setup_mounts(const oci::Spec& spec, const RootfsOptions& opts) {
  const std::string root = rootfs_path(spec, opts.bundle);
  struct stat st {};
  if (stat(root.c_str(), &st) != 0) throw_errno("root.path: " + root);
  if (!S_ISDIR(st.st_mode)) fail("root.path: " + root + " is not a directory");

  unsigned long wanted = 0;
  if (spec.linux && !spec.linux->rootfs_propagation.empty())
    wanted = parse_propagation(spec.linux->rootfs_propagation);
  if (opts.host_mounts) {
    // "/" is the host's: only the rootfs mount the runtime made is ours,
    // and it keeps the propagation of its parent unless asked otherwise.
    if (wanted & (MS_PRIVATE | MS_SLAVE))
      check(::mount(nullptr, root.c_str(), nullptr, wanted, nullptr),
            "linux.rootfsPropagation: set " + spec.linux->rootfs_propagation + " on " + root);
  } else {
    // Nothing done in here may reach the host: make / a slave (or private if
    // asked). Shared and unbindable are applied after pivot_root: pivot_root
    // refuses shared mounts, and an unbindable rootfs could not be bound.
    unsigned long prop = MS_SLAVE | MS_REC;
    if (wanted & (MS_PRIVATE | MS_SLAVE)) prop = wanted;
    check(::mount(nullptr, "/", nullptr, prop, nullptr), "set propagation of / in the container");
    // pivot_root needs the new root to be a mount point.
    do_mount(root.c_str(), root, nullptr, MS_BIND | MS_REC, "", "bind rootfs " + root + " on itself");
  }
  // Opened after the bind, so walks from it see the mounts made below.
  UniqueFd root_fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw_errno("open rootfs " + root);

  const bool cgroup_ns = has_namespace(spec, "cgroup");
  std::vector<Deferred> deferred;
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    mount_entry(root, root_fd.get(), spec.mounts[i], i, opts, cgroup_ns, deferred);

  if (!dev_is_bind(spec)) {
    std::vector<oci::Device> devs = default_devices();
    if (spec.linux) {
      for (const auto& d : spec.linux->devices) {
        std::erase_if(devs, [&](const oci::Device& x) { return x.path == d.path; });
      }
      create_devices(root, devs, opts.new_user_ns);
      create_devices(root, spec.linux->devices, opts.new_user_ns);
    } else {
      create_devices(root, devs, opts.new_user_ns);
    }
    create_dev_symlinks(root, has_devpts(spec));
  } else if (spec.linux && !spec.linux->devices.empty()) {
    create_devices(root, spec.linux->devices, opts.new_user_ns);
  }

  for (const auto& d : deferred) {
    UniqueFd t = open_in_root(root_fd.get(), d.in_container, d.what);
    remount_bind(fd_path(t.get()), d.flags, 0, d.what, d.shown);
  }
}

void finish_rootfs(const oci::Spec& spec, const RootfsOptions& opts) {
  const std::string root = rootfs_path(spec, opts.bundle);
  if (opts.host_mounts) {
    // Never pivot_root or MS_MOVE in the host's namespace: both would
    // change the root of every process there (runc's --no-pivot would).
    chroot_into(root, false);
  } else if (opts.no_pivot) {
    chroot_into(root, true);
  } else {
    pivot_to(root);
  }

  // Sysctls go before readonlyPaths make /proc/sys read-only (runc's order).
  apply_sysctls(spec);

  if (spec.linux) {
    for (size_t i = 0; i < spec.linux->readonly_paths.size(); ++i)
      readonly_path(spec.linux->readonly_paths[i], i);
    for (size_t i = 0; i < spec.linux->masked_paths.size(); ++i)
      mask_path(spec.linux->masked_paths[i], i);
  }
  if (spec.root.readonly) remount_bind("/", MS_RDONLY, 0, "root.readonly");
  // Last: an unbindable tree would refuse the readonlyPaths binds above.
  if (spec.linux && !spec.linux->rootfs_propagation.empty()) {
    unsigned long wanted = parse_propagation(spec.linux->rootfs_propagation);
    check(::mount(nullptr, "/", nullptr, wanted, nullptr),
          "linux.rootfsPropagation: set " + spec.linux->rootfs_propagation + " on /");
  }
}

}  // namespace berth::runtime
