#include "image/layer_unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <dirent.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"

namespace berth::image {

// libarchive's message for the last error, which is null when the stream
// just ended (found by tests/fuzz/layer_unpack: a gzip layer holding
// nothing made std::string(nullptr) crash).
static const char* archive_why(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unexpected end of the archive";
}

namespace {

constexpr size_t kReadBlock = 1 << 20;

// The uncompressed tar byte stream, hashed as libarchive pulls it.
// Uncompressed input is read straight from the fd; compressed input goes
// through a second libarchive reader (raw format + all filters) first.
struct Source {
  int fd = -1;
  archive* outer = nullptr;
  std::vector<char> buf = std::vector<char>(kReadBlock);
  Sha256 hash;
  int64_t total = 0;
  bool eof = false;
  std::string error;

  ~Source() {
    if (outer) archive_read_free(outer);
  }

  ssize_t pull(const void** out) {
    if (eof) return 0;
    ssize_t n;
    if (outer) {
      n = archive_read_data(outer, buf.data(), buf.size());
      if (n < 0) {
        error = std::string("decompress: ") + archive_why(outer);
        return -1;
      }
    } else {
      do n = ::read(fd, buf.data(), buf.size());
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        error = std::string("read layer: ") + std::strerror(errno);
        return -1;
      }
    }
    if (n == 0) eof = true;
    hash.update(buf.data(), n);
    total += n;
    *out = buf.data();
    return n;
  }
};

la_ssize_t source_read(archive* a, void* client, const void** out) {
  auto* s = static_cast<Source*>(client);
  ssize_t n = s->pull(out);
  if (n < 0) archive_set_error(a, EIO, "%s", s->error.c_str());
  return n;
}

// Decides from the first bytes whether the layer is compressed.
bool looks_compressed(int fd) {
  unsigned char m[6];
  ssize_t n = ::pread(fd, m, sizeof m, 0);
  if (n < 0) return true;  // a pipe: let libarchive sniff
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return true;                                 // gzip
  if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) return true;  // zstd
  if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') return true;                     // bzip2
  if (n >= 6 && m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X') return true;     // xz
  return false;
}

struct ArchiveReader {
  archive* a = archive_read_new();
  ~ArchiveReader() { archive_read_free(a); }
};

// A path from a tar entry, checked and split. Leading "./" and "/" are
// handled by the caller's policy: absolute paths and ".." are refused.
struct EntryPath {
  std::string parent;  // "" for the layer root
  std::string base;
};

class Unpacker {
 public:
  Unpacker(const std::string& dest, const UnpackOptions& opts) : dest_(dest), opts_(opts) {
    root_.reset(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_) throw_errno("open layer directory " + dest);
    mode_t old = ::umask(0);
    ::umask(old);
    umask_ = old;
    euid_root_ = ::geteuid() == 0;
  }

  void entry(archive* a, archive_entry* e, UnpackResult& res);
  void finish();

 private:
  [[noreturn]] void refuse(const std::string& name, const std::string& why, ErrorKind k = ErrorKind::InvalidArgument) {
    throw Error("entry \"" + name + "\": " + why, k);
  }
  [[noreturn]] void refuse_errno(const std::string& name, const std::string& what) {
    throw Error("entry \"" + name + "\": " + what, ErrorKind::Internal, errno);
  }
  EntryPath split(const std::string& raw, const std::string& shown);
  int parent_fd(const std::string& parent, const std::string& shown);
  UniqueFd open_dir(const std::string& rel, const std::string& shown, bool create);
  void remove_existing(int dirfd, const std::string& base, const std::string& shown, bool keep_dir);
  void set_xattrs(archive_entry* e, int fd, int dirfd, const std::string& base, const std::string& shown);
  void set_owner(int dirfd, const std::string& base, archive_entry* e, const std::string& shown, int fd = -1);

