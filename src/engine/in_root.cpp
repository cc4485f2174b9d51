#include "engine/in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.hpp"

namespace berth::engine {

UniqueFd open_in_root(int root_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  size_t skip = path.find_first_not_of('/');
  std::string rel = skip == std::string::npos ? "." : path.substr(skip);
  return UniqueFd(static_cast<int>(::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how)));
}

std::string executable_dir() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) throw_errno("find the berth executable (/proc/self/exe)");
  std::string p(self, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace berth::engine
