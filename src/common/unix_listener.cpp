#include "common/unix_listener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include "common/error.hpp"

namespace berth {

namespace {

sockaddr_un address(const std::string& path, const std::string& what) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path)
    fail(what + " path '" + path + "' must be 1 to " + std::to_string(sizeof sa.sun_path - 1) + " bytes long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

// Something is at the path: a socket nobody listens on may go; anything
// else is not ours to remove.
void clear_stale(const std::string& path, const sockaddr_un& sa, const std::string& what) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode))
    fail(what + " " + path + " already exists and is not a socket", ErrorKind::AlreadyExists);
  UniqueFd probe(static_cast<int>(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket for " + what)));
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0)
    fail(what + " " + path + " is in use (another process listens on it)", ErrorKind::FailedPrecondition);
  check(::unlink(path.c_str()), "remove stale " + what + " " + path);
}

}  // namespace

UnixListener::UnixListener(std::string path, const std::string& what) : path_(std::move(path)) {
  sockaddr_un sa = address(path_, what);
  clear_stale(path_, sa, what);
  fd_.reset(static_cast<int>(
      check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket for " + what)));
  check(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "bind " + what + " " + path_);
  // From here on the file is ours: a failure below must remove it.
  try {
    check(::chmod(path_.c_str(), 0600), "chmod " + what + " " + path_);
    check(::listen(fd_.get(), 4), "listen on " + what + " " + path_);
  } catch (...) {
    ::unlink(path_.c_str());
    throw;
  }
}

UnixListener::~UnixListener() {
  if (fd_) ::unlink(path_.c_str());
}

UniqueFd UnixListener::accept() const {
  return UniqueFd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
}

}  // namespace berth
