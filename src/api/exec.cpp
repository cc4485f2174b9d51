// docker exec over the API: /containers/{id}/exec makes an instance,
// /exec/{id}/start runs it through the engine (the runtime's exec, as
// `berth exec`) on a hijacked connection, /exec/{id}/json reports it.
// Without a tty the process's stdout and stderr are pipes we frame; with
// one, the runtime hands us the pty master (--console-socket), so resize
// is an ioctl on it.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <cstring>
#include <thread>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/stream_io.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/unix_listener.hpp"
#include "engine/container_engine.hpp"
#include "engine/start_error.hpp"
#include "monitor/attach_frame.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

void create(Exchange& x) {
  json b = x.req.json_body();
  engine::Container c = x.engine->inspect(x.req.param("id"));
  if (c.state.status == "paused")
    throw Error("Container " + c.id + " is paused, unpause the container before exec", ErrorKind::FailedPrecondition);
  if (!c.state.running()) throw Error("Container " + c.id + " is not running", ErrorKind::FailedPrecondition);
  ExecInstance in;
  in.container_id = c.id;
  auto& r = in.request;
  if (b.contains("Cmd") && b["Cmd"].is_array()) r.cmd = b["Cmd"].get<std::vector<std::string>>();
  if (r.cmd.empty()) throw Error("No exec command specified", ErrorKind::InvalidArgument);
  if (b.contains("Env") && b["Env"].is_array()) r.env = b["Env"].get<std::vector<std::string>>();
  if (b.contains("User") && b["User"].is_string()) r.user = b["User"];
  if (b.contains("WorkingDir") && b["WorkingDir"].is_string()) r.working_dir = b["WorkingDir"];
  r.tty = b.value("Tty", false);
  r.privileged = b.value("Privileged", false);
  in.attach_stdin = b.value("AttachStdin", false);
  in.attach_stdout = b.value("AttachStdout", false);
  in.attach_stderr = b.value("AttachStderr", false);
  r.interactive = in.attach_stdin;
  x.json(201, {{"Id", x.server->execs().add(std::move(in))}});
}

// Runs the exec on `e`, recording its end; returns the exit code. A
// process that could not start reports why on `err_fd`.
int run_exec(engine::ContainerEngine& e, ExecRegistry& reg, const ExecInstance& in, const engine::ExecRequest& r,
             const std::function<void(const std::string&)>& report) {
  int code;
  try {
    code = e.exec(in.container_id, r);
  } catch (const engine::StartError& err) {
    code = err.exit_code();
    report(std::string("OCI runtime exec failed: ") + err.what() + "\r\n");
  } catch (const Error& err) {
    code = 126;
    report(std::string(err.what()) + "\r\n");
  }
  reg.update(in.id, [&](ExecInstance& i) {
    i.running = false;
    i.exit_code = code;
  });
  return code;
}

void start_detached(Exchange& x, const ExecInstance& in) {
  engine::ExecRequest r = in.request;
  r.interactive = false;
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  std::string root = x.server->options().root, state = x.server->options().state;
  ExecRegistry* reg = &x.server->execs();
  std::thread([root, state, reg, in, r, null = std::move(null)]() mutable {
    try {
      engine::ContainerEngine e(root, state);
      r.stdin_fd = r.stdout_fd = r.stderr_fd = null.get();
      if (r.tty) r.tty = false;  // nobody reads its terminal
      run_exec(e, *reg, in, r, [](const std::string&) {});
    } catch (const Error&) {
      reg->update(in.id, [](ExecInstance& i) {
        i.running = false;
        i.exit_code = 126;
      });
    }
  }).detach();
  x.reply(200, "", "");
}

void start_pipes(Exchange& x, const ExecInstance& in) {
  engine::ExecRequest r = in.request;
  int p[2];
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd out_r(p[0]), out_w(p[1]);
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd err_r(p[0]), err_w(p[1]);
  UniqueFd in_r, in_w;
  if (in.attach_stdin) {
    check(::pipe2(p, O_CLOEXEC), "pipe");
    in_r.reset(p[0]);
    in_w.reset(p[1]);
  }
  r.stdin_fd = in_r.get();
  r.stdout_fd = out_w.get();
  r.stderr_fd = err_w.get();
  std::string early;
  int client = x.hijack("application/vnd.docker.multiplexed-stream", &early);
  auto& reg = x.server->execs();
  auto* e = x.engine;
  std::thread worker([&] {
    run_exec(*e, reg, in, r, [&](const std::string& m) { monitor::write_all(err_w.get(), m); });
    out_w.reset();
    err_w.reset();
    in_r.reset();
  });
  // Stdin without blocking: the process may be waiting for this loop to
  // read its output. The client is read only when what it sent before
  // has gone on; its half-close closes the pipe once that is written.
  Outbox to_in(in_w.get());
  bool close_in = false;
  auto flush_in = [&] {
    if (!in_w) return;
    if (!to_in.flush() || (close_in && to_in.empty())) in_w.reset();
  };
  if (in_w && !early.empty()) to_in.push(early);
  flush_in();
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    bool waiting = in_w && !to_in.empty();
    pollfd pf[4] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                    {err_open ? err_r.get() : -1, POLLIN, 0},
                    {in_w && !close_in && !waiting ? client : -1, POLLIN, 0},
                    {waiting ? in_w.get() : -1, POLLOUT, 0}};
    if (::poll(pf, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[3].revents) flush_in();
    for (int i = 0; i < 2; ++i) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(pf[i].fd, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      bool wanted = i == 0 ? in.attach_stdout : in.attach_stderr;
      if (wanted) send_frame(client, i + 1, {buf, static_cast<size_t>(n)});  // a gone client: keep draining
    }
    if (pf[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n > 0) to_in.push({buf, static_cast<size_t>(n)});
      else if (n == 0 || errno != EINTR) close_in = true;  // stdin closed (half-close) or the client went
      flush_in();
    }
  }
  worker.join();
  ::shutdown(client, SHUT_WR);
}

