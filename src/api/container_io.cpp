// A container's streams and files over the API: logs, attach (hijacked),
// resize, stats, export, archive (docker cp).
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/stream_io.hpp"
#include "common/fd.hpp"
#include "common/json_text.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"
#include "monitor/attach_frame.hpp"

namespace berth::api {

using nlohmann::json;
using monitor::Frame;

namespace {

void logs(Exchange& x) {
  auto& e = *x.engine;
  engine::LogOptions o;
  o.follow = x.req.flag("follow");
  o.timestamps = x.req.flag("timestamps");
  o.stdout = x.req.flag("stdout");
  o.stderr = x.req.flag("stderr");
  if (!o.stdout && !o.stderr) throw Error("Bad parameters: you must choose at least one stream", ErrorKind::InvalidArgument);
  std::string tail = x.req.text("tail", "all");
  o.tail = tail == "all" || tail.empty() ? -1 : x.req.number("tail", -1);
  // docker's clients send unix seconds with a fraction ("1700000000.000000000").
  o.since = engine::parse_time_bound(x.req.text("since"), "since");
  o.until = engine::parse_time_bound(x.req.text("until"), "until");
  engine::Container c = e.inspect(x.req.param("id"));
  bool tty = c.config.tty;
  int fd = x.stream(200, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
  o.hangup_fd = fd;
  e.logs(c.id, o, [&](int stream, std::string_view text) { return tty ? send_all(fd, text) : send_frame(fd, stream, text); });
}

// Waits for the container to start (docker run attaches first); the
// monitor's end, or an empty fd if the client gave up.
UniqueFd wait_for_monitor(Exchange& x, const std::string& id, int client,
                          const std::shared_ptr<AttachBroker::Waiter>& w) {
  auto& e = *x.engine;
  auto& broker = x.server->attaches();
  for (;;) {
    {
      std::unique_lock l(w->m);
      if (w->cv.wait_for(l, std::chrono::milliseconds(100), [&] { return static_cast<bool>(w->fd); }))
        return std::move(w->fd);
    }
    pollfd p{client, 0, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
      broker.forget(id, w);
      return UniqueFd();
    }
    bool running = false;
    try {
      running = e.inspect(id).state.running();
    } catch (const Error&) {
      broker.forget(id, w);  // removed meanwhile
      return UniqueFd();
    }
    if (running) {  // started by someone else (the CLI, a restart)
      broker.forget(id, w);
      std::lock_guard l(w->m);
      if (w->fd) return std::move(w->fd);
      try {
        return UniqueFd(e.attach_socket(id));
      } catch (const Error&) {
        return UniqueFd();  // it ended already
      }
    }
  }
}

// docker's detachKeys ("ctrl-p,ctrl-q", "a,ctrl-@", ...) as bytes.
std::string parse_detach_keys(const std::string& spec) {
  auto bad = [&] { return Error("Invalid detach keys (" + spec + ") provided", ErrorKind::InvalidArgument); };
  std::string keys;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string k = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (k.size() == 1) {
      keys.push_back(k[0]);
    } else if (k.size() == 6 && k.starts_with("ctrl-")) {
      char c = k[5];
      if (c >= 'a' && c <= 'z') keys.push_back(static_cast<char>(c - 'a' + 1));
      else if (c == '@') keys.push_back(0);
      else if (c >= '[' && c <= '_') keys.push_back(static_cast<char>(c - '[' + 27));
      else throw bad();
    } else {
      throw bad();
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return keys;
}

// The client's stdin with docker's detach sequence taken out: bytes that
// begin the sequence are held until it is complete (detach) or broken
// (passed on).
struct DetachMatcher {
  std::string keys;
  size_t matched = 0;
  // Appends what goes to the container to `out`; true: detach.
  bool feed(std::string_view in, std::string* out) {
    for (char ch : in) {
      if (keys.empty()) {
        out->push_back(ch);
        continue;
      }
      if (ch == keys[matched]) {
        if (++matched == keys.size()) return true;
        continue;
      }
      out->append(keys, 0, matched);
      matched = 0;
      if (ch == keys[0]) matched = 1;
      else out->push_back(ch);
      if (matched == keys.size()) return true;
    }
    return false;
  }
};

enum class AttachEnd { Exited, Gone, Detached };

// Copies the monitor's output frames to the client (raw for a tty) and the
// client's bytes to the container's stdin until the monitor reports the
// exit, the client goes or it types the detach keys.
AttachEnd proxy_attach(int mon, int client, bool tty, bool want_in, bool want_out, bool want_err, std::string early,
                       DetachMatcher detach) {
  std::string pass;
  if (want_in && detach.feed(early, &pass)) return AttachEnd::Detached;
  // Stdin goes to the monitor without blocking: the monitor may be
  // waiting for this loop to read the output it is sending meanwhile.
  Outbox to_mon(mon);
  if (want_in && !pass.empty()) to_mon.push(monitor::encode_frame(Frame::Stdin, pass));
  if (!to_mon.flush()) return AttachEnd::Gone;
  monitor::FrameReader fr;
  bool in_open = want_in;
  char buf[65536];
  for (;;) {
    // The client is read only when what it sent before has gone on.
    pollfd p[2] = {{mon, static_cast<short>(POLLIN | (to_mon.empty() ? 0 : POLLOUT)), 0},
                   {client, static_cast<short>(in_open && to_mon.empty() ? POLLIN : 0), 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return AttachEnd::Gone;
    }
    if (p[1].revents & (POLLHUP | POLLERR)) return AttachEnd::Gone;  // the client is gone
    if ((p[0].revents & POLLOUT) && !to_mon.flush()) return AttachEnd::Gone;
    if (p[1].revents & POLLIN) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n > 0) {
        pass.clear();
        bool detached = detach.feed({buf, static_cast<size_t>(n)}, &pass);
        if (!pass.empty()) to_mon.push(monitor::encode_frame(Frame::Stdin, pass));
        if (!to_mon.flush()) return AttachEnd::Gone;
        if (detached) return AttachEnd::Detached;
      } else if (n == 0) {  // the client closed its stdin (half-close)
        to_mon.push(monitor::encode_frame(Frame::CloseStdin, ""));
        if (!to_mon.flush()) return AttachEnd::Gone;
        in_open = false;
      } else if (errno != EINTR) {
        return AttachEnd::Gone;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(mon, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        return AttachEnd::Gone;
      }
      fr.feed(buf, static_cast<size_t>(n));
      Frame type;
      std::string payload;
      while (fr.next(&type, &payload)) {
        if (type == Frame::Exit) return AttachEnd::Exited;
        if ((type == Frame::Stdout && !want_out) || (type == Frame::Stderr && !want_err)) continue;
        if (type != Frame::Stdout && type != Frame::Stderr) continue;
        bool ok = tty ? send_all(client, payload) : send_frame(client, type == Frame::Stderr ? 2 : 1, payload);
        if (!ok) return AttachEnd::Gone;
      }
    }
  }
}

void attach(Exchange& x) {
  auto& e = *x.engine;
  engine::Container c = e.inspect(x.req.param("id"));
  bool want_in = x.req.flag("stdin"), want_out = x.req.flag("stdout"), want_err = x.req.flag("stderr");
  bool tty = c.config.tty;
  // As dockerd: the detach keys apply to a tty's stdin (default ctrl-p,
  // ctrl-q); a bad spec is 400 before the hijack.
  DetachMatcher detach;
  if (tty && want_in) detach.keys = parse_detach_keys(x.req.text("detachKeys", "ctrl-p,ctrl-q"));
  const char* type = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  // logs=1: what the container wrote so far first; stream=0: only that.
  auto replay = [&](int client) {
    engine::LogOptions o;
    o.stdout = want_out;
    o.stderr = want_err;
    e.logs(c.id, o, [&](int s, std::string_view t) { return tty ? send_all(client, t) : send_frame(client, s, t); });
  };
  if (!x.req.flag("stream")) {
    int client = x.hijack(type, nullptr);
    if (x.req.flag("logs") && (want_out || want_err)) replay(client);
    ::shutdown(client, SHUT_WR);
    return;
  }
  UniqueFd mon;
  std::shared_ptr<AttachBroker::Waiter> waiter;
  if (c.state.running()) mon.reset(e.attach_socket(c.id));
  // Waiting before the answer: the docker CLI sends its start as soon as
  // it reads it, and that start must find this attach.
  else waiter = x.server->attaches().wait_for_start(c.id);
  std::string early;
  int client = x.hijack(type, &early);
  if (x.req.flag("logs") && (want_out || want_err)) replay(client);
  if (!mon) mon = wait_for_monitor(x, c.id, client, waiter);
  if (!mon) return;
  bool exited = proxy_attach(mon.get(), client, tty, want_in, want_out, want_err, early, detach) == AttachEnd::Exited;
  // A monitor that had a client attached at the exit leaves an AutoRemove
  // to that client (as `berth run --rm` does it): remove it before the
  // stream ends, so a wait for "removed" is answered.
  if (exited) e.cleanup(c.id);
  ::shutdown(client, SHUT_WR);
}

void resize(Exchange& x) {
  int64_t h = x.req.number("h", 0), w = x.req.number("w", 0);
  if (h <= 0 || w <= 0) throw Error("resize: h and w must be positive", ErrorKind::InvalidArgument);
  auto& e = *x.engine;
  engine::Container c = e.inspect(x.req.param("id"));
  if (!c.state.running()) throw Error("Container " + c.id + " is not running", ErrorKind::FailedPrecondition);
  UniqueFd mon(e.attach_socket(c.id));
  monitor::write_all(mon.get(), monitor::encode_frame(Frame::Resize, std::to_string(h) + " " + std::to_string(w)));
  x.reply(200, "", "");
}

std::string now_rfc3339() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  char ns[16];
  std::snprintf(ns, sizeof ns, ".%09ldZ", ts.tv_nsec);
  return std::string(buf) + ns;
}

void stats(Exchange& x) {
  auto& e = *x.engine;
  engine::Container c = e.inspect(x.req.param("id"));
  bool stream = x.req.flag("stream", true);
  bool one_shot = x.req.flag("one-shot");
  if (!stream) {
    auto s = e.stats({c.id}, one_shot ? 10 : 500);
    return x.json(200, engine::stats_view(s.at(0), now_rfc3339()));
  }
  int fd = x.stream(200, "application/json");
  while (!x.client_gone()) {
    auto s = e.stats({c.id}, 1000);
    if (!send_all(fd, json_text(engine::stats_view(s.at(0), now_rfc3339())) + "\n")) return;
  }
}

void export_rootfs(Exchange& x) {
  auto& e = *x.engine;
  std::string id = e.inspect(x.req.param("id")).id;
  int fd = x.stream(200, "application/x-tar");
  e.export_rootfs(id, fd);
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

// docker cp reads the path's kind from this header before copying.
std::string path_stat(Exchange& x, const std::string& id, const std::string& path) {
  bool exists = false;
  bool dir = x.engine->path_kind(id, path, &exists);
  if (!exists) throw Error("Could not find the file " + path + " in container " + x.req.param("id"), ErrorKind::NotFound);
  std::string name = path;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  name = name.substr(name.rfind('/') + 1);
  if (name.empty()) name = "/";
  uint32_t mode = dir ? (1u << 31) | 0755 : 0644;
  json st = {{"name", name}, {"size", 0}, {"mode", mode}, {"mtime", "0001-01-01T00:00:00Z"}, {"linkTarget", ""}};
  x.extra_headers += "X-Docker-Container-Path-Stat: " + base64(json_text(st)) + "\r\n";
  return name;
}

void archive_get(Exchange& x) {
  auto& e = *x.engine;
  std::string id = e.inspect(x.req.param("id")).id;
  std::string path = x.req.text("path");
  if (path.empty()) throw Error("path is required", ErrorKind::InvalidArgument);
  path_stat(x, id, path);
  if (x.req.method == "HEAD") return x.reply(200, "", "");
  int fd = x.stream(200, "application/x-tar");
  e.copy_out(id, path, fd);
}

void archive_put(Exchange& x) {
  auto& e = *x.engine;
  std::string id = e.inspect(x.req.param("id")).id;
  std::string path = x.req.text("path");
  if (path.empty()) throw Error("path is required", ErrorKind::InvalidArgument);
  bool exists = false;
  bool dir = e.path_kind(id, path, &exists);
  if (!exists) throw Error("Could not find the file " + path + " in container " + x.req.param("id"), ErrorKind::NotFound);
  if (!dir) throw Error("extraction point is not a directory", ErrorKind::InvalidArgument);
  if (x.req.body_fd < 0) throw Error("no tar archive in the request body", ErrorKind::InvalidArgument);
  e.copy_in(id, x.req.body_fd, path);
  x.reply(200, "", "");
}

}  // namespace

void add_container_io_routes(Router& r) {
  r.add("GET", "/containers/{id}/logs", logs);
  r.add("POST", "/containers/{id}/attach", attach);
  r.add("POST", "/containers/{id}/resize", resize);
  r.add("GET", "/containers/{id}/stats", stats);
  r.add("GET", "/containers/{id}/export", export_rootfs);
  r.add("GET", "/containers/{id}/archive", archive_get);
  r.add("HEAD", "/containers/{id}/archive", archive_get);
  r.add("PUT", "/containers/{id}/archive", archive_put, BodyKind::Upload);
}

}  // namespace berth::api
