#include "net/netns.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "common/error.hpp"

namespace berth::net {

bool is_netns(const std::string& path) {
  struct statfs s{};
  return ::statfs(path.c_str(), &s) == 0 && s.f_type == NSFS_MAGIC;
}

void create_netns(const std::string& path) {
  if (is_netns(path)) throw Error("network namespace " + path + " exists", ErrorKind::AlreadyExists);
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444));
  if (!f) throw_errno("create " + path);
  f.reset();
  // unshare() in a thread of our own: only that thread changes namespace,
  // and its nsfs file is bound before it ends.
  int err = 0;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    std::string self = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
    if (::mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) err = errno;
  });
  t.join();
  if (err) {
    ::unlink(path.c_str());
    throw_errno("make network namespace " + path, err);
  }
}

bool remove_netns(const std::string& path) {
  bool was = is_netns(path);
  if (was && ::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) throw_errno("unmount " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + path);
  return was;
}

UniqueFd open_netns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open network namespace " + path);
  return fd;
}

}  // namespace berth::net