// Receives the pty master the runtime sends over the console socket.
UniqueFd receive_master(int conn) {
  char data[1];
  char ctrl[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{data, sizeof data};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctrl;
  m.msg_controllen = sizeof ctrl;
  if (::recvmsg(conn, &m, MSG_CMSG_CLOEXEC) < 0) throw_errno("receive the exec's terminal");
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return UniqueFd(fd);
    }
  throw Error("the runtime sent no terminal on the console socket");
}

void start_tty(Exchange& x, const ExecInstance& in) {
  engine::ExecRequest r = in.request;
  std::string dir = x.server->options().state + "/api";
  fs::mkdir_p(dir, 0700);
  UnixListener console(dir + "/exec-" + in.id.substr(0, 16) + ".sock", "exec console socket");
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  r.console_socket = console.path();
  r.stdin_fd = r.stdout_fd = r.stderr_fd = null.get();
  std::string early;
  int client = x.hijack("application/vnd.docker.raw-stream", &early);
  auto& reg = x.server->execs();
  auto* e = x.engine;
  int done[2];
  check(::pipe2(done, O_CLOEXEC), "pipe");
  UniqueFd done_r(done[0]), done_w(done[1]);
  std::thread worker([&] {
    run_exec(*e, reg, in, r, [&](const std::string& m) { send_all(client, m); });
    done_w.reset();
  });
  UniqueFd master;
  for (;;) {  // the runtime connects, or ends without doing so
    pollfd pf[2] = {{console.fd(), POLLIN, 0}, {done_r.get(), POLLIN, 0}};
    if (::poll(pf, 2, -1) < 0 && errno == EINTR) continue;
    if (pf[0].revents & POLLIN) {
      UniqueFd conn = console.accept();
      if (!conn) continue;
      int fl = ::fcntl(conn.get(), F_GETFL);
      ::fcntl(conn.get(), F_SETFL, fl & ~O_NONBLOCK);
      try {
        master = receive_master(conn.get());
      } catch (const Error&) {
      }
      break;
    }
    if (pf[1].revents) break;
  }
  if (master) {
    reg.update(in.id, [&](ExecInstance& i) { i.console_fd = master.get(); });
    if (!early.empty()) monitor::write_all(master.get(), early);
    bool in_open = in.attach_stdin;
    char buf[65536];
    for (;;) {
      pollfd pf[2] = {{master.get(), POLLIN, 0}, {in_open ? client : -1, POLLIN, 0}};
      if (::poll(pf, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::read(master.get(), buf, sizeof buf);
        if (n <= 0) break;  // EIO: the last process holding the terminal ended
        send_all(client, {buf, static_cast<size_t>(n)});
      }
      if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n > 0) monitor::write_all(master.get(), {buf, static_cast<size_t>(n)});
        else in_open = false;
      }
    }
    reg.update(in.id, [&](ExecInstance& i) { i.console_fd = -1; });
  }
  worker.join();
  ::shutdown(client, SHUT_WR);
}

void start(Exchange& x) {
  json b = x.req.json_body();
  ExecInstance in = x.server->execs().begin(x.req.param("id"));
  if (b.value("Detach", false)) return start_detached(x, in);
  if (in.request.tty) return start_tty(x, in);
  start_pipes(x, in);
}

void resize(Exchange& x) {
  int64_t h = x.req.number("h", 0), w = x.req.number("w", 0);
  if (h <= 0 || w <= 0) throw Error("resize: h and w must be positive", ErrorKind::InvalidArgument);
  x.server->execs().get(x.req.param("id"));  // 404
  bool done = false;
  x.server->execs().update(x.req.param("id"), [&](ExecInstance& i) {
    if (i.console_fd < 0) return;
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(h);
    ws.ws_col = static_cast<unsigned short>(w);
    done = ::ioctl(i.console_fd, TIOCSWINSZ, &ws) == 0;
  });
  if (!done) throw Error("exec " + x.req.param("id") + " has no running terminal to resize", ErrorKind::FailedPrecondition);
  x.reply(201, "", "");
}

void inspect(Exchange& x) {
  ExecInstance in = x.server->execs().get(x.req.param("id"));
  json pc = {{"tty", in.request.tty},
             {"entrypoint", in.request.cmd.at(0)},
             {"arguments", std::vector<std::string>(in.request.cmd.begin() + 1, in.request.cmd.end())},
             {"privileged", in.request.privileged},
             {"user", in.request.user}};
  x.json(200, {{"ID", in.id},
               {"Running", in.running},
               {"ExitCode", in.exit_code ? json(*in.exit_code) : json(nullptr)},
               {"ProcessConfig", pc},
               {"OpenStdin", in.attach_stdin},
               {"OpenStderr", in.attach_stderr},
               {"OpenStdout", in.attach_stdout},
               {"CanRemove", false},
               {"ContainerID", in.container_id},
               {"DetachKeys", ""},
               {"Pid", in.pid}});
}

}  // namespace

void add_exec_routes(Router& r) {
  r.add("POST", "/containers/{id}/exec", create);
  r.add("POST", "/exec/{id}/start", start);
  r.add("POST", "/exec/{id}/resize", resize);
  r.add("GET", "/exec/{id}/json", inspect);
}

}  // namespace berth::api
