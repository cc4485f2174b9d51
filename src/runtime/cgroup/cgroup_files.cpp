// Control-file I/O shared by every controller: one open+write per file, and
// errors that name the OCI field the value came from.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/fd.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {
namespace {

int write_fd(int fd, const std::string& value) {
  for (;;) {
    ssize_t n = ::write(fd, value.data(), value.size());
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// Returns 0 or the errno of the failing open/write.
int try_write(int dirfd, const std::string& dir, const std::string& file, const std::string& value,
              OpenFile* cache) {
  if (cache && cache->fd >= 0 && cache->dir == dir && cache->file == file) return write_fd(cache->fd, value);
  UniqueFd fd(::openat(dirfd, file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  int err = write_fd(fd.get(), value);
  if (cache && err == 0) {
    if (cache->fd >= 0) ::close(cache->fd);
    cache->dir = dir;
    cache->file = file;
    cache->fd = fd.release();
  }
  return err;
}

void sleep_ms(int ms) {
  struct timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

OpenFile::~OpenFile() {
  if (fd >= 0) ::close(fd);
}

void write_control(int dirfd, const std::string& dir, const Write& w, OpenFile* cache) {
  int err = try_write(dirfd, dir, w.file, w.value, cache);
  std::string file = w.file;
  std::string value = w.value;
  if (err == ENOENT && !w.fallback_file.empty()) {
    file = w.fallback_file;
    value = w.fallback_value.empty() ? w.value : w.fallback_value;
    err = try_write(dirfd, dir, file, value, nullptr);
  }
  if (err == 0) return;
  std::string what = w.field + ": write \"" + value + "\" to " + dir + "/" + file;
  if (err == ENOENT) {
    // The directory exists (we made it), so the control file is what is
    // missing: the host's controller lacks this knob.
    std::string files = w.fallback_file.empty() ? w.file : w.file + " or " + w.fallback_file;
    throw Error(w.field + ": not supported on this host (" + dir + " has no " + files + ")",
                ErrorKind::Unsupported);
  }
  ErrorKind kind = ErrorKind::Internal;
  if (err == EINVAL || err == ERANGE || err == ENOSPC) kind = ErrorKind::InvalidArgument;
  if (err == EBUSY) kind = ErrorKind::FailedPrecondition;  // e.g. subtree_control with tasks in the parent
  if (err == EOPNOTSUPP || err == ENOTSUP || err == ENOSYS) kind = ErrorKind::Unsupported;
  throw Error(what, kind, err);
}

std::string read_control(const std::string& path) {
  std::string out = fs::read_file(path);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

void collect_pids(const std::string& dir, std::vector<pid_t>& out) {
  std::string procs;
  try {
    procs = read_control(dir + "/cgroup.procs");
  } catch (const Error& e) {
    if (e.errno_value() == ENOENT) return;  // removed while we walked
    throw;
  }
  const char* p = procs.data();
  const char* end = p + procs.size();
  while (p < end) {
    pid_t pid = 0;
    auto [next, ec] = std::from_chars(p, end, pid);
    if (ec == std::errc()) out.push_back(pid);
    p = next;
    while (p < end && (*p < '0' || *p > '9')) ++p;
  }
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    collect_pids(dir + "/" + e->d_name, out);
  }
  ::closedir(d);
}

void remove_cgroup_dir(const std::string& dir, int wait_ms) {
  int waited = 0;
  int step = 1;
  bool walked = false;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) throw_errno("remove cgroup " + dir);
    if (!walked) {
      // Sub-cgroups the container made itself go first (deepest first).
      walked = true;
      if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> subdirs;
        while (struct dirent* e = ::readdir(d))
          if (e->d_type == DT_DIR && e->d_name[0] != '.') subdirs.push_back(dir + "/" + e->d_name);
        ::closedir(d);
        for (const auto& s : subdirs) remove_cgroup_dir(s, wait_ms);
        if (!subdirs.empty()) continue;
      }
    }
    if (waited >= wait_ms) throw_errno("remove cgroup " + dir);
    // Tasks that were just killed leave the cgroup a moment later.
    sleep_ms(step);
    waited += step;
    step = std::min(step * 2, 50);
  }
}

}  // namespace berth::runtime::cgroups
