#include "api/stream_io.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>

#include "monitor/attach_frame.hpp"

namespace berth::api {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool send_frame(int fd, int stream, std::string_view data) {
  return send_all(fd, monitor::encode_frame(stream == 2 ? monitor::Frame::Stderr : monitor::Frame::Stdout, data));
}

Outbox::Outbox(int fd) : fd_(fd) {
  if (fd_ >= 0) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

bool Outbox::flush() {
  while (!buf_.empty()) {
    ssize_t n = ::write(fd_, buf_.data(), buf_.size());
    if (n > 0) {
      buf_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    buf_.clear();
    return false;
  }
  return true;
}

}  // namespace berth::api
