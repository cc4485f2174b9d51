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
//   failure            {"ok":false,"error":"what failed","kind":N}  (N: berth::ErrorKind)
//
// Requests are served one at a time on the VMM's I/O thread, like the
// devices' events, so no request ever runs beside a half-done one (as in
// Firecracker, the socket never touches the VM except through Machine's
// own calls). A request line longer than kMaxRequest closes the
// connection after an error answer.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

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
  nlohmann::json handle(const std::string& line);
  nlohmann::json snapshot(const nlohmann::json& req);

  std::string name_;
  Machine& machine_;
  std::optional<UnixListener> listener_;
  std::map<int, std::string> clients_;  // fd -> unanswered input
};

// One request to the VMM at socket_path; the answer if "ok", else an Error
// with the answer's message and kind. NotFound/FailedPrecondition if no
// VMM listens there; Internal after timeout_ms (-1: no limit).
nlohmann::json control_request(const std::string& socket_path, const nlohmann::json& request,
                               int timeout_ms = 10000);

}  // namespace berth::vmm
