#include "monitor/attach_frame.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"

namespace berth::monitor {

std::string encode_frame(Frame type, std::string_view payload) {
  std::string f(kFrameHeader, '\0');
  f[0] = static_cast<char>(type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  f.append(payload);
  return f;
}

bool FrameReader::next(Frame* type, std::string* payload) {
  if (buf_.size() < kFrameHeader) return false;
  auto b = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf_[i])); };
  uint32_t n = b(4) << 24 | b(5) << 16 | b(6) << 8 | b(7);
  if (n > kMaxFramePayload)
    throw Error("attach stream: frame of " + std::to_string(n) + " bytes (at most " +
                    std::to_string(kMaxFramePayload) + ")",
                ErrorKind::Corrupt);
  if (buf_.size() < kFrameHeader + n) return false;
  *type = static_cast<Frame>(buf_[0]);
  payload->assign(buf_, kFrameHeader, n);
  buf_.erase(0, kFrameHeader + n);
  return true;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w > 0) {
      data.remove_prefix(static_cast<size_t>(w));
    } else if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;  // a client that stopped reading is dropped
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace berth::monitor
