#include "monitor/runtime_call.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"

namespace berth::monitor {

namespace {

constexpr const char* kRuntimeLog = "runtime.log";
constexpr const char* kConsoleSocket = "console.sock";

std::vector<std::string> runtime_argv(const Options& o) {
  std::vector<std::string> a = {o.runtime};
  a.insert(a.end(), o.runtime_args.begin(), o.runtime_args.end());
  a.insert(a.end(), {"--log", kRuntimeLog, "--log-format", "json"});
  return a;
}

pid_t spawn(const std::vector<std::string>& argv, int in, int out, int err, int fd3 = -1) {
  return spawn_process(argv, {in, out, err, fd3});
}

int wait_for(pid_t pid) { return wait_process(pid); }

UniqueFd receive_fd(int sock) {
  char data[1];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) throw_errno("receive the container's terminal");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return UniqueFd(fd);
    }
  fail("the runtime sent no terminal on the console socket", ErrorKind::Internal);
}

}  // namespace

ContainerStdio make_container_stdio(bool tty, bool stdin_open) {
  ContainerStdio io;
  io.tty = tty;
  if (tty) return io;  // the runtime makes the pty
  int p[2];
  if (stdin_open) {
    check(::pipe2(p, O_CLOEXEC), "pipe for stdin");
    io.child_in.reset(p[0]);
    io.in.reset(p[1]);
  }
  check(::pipe2(p, O_CLOEXEC), "pipe for stdout");
  io.out.reset(p[0]);
  io.child_out.reset(p[1]);
  check(::pipe2(p, O_CLOEXEC), "pipe for stderr");
  io.err.reset(p[0]);
  io.child_err.reset(p[1]);
  return io;
}

std::string last_log_message(const std::string& text) {
  std::string last;
  size_t pos = 0;
  while ((pos = text.find("\"msg\":\"", pos)) != std::string::npos) {
    pos += 7;
    std::string m;
    for (; pos < text.size() && text[pos] != '"'; ++pos) {
      char c = text[pos];
      if (c == '\\' && pos + 1 < text.size()) {
        char e = text[++pos];
        if (e == 'n') m += ' ';
        else if (e == 't') m += ' ';
        else if (e == 'u' && pos + 4 < text.size()) {
          unsigned v = static_cast<unsigned>(std::strtoul(text.substr(pos + 1, 4).c_str(), nullptr, 16));
          m += v < 0x80 ? static_cast<char>(v) : '?';
          pos += 4;
        } else m += e;
      } else {
        m += c;
      }
    }
    last = m;
  }
  return last;
}

int start_error_code(const std::string& m) {
  auto has = [&](const char* s) { return m.find(s) != std::string::npos; };
  if (has("ENOENT") || has("no such file") || has("not found") || has("No such file")) return 127;
  if (has("EACCES") || has("ermission denied") || has("EISDIR") || has("ENOEXEC") || has("xec format error"))
    return 126;
  return 125;
}

RuntimeResult runtime_run_detached(const Options& o, ContainerStdio& io) {
  RuntimeResult r;
  ::unlink(kRuntimeLog);
  ::unlink("pid");
  std::vector<std::string> argv = runtime_argv(o);
  argv.insert(argv.end(), {"run", "--detach", "--bundle", o.bundle, "--pid-file", "pid"});
  UniqueFd console, dir;
  if (io.tty) {
    ::unlink(kConsoleSocket);
    console.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, kConsoleSocket);
    check(::bind(console.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "bind console socket");
    check(::listen(console.get(), 1), "listen on console socket");
    // The runtime gets this directory as fd 3: a short socket path however
    // deep the state dir is (runc makes the path absolute).
    dir.reset(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    argv.insert(argv.end(), {"--console-socket", std::string("/proc/self/fd/3/") + kConsoleSocket});
  }
  argv.push_back(o.id);
  int code;
  try {
    pid_t pid = spawn(argv, io.child_in.get(), io.child_out.get(), io.child_err.get(), dir.get());
    io.child_in.reset();
    io.child_out.reset();
    io.child_err.reset();
    code = wait_for(pid);
  } catch (const Error& e) {
    r.error = e.what();
    r.exit_code = 125;
    return r;
  }
  if (code != 0) {
    std::string log;
    try {
      log = fs::read_file(kRuntimeLog);
    } catch (const Error&) {
    }
    r.error = last_log_message(log);
    if (r.error.empty()) r.error = o.runtime + " run exited with code " + std::to_string(code);
    r.exit_code = start_error_code(r.error);
    ::unlink(kConsoleSocket);
    return r;
  }
  try {
    std::string p = fs::read_file("pid");
    r.pid = std::atoi(p.c_str());
    if (r.pid <= 0) fail("the runtime wrote no pid file", ErrorKind::Internal);
    if (io.tty) {
      pollfd pf{console.get(), POLLIN, 0};
      if (::poll(&pf, 1, 10000) <= 0) fail("the runtime did not hand over the terminal", ErrorKind::Internal);
      UniqueFd conn(::accept4(console.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) throw_errno("accept on the console socket");
      io.pty = receive_fd(conn.get());
      ::unlink(kConsoleSocket);
    }
  } catch (const Error& e) {
    r.error = e.what();
    r.exit_code = 125;
    runtime_delete(o);
    return r;
  }
  r.ok = true;
  return r;
}

void runtime_delete(const Options& o) {
  std::vector<std::string> argv = runtime_argv(o);
  argv.insert(argv.end(), {"delete", "--force", o.id});
  try {
    wait_for(spawn(argv, -1, -1, -1));
  } catch (const Error&) {
  }
}

pid_t runtime_exec(const Options& o, const std::vector<std::string>& cmd, int out_fd) {
  std::vector<std::string> argv = {o.runtime};
  argv.insert(argv.end(), o.runtime_args.begin(), o.runtime_args.end());
  argv.insert(argv.end(), {"exec", o.id});
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return spawn(argv, -1, out_fd, out_fd);
}

}  // namespace berth::monitor