  std::string dest_;
  UnpackOptions opts_;
  UniqueFd root_;
  mode_t umask_;
  bool euid_root_;
  // A small cache of parent directory fds: tar streams visit one directory
  // at a time, so this saves a path walk per entry.
  struct CachedDir {
    std::string path;
    UniqueFd fd;
    bool setgid = false;
    uint64_t use = 0;
  };
  std::array<CachedDir, 16> cache_;
  uint64_t tick_ = 0;
  bool parent_setgid_ = false;
  struct DirTimes {
    std::string path;
    timespec times[2];
  };
  std::vector<DirTimes> dir_times_;
};

EntryPath Unpacker::split(const std::string& raw, const std::string& shown) {
  if (raw.empty()) refuse(shown, "empty path");
  if (raw.front() == '/') refuse(shown, "absolute path (would be written outside the layer)");
  std::vector<std::string_view> parts;
  std::string_view s = raw;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t next = s.find('/', pos);
    if (next == std::string_view::npos) next = s.size();
    auto c = s.substr(pos, next - pos);
    if (c == "..") refuse(shown, "path contains \"..\" (would escape the layer)");
    if (!c.empty() && c != ".") parts.push_back(c);
    pos = next + 1;
  }
  EntryPath p;
  if (parts.empty()) return p;  // the layer root itself
  p.base = std::string(parts.back());
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (i) p.parent += '/';
    p.parent += parts[i];
  }
  return p;
}

