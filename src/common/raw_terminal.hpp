// A terminal in raw mode for as long as the object lives (a VM's serial
// console, `berth vm console`); a no-op when the fd is not a terminal.
#pragma once

#include <termios.h>
#include <unistd.h>

namespace berth {

// Ctrl-]: leaves a console (detaches, or stops a foreground VM).
constexpr char kConsoleEscapeKey = 0x1d;

class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace berth
