#include "runtime/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace berth::runtime {

UniqueFd connect_console_socket(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("console socket: socket");
  struct sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) fail("--console-socket " + path + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    throw_errno("connect to --console-socket " + path);
  return s;
}

void send_fd(int sock, int fd, const std::string& name) {
  struct msghdr msg{};
  std::string body = name.empty() ? std::string("fd") : name;
  struct iovec iov = {body.data(), body.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    // name is the terminal, an idmapped tree, or a JSON message (seccomp).
    if (errno != EINTR)
      throw_errno("send " + (body.size() <= 32 ? body : std::string("a file descriptor")) + " over a unix socket");
  }
}

UniqueFd recv_fd(int sock) {
  char body[4096];
  struct iovec iov = {body, sizeof body};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) throw_errno("receive the terminal from the container");
  }
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (n == 0 || !c || c->cmsg_type != SCM_RIGHTS) fail("no terminal received from the container", ErrorKind::Internal);
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return UniqueFd(fd);
}

void setup_console(int console_sock, const std::optional<oci::ConsoleSize>& size) {
  int m = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) m = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) throw_errno("process.terminal: open /dev/pts/ptmx in the container");
  UniqueFd master(m);
  if (::unlockpt(master.get()) < 0) throw_errno("process.terminal: unlockpt");
  // TIOCGPTPEER opens the slave through the master, so no path lookup in a
  // mount tree the container controls.
  int s = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno("process.terminal: ptsname");
    s = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) throw_errno(std::string("process.terminal: open ") + name);
  }
  UniqueFd slave(s);
  if (size && size->width && size->height) {
    struct winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    ::ioctl(master.get(), TIOCSWINSZ, &ws);
  }
  send_fd(console_sock, master.get(), "/dev/ptmx");
  master.reset();
  if (::setsid() < 0 && errno != EPERM) throw_errno("process.terminal: setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) throw_errno("process.terminal: make the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) throw_errno("process.terminal: dup2 pty slave");
}

void ConsoleProxy::start(UniqueFd master) {
  master_ = std::move(master);
  if (::isatty(0) && ::tcgetattr(0, &saved_) == 0) {
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    raw_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  resize();
}

void ConsoleProxy::resize() {
  struct winsize ws{};
  if (master_ && ::isatty(0) && ::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master_.get(), TIOCSWINSZ, &ws);
}

static bool copy(int from, int to) {
  char buf[8192];
  ssize_t n;
  while ((n = ::read(from, buf, sizeof buf)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return true;
    }
    off += w;
  }
  return true;
}

void ConsoleProxy::on_master_ready() {
  if (master_ && !copy(master_.get(), 1)) master_.reset();
}

void ConsoleProxy::on_stdin_ready() {
  if (!master_ || !stdin_open_) return;
  if (!copy(0, master_.get())) {
    stdin_open_ = false;
    // End of our input: the terminal's EOF character (VEOF, ^D) for the process.
    char eot = 4;
    [[maybe_unused]] ssize_t n = ::write(master_.get(), &eot, 1);
  }
}

void ConsoleProxy::finish() {
  if (master_) {
    int fl = ::fcntl(master_.get(), F_GETFL);
    ::fcntl(master_.get(), F_SETFL, fl | O_NONBLOCK);
    while (copy(master_.get(), 1)) {
    }
    master_.reset();
  }
  if (raw_) ::tcsetattr(0, TCSANOW, &saved_);
  raw_ = false;
}

ConsoleProxy::~ConsoleProxy() { finish(); }

}  // namespace berth::runtime
