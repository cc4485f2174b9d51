// Terminals for container processes. The pty is opened *inside* the
// container (its own devpts instance), the master goes to the caller over
// the --console-socket (SCM_RIGHTS, as runc does), and the slave becomes the
// process's stdin/stdout/stderr and controlling terminal.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// Connects to the unix socket the caller listens on (--console-socket).
UniqueFd connect_console_socket(const std::string& path);

// Sends one fd with a name as the message body (runc/containerd format).
void send_fd(int sock, int fd, const std::string& name);
// Receives one fd sent by send_fd.
UniqueFd recv_fd(int sock);

// In the container process, after pivot_root: allocates the pty, sends the
// master over console_sock, makes the slave the controlling terminal and fds
// 0/1/2.
void setup_console(int console_sock, const std::optional<oci::ConsoleSize>& size);

// A local pty proxy for `run`/`exec` in the foreground with a terminal and no
// console socket: our stdin goes to the master, the master to our stdout.
// Our tty (if stdin is one) is raw while it runs.
class ConsoleProxy {
 public:
  ConsoleProxy() = default;
  ConsoleProxy(const ConsoleProxy&) = delete;
  ConsoleProxy& operator=(const ConsoleProxy&) = delete;
  ~ConsoleProxy();
  void start(UniqueFd master);
  int master_fd() const { return master_.get(); }
  int stdin_fd() const { return master_ && stdin_open_ ? 0 : -1; }
  void on_master_ready();  // copies master -> stdout; closes on hang-up
  void on_stdin_ready();   // copies stdin -> master
  void resize();           // SIGWINCH: our size to the pty
  void finish();           // drains the master and restores our tty

 private:
  UniqueFd master_;
  bool raw_ = false;
  bool stdin_open_ = true;
  termios saved_{};
};

}  // namespace berth::runtime
