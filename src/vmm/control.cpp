#include "vmm/control.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace berth::vmm {

using nlohmann::json;

namespace {

json failure(const std::string& message, ErrorKind kind) {
  return {{"ok", false}, {"error", message}, {"kind", static_cast<int>(kind)}};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ControlServer::ControlServer(const std::string& path, std::string vm_name, Machine& machine)
    : name_(std::move(vm_name)), machine_(machine) {
  listener_.emplace(path, "control socket");
  machine_.loop().add(listener_->fd(), [this] { accept(); });
}

ControlServer::~ControlServer() {
  while (!clients_.empty()) drop(clients_.begin()->first);
  if (listener_) machine_.loop().remove(listener_->fd());
}

void ControlServer::accept() {
  int fd = listener_->accept().release();
  if (fd < 0) return;
  clients_[fd];
  machine_.loop().add(fd, [this, fd] { serve(fd); });
}

void ControlServer::drop(int fd) {
  machine_.loop().remove(fd);
  clients_.erase(fd);
  ::close(fd);
}

void ControlServer::serve(int fd) {
  std::string& in = clients_[fd];
  char b[4096];
  ssize_t n = ::recv(fd, b, sizeof b, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return drop(fd);
  in.append(b, static_cast<size_t>(n));
  for (size_t nl; (nl = in.find('\n')) != std::string::npos;) {
    std::string line = in.substr(0, nl);
    in.erase(0, nl + 1);
    std::string answer = handle(line).dump() + "\n";
    // Answers are small; a client that does not read them is dropped.
    if (::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL) != static_cast<ssize_t>(answer.size()))
      return drop(fd);
  }
  if (in.size() > kMaxRequest) {
    std::string answer = failure("control request longer than " + std::to_string(kMaxRequest) + " bytes",
                                 ErrorKind::InvalidArgument).dump() + "\n";
    ::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    drop(fd);
  }
}

json ControlServer::handle(const std::string& line) {
  json req = json::parse(line, nullptr, false);
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string())
    return failure("control request is not a JSON object with an \"op\"", ErrorKind::InvalidArgument);
  std::string op = req["op"].get<std::string>();
  try {
    if (op == "status")
      return {{"ok", true}, {"state", machine_.paused() ? "paused" : "running"}, {"cpus", machine_.cpus()},
              {"memory", machine_.memory_size()}};
    if (op == "pause") {
      machine_.pause();
      return {{"ok", true}};
    }
    if (op == "resume") {
      machine_.resume();
      return {{"ok", true}};
    }
    if (op == "snapshot") return snapshot(req);
    return failure("unknown control op '" + op + "' (status, pause, resume, snapshot)", ErrorKind::InvalidArgument);
  } catch (const Error& e) {
    return failure(e.what(), e.kind());
  } catch (const std::exception& e) {
    return failure(op + ": " + e.what(), ErrorKind::Internal);
  }
}

json ControlServer::snapshot(const json& req) {
  if (!req.contains("dir") || !req["dir"].is_string() || req["dir"].get<std::string>().rfind('/', 0) != 0)
    fail("snapshot: \"dir\" must be an absolute path");
  std::string dir = req["dir"].get<std::string>();
  bool stop = req.value("stop", false);
  bool was_paused = machine_.paused();
  auto t0 = std::chrono::steady_clock::now();
  double pause_ms = -1;
  machine_.pause();
  SnapshotStats st;
  try {
    // Without --stop the guest runs on as soon as its state is copied;
    // syncing the files to disk happens while it runs. With --stop the VM
    // ends only once the snapshot is complete on disk: a failure leaves it
    // running.
    st = machine_.save_snapshot(dir, name_, [&] {
      if (stop || was_paused) return;
      machine_.resume();
      pause_ms = ms_since(t0);
    });
  } catch (...) {
    if (!was_paused) machine_.resume();
    throw;
  }
  if (pause_ms < 0) pause_ms = ms_since(t0);
  if (stop) machine_.end(ExitReason::Snapshotted, "snapshot written to " + dir);
  return {{"ok", true},
          {"dir", dir},
          {"state_bytes", st.state_bytes},
          {"memory_bytes", st.memory_bytes},
          {"pause_ms", pause_ms}};
}

json control_request(const std::string& socket_path, const json& request, int timeout_ms) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path) fail("control socket path " + socket_path + " is too long");
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd s(static_cast<int>(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket")));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    throw Error("connect to control socket " + socket_path + ": " + std::strerror(e) + " (is the VM running?)",
                e == ENOENT ? ErrorKind::NotFound : ErrorKind::FailedPrecondition, e);
  }
  std::string line = request.dump() + "\n";
  if (::send(s.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    throw_errno("send to control socket " + socket_path);
  std::string in;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (in.find('\n') == std::string::npos) {
    int wait = -1;
    if (timeout_ms >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        fail("no answer on control socket " + socket_path + " within " + std::to_string(timeout_ms) + " ms",
             ErrorKind::Internal);
      wait = static_cast<int>(left.count());
    }
    pollfd p{s.get(), POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    check(r, "wait on control socket " + socket_path);
    if (r == 0) continue;
    char b[4096];
    ssize_t n = ::recv(s.get(), b, sizeof b, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read control socket " + socket_path);
    if (n == 0) fail("the VMM closed control socket " + socket_path + " without answering", ErrorKind::FailedPrecondition);
    in.append(b, static_cast<size_t>(n));
    if (in.size() > ControlServer::kMaxRequest) fail("answer on control socket " + socket_path + " is too long", ErrorKind::Internal);
  }
  json answer = json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (!answer.is_object() || !answer.contains("ok"))
    fail("control socket " + socket_path + " answered something that is not a control answer", ErrorKind::Internal);
  if (answer["ok"] == true) return answer;
  int kind = answer.value("kind", 0);
  if (kind < 0 || kind > static_cast<int>(ErrorKind::Corrupt)) kind = 0;
  throw Error(answer.value("error", std::string("control request failed")), static_cast<ErrorKind>(kind));
}

}  // namespace berth::vmm
