#include "build/source_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "engine/in_root.hpp"

namespace berth::build {

using dockerfile::clean_path;
using dockerfile::glob_match;
using dockerfile::has_glob;

namespace {

std::vector<std::string> sorted_entries(int dirfd, const std::string& what) {
  DIR* d = ::fdopendir(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
  if (!d) throw_errno("read directory " + what);
  std::vector<std::string> names;
  while (auto* de = ::readdir(d))
    if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string join_rel(const std::string& a, const std::string& b) { return a.empty() || a == "." ? b : a + "/" + b; }

void own_and_mode(int dirfd, const char* name, const struct stat& st, const CopyOptions& o, bool is_link) {
  uid_t uid = o.uid.value_or(0);
  gid_t gid = o.gid.value_or(0);
  if (::fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) throw_errno(std::string("chown ") + name);
  if (is_link) return;
  mode_t mode = o.mode ? *o.mode : (st.st_mode & 07777);
  if (::fchmodat(dirfd, name, mode, 0) != 0) throw_errno(std::string("chmod ") + name);
}

void set_times(int dirfd, const char* name, const struct stat& st) {
  timespec ts[2] = {st.st_atim, st.st_mtim};
  ::utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

// Makes room for a new entry `name` in dirfd: an existing non-directory goes.
void clear_entry(int dirfd, const char* name, bool want_dir) {
  struct stat st;
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (!want_dir) throw Error(std::string("cannot copy a file onto directory ") + name, ErrorKind::InvalidArgument);
    return;
  }
  if (::unlinkat(dirfd, name, 0) != 0) throw_errno(std::string("replace ") + name);
}

void copy_data(int in, int out, const std::string& what) {
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) throw_errno("copy " + what);
    break;
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read " + what);
    if (n == 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_errno("write " + what);
      off += w;
    }
  }
}

void copy_file(int in, const struct stat& st, const std::string& rel, int dst_dir, const std::string& dst_name,
               const CopyOptions& o) {
  const char* dn = dst_name.c_str();
  clear_entry(dst_dir, dn, false);
  UniqueFd out(::openat(dst_dir, dn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) throw_errno("create " + dst_name);
  copy_data(in, out.get(), rel);
  own_and_mode(dst_dir, dn, st, o, false);
  set_times(dst_dir, dn, st);
}

// One entry `src_name` of directory src_dir (not followed if a symlink) to
// `dst_name` in dst_dir.
void copy_entry(const SourceTree& tree, int src_dir, const std::string& src_name, const std::string& rel, int dst_dir,
                const std::string& dst_name, const CopyOptions& o, const struct stat* given = nullptr);

void copy_dir_contents(const SourceTree& tree, int src_dir, const std::string& rel, int dst_dir, const CopyOptions& o) {
  for (auto& n : sorted_entries(src_dir, rel)) {
    std::string child = join_rel(rel, n);
    // An excluded directory may still hold exceptions ("!dir/keep").
    if (tree.excluded(child) && !tree.keeps_something_below(src_dir, n, child)) continue;
    copy_entry(tree, src_dir, n, child, dst_dir, n, o);
  }
}

void copy_entry(const SourceTree& tree, int src_dir, const std::string& src_name, const std::string& rel, int dst_dir,
                const std::string& dst_name, const CopyOptions& o, const struct stat* given) {
  struct stat st;
  if (given) st = *given;
  else if (::fstatat(src_dir, src_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat " + rel);
  const char* dn = dst_name.c_str();
  if (S_ISDIR(st.st_mode)) {
    clear_entry(dst_dir, dn, true);
    bool made = ::mkdirat(dst_dir, dn, 0700) == 0;
    if (!made && errno != EEXIST) throw_errno("mkdir " + dst_name);
    UniqueFd s(::openat(src_dir, src_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd d(::openat(dst_dir, dn, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) throw_errno("open " + rel);
    if (!d) throw_errno("open destination " + dst_name);
    copy_dir_contents(tree, s.get(), rel, d.get(), o);
    own_and_mode(dst_dir, dn, st, o, false);
    set_times(dst_dir, dn, st);
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd in(::openat(src_dir, src_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) throw_errno("open " + rel);
    copy_file(in.get(), st, rel, dst_dir, dst_name, o);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = ::readlinkat(src_dir, src_name.c_str(), target, PATH_MAX);
    if (n < 0) throw_errno("readlink " + rel);
    target[n] = 0;
    clear_entry(dst_dir, dn, false);
    if (::symlinkat(target, dst_dir, dn) != 0) throw_errno("symlink " + dst_name);
    own_and_mode(dst_dir, dn, st, o, true);
    set_times(dst_dir, dn, st);
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    clear_entry(dst_dir, dn, false);
    if (::mknodat(dst_dir, dn, st.st_mode, st.st_rdev) != 0) throw_errno("mknod " + dst_name);
    own_and_mode(dst_dir, dn, st, o, false);
  }
  // sockets are not copied
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  std::string c = clean_path(path);
  auto slash = c.rfind('/');
  if (slash == std::string::npos) return {"/", c};
  return {slash == 0 ? "/" : c.substr(0, slash), c.substr(slash + 1)};
}

}  // namespace

std::vector<std::string> SourceTree::resolve(const std::string& src) const {
  std::string rel = clean_path(src);
  if (!rel.empty() && rel[0] == '/') rel = clean_path(rel.substr(1));
  if (rel == ".." || rel.starts_with("../"))
    throw Error("forbidden path outside the build context: " + src, ErrorKind::InvalidArgument);
  if (!has_glob(rel)) {
    if (excluded(rel))
      throw Error("file not found in build context or excluded by .dockerignore: " + src, ErrorKind::NotFound);
    UniqueFd fd = engine::open_in_root(root_.get(), rel, O_PATH);
    if (!fd) {
      if (errno == ENOENT || errno == ENOTDIR)
        throw Error("file not found in build context or excluded by .dockerignore: " + src, ErrorKind::NotFound);
      throw_errno("open " + src);
    }
    return {rel};
  }
  std::vector<std::string> out;
  walk_glob(root_.get(), "", rel, out);
  if (out.empty()) throw Error("no source files were specified: no match for " + src, ErrorKind::NotFound);
  std::sort(out.begin(), out.end());
  return out;
}

void SourceTree::walk_glob(int dirfd, const std::string& rel, const std::string& pattern,
                           std::vector<std::string>& out) const {
  size_t depth = 1 + static_cast<size_t>(std::count(pattern.begin(), pattern.end(), '/'));
  size_t here = rel.empty() ? 0 : 1 + static_cast<size_t>(std::count(rel.begin(), rel.end(), '/'));
  for (auto& n : sorted_entries(dirfd, rel.empty() ? "." : rel)) {
    std::string child = join_rel(rel, n);
    if (excluded(child)) continue;
    if (glob_match(pattern, child)) {
      out.push_back(child);
      continue;
    }
    if (here + 1 >= depth) continue;
    UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub) walk_glob(sub.get(), child, pattern, out);
  }
}

bool SourceTree::keeps_something_below(int dirfd, const std::string& name, const std::string& rel) const {
  if (!ignore_.may_include_below(rel)) return false;
  UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) return false;
  for (auto& m : sorted_entries(sub.get(), rel)) {
    std::string c = join_rel(rel, m);
    if (!excluded(c) || keeps_something_below(sub.get(), m, c)) return true;
  }
  return false;
}

void SourceTree::digest(const std::string& rel, Sha256& h) const {
  UniqueFd fd = engine::open_in_root(root_.get(), rel, O_RDONLY);
  if (!fd) {
    fd = engine::open_in_root(root_.get(), rel, O_PATH);
    if (!fd) throw_errno("open " + rel);
  }
  digest_at(fd.get(), rel, h);
}

void SourceTree::digest_at(int fd, const std::string& rel, Sha256& h) const {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_errno("stat " + rel);
  std::string head = rel + '\0' + std::to_string(st.st_mode) + '\0';
  h.update(head);
  if (S_ISREG(st.st_mode)) {
    h.update(std::to_string(st.st_size) + '\0');
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read " + rel);
      if (n == 0) break;
      h.update(buf, static_cast<size_t>(n));
    }
  } else if (S_ISDIR(st.st_mode)) {
    for (auto& n : sorted_entries(fd, rel)) {
      std::string child = join_rel(rel, n);
      if (excluded(child) && !keeps_something_below(fd, n, child)) continue;
      struct stat cs;
      if (::fstatat(fd, n.c_str(), &cs, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat " + child);
      if (S_ISLNK(cs.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t k = ::readlinkat(fd, n.c_str(), target, PATH_MAX);
        if (k < 0) throw_errno("readlink " + child);
        h.update(child + '\0' + std::to_string(cs.st_mode) + '\0' + std::string(target, static_cast<size_t>(k)) + '\0');
        continue;
      }
      int flags = S_ISDIR(cs.st_mode) ? O_RDONLY | O_DIRECTORY : S_ISREG(cs.st_mode) ? O_RDONLY : O_PATH;
      UniqueFd c(::openat(fd, n.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
      if (!c) throw_errno("open " + child);
      digest_at(c.get(), child, h);
    }
  } else {
    h.update(std::to_string(st.st_rdev) + '\0');
  }
}

bool is_dir_in_root(int root, const std::string& path) {
  UniqueFd fd = engine::open_in_root(root, path, O_PATH);
  struct stat st;
  return fd && ::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode);
}

UniqueFd make_dirs_in_root(int root, const std::string& path, const CopyOptions& o) {
  std::string c = clean_path(path);
  std::string prefix = "/";
  UniqueFd cur = engine::open_in_root(root, "/", O_RDONLY | O_DIRECTORY);
  if (!cur) throw_errno("open the image's root");
  size_t start = 1;
  while (start < c.size()) {
    size_t slash = c.find('/', start);
    std::string comp = c.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? c.size() : slash + 1;
    prefix = prefix == "/" ? "/" + comp : prefix + "/" + comp;
    UniqueFd next = engine::open_in_root(root, prefix, O_RDONLY | O_DIRECTORY);
    if (!next) {
      if (errno == ENOTDIR) throw Error("cannot copy to non-directory: " + prefix, ErrorKind::InvalidArgument);
      if (errno != ENOENT) throw_errno("open " + prefix);
      if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir " + prefix);
      if (::fchownat(cur.get(), comp.c_str(), o.uid.value_or(0), o.gid.value_or(0), AT_SYMLINK_NOFOLLOW) != 0)
        throw_errno("chown " + prefix);
      next = engine::open_in_root(root, prefix, O_RDONLY | O_DIRECTORY);
      if (!next) throw_errno("open " + prefix);
    }
    cur = std::move(next);
  }
  return cur;
}

void copy_path(const SourceTree& src, const std::string& rel, int dest_root, const std::string& dest, bool dest_is_dir,
               const CopyOptions& o) {
  UniqueFd sfd = engine::open_in_root(src.root(), rel, O_PATH);
  if (!sfd) throw_errno("open " + rel);
  struct stat st;
  if (::fstat(sfd.get(), &st) != 0) throw_errno("stat " + rel);
  if (S_ISDIR(st.st_mode)) {
    UniqueFd s = engine::open_in_root(src.root(), rel, O_RDONLY | O_DIRECTORY);
    if (!s) throw_errno("open " + rel);
    UniqueFd d = make_dirs_in_root(dest_root, dest, o);
    copy_dir_contents(src, s.get(), rel, d.get(), o);
    return;
  }
  std::string parent, name;
  if (dest_is_dir) {
    parent = dest;
    name = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
  } else {
    std::tie(parent, name) = split_parent(dest);
  }
  UniqueFd d = make_dirs_in_root(dest_root, parent, o);
  // The source itself, named by the Dockerfile, is copied as what its
  // symlinks lead to inside the tree (docker follows a named source).
  if (!S_ISREG(st.st_mode)) throw Error("cannot copy " + rel + ": not a regular file or directory", ErrorKind::InvalidArgument);
  UniqueFd in = engine::open_in_root(src.root(), rel, O_RDONLY);
  if (!in) throw_errno("open " + rel);
  copy_file(in.get(), st, rel, d.get(), name, o);
}

void write_file_in_root(int dest_root, const std::string& dest, bool dest_is_dir, const std::string& name,
                        const std::string& content, const CopyOptions& o, mode_t mode, int64_t mtime) {
  std::string parent = dest, file = name;
  if (!dest_is_dir) std::tie(parent, file) = split_parent(dest);
  UniqueFd d = make_dirs_in_root(dest_root, parent, o);
  clear_entry(d.get(), file.c_str(), false);
  UniqueFd out(::openat(d.get(), file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) throw_errno("create " + file);
  for (size_t off = 0; off < content.size();) {
    ssize_t w = ::write(out.get(), content.data() + off, content.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw_errno("write " + file);
    off += static_cast<size_t>(w);
  }
  struct stat st{};
  st.st_mode = S_IFREG | mode;
  own_and_mode(d.get(), file.c_str(), st, o, false);
  if (mtime >= 0) {
    timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    if (::futimens(out.get(), ts) != 0) throw_errno("set the mtime of " + file);
  }
}

}  // namespace berth::build
