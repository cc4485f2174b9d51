#include "runtime/mounts/mounts.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace berth::runtime {
namespace {

std::deque<std::string> split_path(std::string_view p) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string strip_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::string secure_join(const std::string& root_in, std::string_view unsafe) {
  const std::string root = strip_slashes(root_in);
  std::deque<std::string> todo = split_path(unsafe);
  std::vector<std::string> parts;
  int links = 0;
  auto current = [&] {
    std::string s = root == "/" ? "" : root;
    for (auto& p : parts) s += "/" + p;
    return s.empty() ? std::string("/") : s;
  };
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    std::string candidate = current();
    if (candidate.back() != '/') candidate += '/';
    candidate += comp;
    struct stat st {};
    if (lstat(candidate.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      parts.push_back(std::move(comp));
      continue;
    }
    if (++links > 255) throw_errno("resolve " + std::string(unsafe) + " in " + root, ELOOP);
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlink(candidate.c_str(), target.data(), target.size());
    if (n < 0) throw_errno("readlink " + candidate);
    target.resize(static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') parts.clear();
    auto t = split_path(target);
    todo.insert(todo.begin(), t.begin(), t.end());
  }
  return current();
}

UniqueFd open_in_root(int root_fd, std::string_view path, std::string_view what) {
  std::string rel(path);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);  // a concurrent rename: retry
  if (fd < 0) throw_errno(std::string(what) + ": open " + std::string(path) + " in the rootfs");
  return UniqueFd(static_cast<int>(fd));
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void ensure_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return;
  if (errno != ENOENT) throw_errno("mkdir " + path);
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) throw_errno("mkdir " + path, ENOENT);
  ensure_dir(path.substr(0, slash), 0755);
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) throw_errno("mkdir " + path);
}

void make_mount_point(const std::string& path, bool directory) {
  if (directory) {
    ensure_dir(path);
    return;
  }
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) ensure_dir(path.substr(0, slash));
  // Read-only: opening an existing file of a lower layer for writing makes
  // overlayfs copy it up (and fsync the copy) only to be covered by a bind
  // mount — three times per container for /etc/hosts, hostname, resolv.conf.
  int fd = open(path.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    // An existing non-regular file (a device, a directory) is a fine mount
    // point for a file bind: the kernel decides.
    if (errno == EISDIR || errno == ELOOP || errno == EEXIST || errno == ENXIO ||
        errno == EACCES || errno == EROFS) {
      struct stat st {};
      if (lstat(path.c_str(), &st) == 0) return;
    }
    throw_errno("create mount point " + path);
  }
  close(fd);
}

void do_mount(const char* source, const std::string& target, const char* fstype,
              unsigned long flags, const std::string& data, std::string_view what) {
  if (::mount(source, target.c_str(), fstype, flags, data.empty() ? nullptr : data.c_str()) != 0)
    throw_errno(std::string(what));
}

void apply_propagation(const std::string& target, const MountOptions& o, std::string_view what) {
  for (unsigned long p : o.propagation) {
    if (::mount(nullptr, target.c_str(), nullptr, p, nullptr) != 0)
      throw_errno(std::string(what) + ": set propagation");
  }
}

void apply_recursive_attrs(const std::string& target, const MountOptions& o,
                           std::string_view what) {
  if (!o.recursive_attrs) return;
  struct mount_attr attr {};
  attr.attr_set = o.attr_set;
  attr.attr_clr = o.attr_clr;
  if (mount_setattr(AT_FDCWD, target.c_str(), AT_RECURSIVE, &attr,
                    sizeof attr) != 0)
    throw_errno(std::string(what) + ": set recursive mount attributes");
}

void remount_bind(const std::string& target, unsigned long flags, unsigned long clear,
                  std::string_view what, std::string_view shown) {
  const std::string name = shown.empty() ? target : std::string(shown);
  struct statvfs sv {};
  if (statvfs(target.c_str(), &sv) != 0) throw_errno(std::string(what) + ": statvfs " + name);
  // In a user namespace the kernel refuses to drop these from a mount that
  // had them; keeping them is also what the user expects when not asked.
  constexpr unsigned long kAtime = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
  unsigned long keep = 0;
  if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
  if (!(flags & kAtime) && !(clear & kAtime)) {
    if (sv.f_flag & ST_NOATIME) keep |= MS_NOATIME;
    if (sv.f_flag & ST_RELATIME) keep |= MS_RELATIME;
    if (sv.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
  }
  keep &= ~clear;
  unsigned long f = MS_BIND | MS_REMOUNT | ((flags | keep) & ~(MS_BIND | MS_REC | MS_REMOUNT));
  if (::mount(nullptr, target.c_str(), nullptr, f, nullptr) != 0)
    throw_errno(std::string(what) + ": remount " + name +
                ((flags & MS_RDONLY) ? " read-only" : ""));
}

}  // namespace berth::runtime
