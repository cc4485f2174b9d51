#include "vmm/control.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "vmm/device_state.hpp"
#include "vmm/migration_source.hpp"

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

struct ControlServer::Migration {
  std::thread thread;
  std::atomic<bool> cancel{false};
  int client = -1;  // who asked, for the answer; -1 once it hung up
  UniqueFd done;    // eventfd: the thread has put its answer here
  json answer;
};

ControlServer::ControlServer(const std::string& path, std::string vm_name, Machine& machine)
    : name_(std::move(vm_name)), machine_(machine) {
  listener_.emplace(path, "control socket");
  machine_.loop().add(listener_->fd(), [this] { accept(); });
}

ControlServer::~ControlServer() {
  if (migration_) {
    migration_->cancel = true;
    finish_migration();
  }
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
  if (migration_ && migration_->client == fd) {
    migration_->cancel = true;  // as Ctrl-C on `berth vm migrate` does
    migration_->client = -1;
  }
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
    json a = handle(fd, line);
    if (a.is_null()) continue;
    std::string answer = json_text(a) + "\n";
    // Answers are small; a client that does not read them is dropped.
    if (::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL) != static_cast<ssize_t>(answer.size()))
      return drop(fd);
  }
  if (in.size() > kMaxRequest) {
    std::string answer = json_text(failure("control request longer than " + std::to_string(kMaxRequest) + " bytes",
                                           ErrorKind::InvalidArgument)) + "\n";
    ::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    drop(fd);
  }
}

json ControlServer::handle(int fd, const std::string& line) {
  json req = json::parse(line, nullptr, false);
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string())
    return failure("control request is not a JSON object with an \"op\"", ErrorKind::InvalidArgument);
  std::string op = req["op"].get<std::string>();
  try {
    if (op == "status")
      return {{"ok", true}, {"state", machine_.paused() ? "paused" : "running"}, {"cpus", machine_.cpus()},
              {"memory", machine_.memory_size()}, {"migrating", migration_ != nullptr}};
    if (op == "migrate_cancel") {
      if (!migration_) fail("no migration of this VM is in progress", ErrorKind::FailedPrecondition);
      migration_->cancel = true;
      return {{"ok", true}};
    }
    if (migration_)
      fail("a migration of this VM is in progress (cancel it with migrate_cancel)", ErrorKind::FailedPrecondition);
    if (op == "migrate") {
      start_migration(fd, req);
      return nullptr;
    }
    if (op == "pause") {
      machine_.pause();
      return {{"ok", true}};
    }
    if (op == "resume") {
      machine_.resume();
      return {{"ok", true}};
    }
    if (op == "snapshot") return snapshot(req);
    return failure("unknown control op '" + op + "' (status, pause, resume, snapshot, migrate, migrate_cancel)",
                   ErrorKind::InvalidArgument);
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

namespace {

// A whole number up to max, or def when absent: value() of 1e300 into an
// integer would be undefined behaviour (what the fuzzers kept finding in
// other parsers), and a negative one would wrap.
uint64_t whole_field(const json& req, const char* key, uint64_t def, uint64_t max) {
  auto it = req.find(key);
  if (it == req.end()) return def;
  if (!state_is_uint(*it) || it->get<uint64_t>() > max)
    fail(std::string("migrate: ") + key + " must be a whole number up to " + std::to_string(max));
  return it->get<uint64_t>();
}

}  // namespace

void ControlServer::start_migration(int fd, const json& req) {
  MigrationOptions o;
  if (!req.contains("to") || !req["to"].is_string()) fail("migrate: \"to\" must be tcp:HOST:PORT");
  o.to = parse_tcp_address(req["to"].get<std::string>(), "migrate: to");
  o.token = req.value("token", std::string());
  if (req.contains("max_downtime_ms") && !req["max_downtime_ms"].is_number())
    fail("migrate: max_downtime_ms must be a number of milliseconds");
  o.max_downtime_ms = req.value("max_downtime_ms", 50.0);
  o.max_rounds = static_cast<int>(whole_field(req, "max_rounds", 30, 1000000));
  o.max_bandwidth = whole_field(req, "max_bandwidth", 0, UINT64_MAX);
  if (!(o.max_downtime_ms >= 0) || o.max_rounds < 1) fail("migrate: max_downtime_ms must be >= 0, max_rounds >= 1");
  auto mig = std::make_unique<Migration>();
  mig->client = fd;
  mig->done.reset(static_cast<int>(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd for a migration")));
  Migration* m = mig.get();
  machine_.loop().add(m->done.get(), [this] { finish_migration(); });
  migration_ = std::move(mig);
  m->thread = std::thread([this, m, o] {
    json a;
    try {
      MigrationStats st = migrate(machine_, name_, o, m->cancel);
      a = {{"ok", true},          {"total_ms", st.total_ms}, {"setup_ms", st.setup_ms},
           {"downtime_ms", st.downtime_ms}, {"heard_ms", st.heard_ms}, {"sent_ms", st.sent_ms},  {"bytes", st.bytes},
           {"rounds", st.rounds}};
    } catch (const Error& e) {
      a = failure("migrate to " + o.to.text + ": " + e.what(), e.kind());
    } catch (const std::exception& e) {
      a = failure("migrate to " + o.to.text + ": " + e.what(), ErrorKind::Internal);
    }
    m->answer = std::move(a);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(m->done.get(), &one, 8);
  });
}

// On the I/O thread once the migration's thread has answered (or from the
// destructor, which waits for it).
void ControlServer::finish_migration() {
  if (!migration_) return;
  migration_->thread.join();
  machine_.loop().remove(migration_->done.get());
  std::unique_ptr<Migration> m = std::move(migration_);
  if (m->client < 0) return;
  std::string answer = json_text(m->answer) + "\n";
  if (::send(m->client, answer.data(), answer.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(answer.size()))
    log::warn("control socket: the migration's client did not take its answer");
}

json control_request(const std::string& socket_path, const json& request, int timeout_ms,
                     const std::function<void()>& on_signal) {
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
  std::string line = json_text(request) + "\n";
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
    if (r < 0 && errno == EINTR) {
      if (on_signal) on_signal();
      continue;
    }
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
  auto k = answer.find("kind");  // an integer, else unknown (no float-to-int cast)
  int64_t kind = k != answer.end() && k->is_number_integer() ? k->get<int64_t>() : 0;
  if (kind < 0 || kind > static_cast<int>(ErrorKind::Corrupt)) kind = 0;
  throw Error(answer.value("error", std::string("control request failed")), static_cast<ErrorKind>(kind));
}

}  // namespace berth::vmm