static long openat2_call(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.resolve = resolve;
  return ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

UniqueFd Unpacker::open_dir(const std::string& rel, const std::string& shown, bool create) {
  if (rel.empty()) return UniqueFd(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
  long fd = openat2_call(root_.get(), rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  int err = errno;
  if (err != ENOENT && err != ENOSYS) {
    errno = err;
    if (err == ELOOP) refuse(shown, "parent \"" + rel + "\" is a symlink (refusing to write through it)");
    if (err == ENOTDIR) refuse(shown, "parent \"" + rel + "\" is not a directory");
    if (err == EXDEV) refuse(shown, "parent \"" + rel + "\" leaves the layer");
    refuse_errno(shown, "open parent \"" + rel + "\"");
  }
  // Walk one component at a time (creating missing parents, as tar does),
  // never following a symlink.
  UniqueFd cur(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t next = rel.find('/', pos);
    if (next == std::string::npos) next = rel.size();
    std::string c = rel.substr(pos, next - pos);
    int nfd = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST)
        refuse_errno(shown, "create parent \"" + rel.substr(0, next) + "\"");
      nfd = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (nfd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        struct stat st;
        if (::fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
          refuse(shown, "parent \"" + rel.substr(0, next) + "\" is a symlink (refusing to write through it)");
        refuse(shown, "parent \"" + rel.substr(0, next) + "\" is not a directory");
      }
      refuse_errno(shown, "open parent \"" + rel.substr(0, next) + "\"");
    }
    cur.reset(nfd);
    pos = next + 1;
  }
  return cur;
}

int Unpacker::parent_fd(const std::string& parent, const std::string& shown) {
  ++tick_;
  CachedDir* victim = &cache_[0];
  for (auto& c : cache_) {
    if (c.fd && c.path == parent) {
      c.use = tick_;
      parent_setgid_ = c.setgid;
      return c.fd.get();
    }
    if (c.use < victim->use) victim = &c;
  }
  victim->fd = open_dir(parent, shown, true);
  victim->path = parent;
  victim->use = tick_;
  struct stat st;
  victim->setgid = ::fstat(victim->fd.get(), &st) == 0 && (st.st_mode & S_ISGID);
  parent_setgid_ = victim->setgid;
  return victim->fd.get();
}

// Removes what is at dirfd/base so an entry can take its place. A directory
// stays when the new entry is a directory too (tar merges them).
void Unpacker::remove_existing(int dirfd, const std::string& base, const std::string& shown, bool keep_dir) {
  struct stat st;
  if (::fstatat(dirfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    refuse_errno(shown, "stat existing");
  }
  if (S_ISDIR(st.st_mode)) {
    if (keep_dir) return;
    // Replacing a directory: empty it first, without following symlinks.
    int fd = ::openat(dirfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) refuse_errno(shown, "open existing directory");
    DIR* d = ::fdopendir(fd);
    std::vector<std::string> names;
    while (auto* de = ::readdir(d))
      if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
    for (auto& n : names) remove_existing(::dirfd(d), n, shown, false);
    ::closedir(d);
    // Cached fds may point into what we delete.
    for (auto& c : cache_) c.fd.reset(), c.path.clear(), c.use = 0;
    if (::unlinkat(dirfd, base.c_str(), AT_REMOVEDIR) != 0) refuse_errno(shown, "remove existing directory");
    return;
  }
  if (::unlinkat(dirfd, base.c_str(), 0) != 0) refuse_errno(shown, "remove existing file");
}

void Unpacker::set_xattrs(archive_entry* e, int fd, int dirfd, const std::string& base, const std::string& shown) {
  if (archive_entry_xattr_reset(e) == 0) return;
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n = name;
    // Overlay's own attributes (redirect, metacopy, opaque) come only from
    // OCI whiteout entries, never from a layer's xattrs.
    if (n.starts_with("trusted.overlay.")) continue;
    int r;
    if (fd >= 0) {
      r = ::fsetxattr(fd, name, value, size, 0);
    } else {
      std::string p = "/proc/self/fd/" + std::to_string(dirfd) + "/" + base;
      r = ::lsetxattr(p.c_str(), name, value, size, 0);
    }
    if (r != 0) {
      if (errno == EOPNOTSUPP || (errno == EPERM && n.starts_with("user."))) continue;
      refuse_errno(shown, "set xattr " + std::string(name));
    }
  }
}

void Unpacker::set_owner(int dirfd, const std::string& base, archive_entry* e, const std::string& shown, int fd) {
  if (!opts_.same_owner) return;
  uid_t uid = archive_entry_uid(e);
  gid_t gid = archive_entry_gid(e);
  // Root creating a file already owns it as 0:0 unless the directory is setgid.
  if (uid == 0 && gid == 0 && euid_root_ && !parent_setgid_) return;
  int r = fd >= 0 ? ::fchown(fd, uid, gid) : ::fchownat(dirfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
  if (r != 0) {
    if (errno == EPERM && !euid_root_) return;
    refuse_errno(shown, "chown " + std::to_string(uid) + ":" + std::to_string(gid));
  }
}

static void entry_times(archive_entry* e, timespec t[2]) {
  t[1].tv_sec = archive_entry_mtime(e);
  t[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    t[0].tv_sec = archive_entry_atime(e);
    t[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    t[0] = t[1];
  }
}

void Unpacker::entry(archive* a, archive_entry* e, UnpackResult& res) {
  const char* pn = archive_entry_pathname(e);
  if (!pn) fail("entry with an unreadable path name");
  std::string shown = pn;
  EntryPath p = split(shown, shown);
  ++res.entries;
  const char* hl = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  mode_t mode = archive_entry_perm(e) & 07777;
  timespec times[2];
  entry_times(e, times);

  if (p.base.empty()) {  // "./": the layer root; its metadata is the image's business
    return;
  }
  int dfd = parent_fd(p.parent, shown);

  if (p.base.starts_with(".wh.")) {
    if (p.base == ".wh..wh..opq") {
      if (::fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) != 0)
        refuse_errno(shown, "mark directory opaque (trusted.overlay.opaque)");
      return;
    }
    if (p.base.starts_with(".wh..wh.")) return;  // aufs metadata (.wh..wh.plnk etc.)
    std::string victim = p.base.substr(4);
    if (victim.empty() || victim == "." || victim == "..")
      refuse(shown, "whiteout names \"" + victim + "\" (would delete outside its directory)");
    remove_existing(dfd, victim, shown, false);
    if (::mknodat(dfd, victim.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
      refuse_errno(shown, "create whiteout device for \"" + victim + "\"");
    return;
  }

  if (hl) {
    std::string link_shown = hl;
    EntryPath t;
    try {
      t = split(hl, shown);
    } catch (Error& err) {
      refuse(shown, "hardlink target \"" + link_shown + "\": " + err.message().substr(err.message().find(": ") + 2));
    }
    if (t.base.empty()) refuse(shown, "hardlink to the layer root");
    UniqueFd tdir;
    try {
      tdir = open_dir(t.parent, shown, false);
    } catch (const Error& err) {
      if (err.errno_value() == ENOENT) refuse(shown, "hardlink target \"" + link_shown + "\" does not exist in this layer");
      throw;
    }
    struct stat st;
    if (::fstatat(tdir.get(), t.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      refuse(shown, "hardlink target \"" + link_shown + "\" does not exist in this layer");
    if (S_ISDIR(st.st_mode)) refuse(shown, "hardlink target \"" + link_shown + "\" is a directory");
    remove_existing(dfd, p.base, shown, false);
    if (::linkat(tdir.get(), t.base.c_str(), dfd, p.base.c_str(), 0) != 0)
      refuse_errno(shown, "hardlink to \"" + link_shown + "\"");
    return;
  }

  switch (type) {
    case AE_IFDIR: {
      if (::mkdirat(dfd, p.base.c_str(), 0700) != 0) {
        if (errno != EEXIST) refuse_errno(shown, "mkdir");
        struct stat st;
        if (::fstatat(dfd, p.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) refuse_errno(shown, "stat");
        if (!S_ISDIR(st.st_mode)) {
          remove_existing(dfd, p.base, shown, false);
          if (::mkdirat(dfd, p.base.c_str(), 0700) != 0) refuse_errno(shown, "mkdir");
        }
      }
      set_owner(dfd, p.base, e, shown);
      if (::fchmodat(dfd, p.base.c_str(), mode, 0) != 0) refuse_errno(shown, "chmod");
      if (archive_entry_xattr_count(e) > 0) {
        UniqueFd fd(::openat(dfd, p.base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) refuse_errno(shown, "open directory");
        set_xattrs(e, fd.get(), dfd, p.base, shown);
      }
      std::string full = p.parent.empty() ? p.base : p.parent + "/" + p.base;
      dir_times_.push_back({full, {times[0], times[1]}});
      return;
    }
    case AE_IFREG: {
      int fd = ::openat(dfd, p.base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd < 0 && errno == EEXIST) {
        remove_existing(dfd, p.base, shown, false);
        fd = ::openat(dfd, p.base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      }
      if (fd < 0) refuse_errno(shown, "create file");
      UniqueFd f(fd);
      const void* buf;
      size_t len;
      la_int64_t off;
      int64_t pos = 0;
      for (;;) {
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) refuse(shown, std::string("read data: ") + archive_why(a), ErrorKind::Corrupt);
        const char* c = static_cast<const char*>(buf);
        if (off != pos) {
          if (::lseek(fd, off, SEEK_SET) < 0) refuse_errno(shown, "seek");
          pos = off;
        }
        while (len) {
          ssize_t w = ::write(fd, c, len);
          if (w < 0) {
            if (errno == EINTR) continue;
            refuse_errno(shown, "write");
          }
          c += w;
          len -= w;
          pos += w;
        }
      }
      int64_t size = archive_entry_size(e);
      if (pos < size && ::ftruncate(fd, size) != 0) refuse_errno(shown, "extend sparse file");
      res.content_size += size;
      set_owner(dfd, p.base, e, shown, fd);
      // open() applied the umask and chown cleared set-id bits: fix only then.
      bool need_chmod = (mode & umask_) != 0 ||
                        ((mode & (S_ISUID | S_ISGID)) && !(archive_entry_uid(e) == 0 && archive_entry_gid(e) == 0 && !parent_setgid_));
      if (need_chmod && ::fchmod(fd, mode) != 0) refuse_errno(shown, "chmod");
      set_xattrs(e, fd, dfd, p.base, shown);
      if (::futimens(fd, times) != 0) refuse_errno(shown, "set times");
      return;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) refuse(shown, "symlink without a target");
      // The target is only data: nothing in unpack ever follows it.
      if (::symlinkat(target, dfd, p.base.c_str()) != 0) {
        if (errno != EEXIST) refuse_errno(shown, "create symlink");
        remove_existing(dfd, p.base, shown, false);
        if (::symlinkat(target, dfd, p.base.c_str()) != 0) refuse_errno(shown, "create symlink");
      }
      set_owner(dfd, p.base, e, shown);
      set_xattrs(e, -1, dfd, p.base, shown);
      if (::utimensat(dfd, p.base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) refuse_errno(shown, "set times");
      return;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (::mknodat(dfd, p.base.c_str(), type | mode, dev) != 0) {
        if (errno != EEXIST) refuse_errno(shown, "mknod");
        remove_existing(dfd, p.base, shown, false);
        if (::mknodat(dfd, p.base.c_str(), type | mode, dev) != 0) refuse_errno(shown, "mknod");
      }
      set_owner(dfd, p.base, e, shown);
      if (::fchmodat(dfd, p.base.c_str(), mode, 0) != 0) refuse_errno(shown, "chmod");
      set_xattrs(e, -1, dfd, p.base, shown);
      if (::utimensat(dfd, p.base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) refuse_errno(shown, "set times");
      return;
    }
    case AE_IFSOCK:
      return;  // sockets are not content
    default:
      refuse(shown, "unknown entry type " + std::to_string(type));
  }
}

void Unpacker::finish() {
  // Directory times last: creating entries inside a directory changes its mtime.
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    long fd = openat2_call(root_.get(), it->path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    if (fd < 0) continue;  // replaced by a later entry
    ::futimens(static_cast<int>(fd), it->times);
    ::close(static_cast<int>(fd));
  }
}

}  // namespace

namespace {

void open_source(Source& src, int in_fd) {
  src.fd = in_fd;
  if (!looks_compressed(in_fd)) return;
  src.outer = archive_read_new();
  archive_read_support_filter_all(src.outer);
  archive_read_support_format_raw(src.outer);
  if (archive_read_open_fd(src.outer, in_fd, kReadBlock) != ARCHIVE_OK)
    throw Error(std::string("open compressed layer: ") + archive_why(src.outer), ErrorKind::Corrupt);
  archive_entry* oe;
  if (archive_read_next_header(src.outer, &oe) != ARCHIVE_OK)
    throw Error(std::string("decompress layer: ") + archive_why(src.outer), ErrorKind::Corrupt);
}

// Pulls what is left of the stream, so the hash covers all of it.
void drain(Source& src) {
  const void* dummy;
  for (;;) {
    ssize_t n = src.pull(&dummy);
    if (n < 0) throw Error(src.error, ErrorKind::Corrupt);
    if (n == 0) break;
  }
}

}  // namespace

UnpackResult unpack_layer(int in_fd, const std::string& dest, const UnpackOptions& opts) {
  Source src;
  open_source(src, in_fd);
  ArchiveReader r;
  archive_read_support_format_tar(r.a);
  archive_read_support_format_gnutar(r.a);
  if (archive_read_open(r.a, &src, nullptr, source_read, nullptr) != ARCHIVE_OK)
    throw Error(std::string("read layer: ") + archive_why(r.a), ErrorKind::Corrupt);
  Unpacker u(dest, opts);
  UnpackResult res;
  archive_entry* e;
  for (;;) {
    int rc = archive_read_next_header(r.a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      // An empty layer is a valid (if odd) layer.
      if (res.entries == 0 && src.eof && src.total == 0) break;
      throw Error(std::string("read layer tar: ") + archive_why(r.a), ErrorKind::Corrupt);
    }
    u.entry(r.a, e, res);
  }
  u.finish();
  // The diff-id covers the whole stream, including padding after the end
  // marker that libarchive does not need to read.
  drain(src);
  res.diff_id = src.hash.digest();
  res.tar_size = src.total;
  return res;
}

std::string layer_diff_id(int in_fd) {
  Source src;
  open_source(src, in_fd);
  drain(src);
  return src.hash.digest();
}

}  // namespace berth::image
