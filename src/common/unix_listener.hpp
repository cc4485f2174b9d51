// A listening unix stream socket at a path, removed again when its owner
// ends. A stale socket file (nobody listening) is replaced; one another
// process listens on is refused, as is a path that is not a socket.
#pragma once

#include <string>

#include "common/fd.hpp"

namespace berth {

class UnixListener {
 public:
  // Binds and listens (non-blocking, mode 0600); throws a berth::Error
  // naming `what` ("channel socket") and the path.
  UnixListener(std::string path, const std::string& what);
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // The next pending connection (non-blocking, close-on-exec), or none.
  UniqueFd accept() const;

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace berth
