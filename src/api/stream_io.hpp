// Writing docker's streams to a client connection: raw bytes (a tty) or
// the 8-byte multiplexed frames (monitor/attach_frame.hpp, the same
// format), and proxying a hijacked connection.
#pragma once

#include <string>
#include <string_view>

namespace berth::api {

// False once the client is gone.
bool send_all(int fd, std::string_view data);
// stream 1 stdout, 2 stderr
bool send_frame(int fd, int stream, std::string_view data);

// Bytes for an fd whose reader may itself be waiting for this thread to
// read its output (a container's stdin, a monitor's attach socket): never
// a blocking write, which deadlocked `docker run -i`/`exec -i` of more
// than the pipes hold. The fd is made non-blocking; what it does not take
// waits here for POLLOUT (wants_out) and flush(). A caller stops reading
// its own source while something waits, so this holds one read at most.
class Outbox {
 public:
  explicit Outbox(int fd);
  void push(std::string_view d) { buf_.append(d); }
  // False once the reader is gone (what waited is dropped).
  bool flush();
  bool empty() const { return buf_.empty(); }

 private:
  int fd_;
  std::string buf_;
};

}  // namespace berth::api
