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

}  // namespace berth::api
