// The control socket of a running VMM (docs/vm.md, "Control socket"), what
// `berth vm pause/resume/snapshot` use and what users can script: a unix
// stream socket, mode 0600, at <state>/vms/NAME/control.sock. A client
// sends one JSON object per line and gets one JSON line back for each:
//
//   {"op":"status"}    {"ok":true,"state":"running"|"paused","cpus":N,"memory":BYTES}
//   {"op":"pause"}     {"ok":true}      (a paused VM stays paused)
//   {"op":"resume"}    {"ok":true}
//   {"op":"snapshot","dir":"/abs/dir","stop":false}
//                      {"ok":true,"dir":...,"state_bytes":N,"memory_bytes":N,"pause_ms":X}
//   {"op":"migrate","to":"tcp:HOST:PORT","token":T,"max_downtime_ms":50,"max_rounds":30,
//    "max_bandwidth":BYTES_PER_S}
//                      {"ok":true,"total_ms":X,"setup_ms":X,"downtime_ms":X,"sent_ms":X,
//                       "bytes":N,"rounds":N}
//                      once the migration ended (the VM then ends here);
//                      it is aborted if this client hangs up before
//   {"op":"migrate_cancel"}  {"ok":true}   aborts a migration in progress
//   failure            {"ok":false,"error":"what failed","kind":N}  (N: berth::ErrorKind)
//
// Requests are served one at a time on the VMM's I/O thread, like the
// devices' events, so no request ever runs beside a half-done one (as in
// Firecracker, the socket never touches the VM except through Machine's
// own calls). A migration is the exception that proves it: it runs for
// seconds on a thread of its own (the I/O thread must go on serving the
// devices of the running guest), and while it does every request that
// would pause, resume or snapshot the VM is refused. A request line longer than kMaxRequest closes the
// connection after an error answer.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <thread>

#include "common/unix_listener.hpp"
#include "vmm/machine.hpp"

namespace berth::vmm {

class ControlServer {
 public:
  static constexpr size_t kMaxRequest = 64 * 1024;
  // Listens at path (replacing a stale socket) on the machine's loop.
  ControlServer(const std::string& path, std::string vm_name, Machine& machine);
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Closes the clients, stops listening and removes the socket.
  ~ControlServer();

 private:
  void accept();
  void serve(int fd);
  void drop(int fd);
  // Null for an answer that comes later (a migration's).
  nlohmann::json handle(int fd, const std::string& line);
  nlohmann::json snapshot(const nlohmann::json& req);
  void start_migration(int fd, const nlohmann::json& req);
  void finish_migration();

  struct Migration;
  std::unique_ptr<Migration> migration_;
  std::string name_;
  Machine& machine_;
  std::optional<UnixListener> listener_;
  std::map<int, std::string> clients_;  // fd -> unanswered input
};

// One request to the VMM at socket_path; the answer if "ok", else an Error
// with the answer's message and kind. NotFound/FailedPrecondition if no
// VMM listens there; Internal after timeout_ms (-1: no limit).
// on_signal runs when a signal interrupts the wait (a CLI's Ctrl-C).
nlohmann::json control_request(const std::string& socket_path, const nlohmann::json& request,
                               int timeout_ms = 10000, const std::function<void()>& on_signal = {});

}  // namespace berth::vmm
