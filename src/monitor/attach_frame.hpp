// The stream between a container's monitor and an attached client (`berth
// run` without -d, `attach`, `start -a`): frames with docker's 8-byte
// header (the Engine API's multiplexed-stream format), so `berth serve`
// can pass stdout/stderr frames through as they are.
//
//   byte 0: type, bytes 1-3: zero, bytes 4-7: payload length (big endian)
//
// monitor -> client: Stdout, Stderr (data), Exit (decimal exit code; the
// monitor closes the stream after it). client -> monitor: Stdin (data),
// CloseStdin, Resize ("ROWS COLS"), Signal (decimal signal number).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::monitor {

enum class Frame : uint8_t {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  Exit = 3,
  CloseStdin = 4,
  Resize = 5,
  Signal = 6,
};

constexpr size_t kFrameHeader = 8;
constexpr size_t kMaxFramePayload = 1 << 20;

std::string encode_frame(Frame type, std::string_view payload);

// Accumulates bytes and yields whole frames.
class FrameReader {
 public:
  void feed(const char* data, size_t n) { buf_.append(data, n); }
  // The next whole frame, if one is buffered. A length over
  // kMaxFramePayload throws berth::Error(Corrupt).
  bool next(Frame* type, std::string* payload);

 private:
  std::string buf_;
};

// Writes all of `data` to a (possibly non-blocking) fd, waiting in poll
// when it is full; false if the peer is gone.
bool write_all(int fd, std::string_view data);

}  // namespace berth::monitor
