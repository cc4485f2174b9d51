#include "cli/commands/attach_session.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/raw_terminal.hpp"
#include "monitor/attach_frame.hpp"

namespace berth::cli {

namespace {

using monitor::Frame;

// "ctrl-p,ctrl-q" -> {0x10, 0x11}; docker's notation (ctrl-a..ctrl-z,
// ctrl-@, ctrl-[ ... or single characters).
std::string parse_keys(const std::string& spec) {
  std::string out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string k = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (k.size() == 1) {
      out += k;
    } else if (k.rfind("ctrl-", 0) == 0 && k.size() == 6) {
      char c = k[5];
      if (c >= 'a' && c <= 'z') out += static_cast<char>(c - 'a' + 1);
      else if (c == '@') out += '\0';
      else if (c >= '[' && c <= '_') out += static_cast<char>(c - '[' + 27);
      else throw Error("Invalid detach keys (" + spec + ") provided", ErrorKind::InvalidArgument);
    } else if (!k.empty()) {
      throw Error("Invalid detach keys (" + spec + ") provided", ErrorKind::InvalidArgument);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void send_resize(int sock) {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return;
  monitor::write_all(sock, monitor::encode_frame(Frame::Resize, std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col)));
}

}  // namespace

int attach_session(int sock, const AttachOptions& o) {
  std::string keys = o.tty ? parse_keys(o.detach_keys) : "";
  sigset_t set, old;
  sigemptyset(&set);
  std::vector<int> proxied;
  if (o.tty) sigaddset(&set, SIGWINCH);
  if (o.sig_proxy && !o.tty)
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  std::optional<RawTerminal> raw;
  if (o.tty && o.forward_stdin) raw.emplace(STDIN_FILENO);
  if (o.tty) send_resize(sock);

  bool stdin_open = o.forward_stdin;
  size_t matched = 0;  // how much of the detach sequence was typed
  monitor::FrameReader reader;
  int result = kAttachLost;
  for (bool done = false; !done;) {
    pollfd p[3] = {{sock, POLLIN, 0}, {sfd.get(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH)
          send_resize(sock);
        else
          monitor::write_all(sock, monitor::encode_frame(Frame::Signal, std::to_string(si.ssi_signo)));
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        stdin_open = false;
        monitor::write_all(sock, monitor::encode_frame(Frame::CloseStdin, ""));
      } else {
        std::string data(buf, static_cast<size_t>(n));
        if (!keys.empty()) {
          // Hold back a partial detach sequence; send it if it goes no further.
          std::string out;
          for (char c : data) {
            if (c == keys[matched]) {
              if (++matched == keys.size()) {
                result = kAttachDetached;
                done = true;
                break;
              }
              continue;
            }
            out += keys.substr(0, matched);
            matched = 0;
            out += c;
          }
          data = out;
        }
        if (!data.empty()) monitor::write_all(sock, monitor::encode_frame(Frame::Stdin, data));
        if (done) break;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::read(sock, buf, sizeof buf);
      if (n <= 0) break;
      reader.feed(buf, static_cast<size_t>(n));
      Frame type;
      std::string payload;
      while (reader.next(&type, &payload)) {
        if (type == Frame::Stdout) monitor::write_all(STDOUT_FILENO, payload);
        else if (type == Frame::Stderr) monitor::write_all(STDERR_FILENO, payload);
        else if (type == Frame::Exit) {
          result = std::atoi(payload.c_str());
          done = true;
        }
      }
    }
  }
  raw.reset();
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return result;
}

}  // namespace berth::cli
