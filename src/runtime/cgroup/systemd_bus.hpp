// A D-Bus client for the few calls of systemd's manager that the systemd
// cgroup driver needs (StartTransientUnit, SetUnitProperties, StopUnit,
// ResetFailedUnit), over systemd's private socket /run/systemd/private.
//
// Why not sd-bus: berth-runtime is a static binary (CMakeLists.txt says
// why) and Debian 12's libsystemd-dev ships libsystemd.so only, no
// libsystemd.a; a static binary cannot dlopen it either. The part of the
// D-Bus protocol these calls use is small and fixed: EXTERNAL auth, method
// calls with basic types, arrays and variants, method returns, errors and
// one signal (JobRemoved). docs/architecture.md, "D-Bus", has the rest.
//
// Why the private socket: it is systemd's own peer-to-peer endpoint (what
// systemctl uses as root); it needs no dbus-daemon (a systemd host need not
// run one), no Hello, and systemd sends job signals to every private
// connection. Root only, as berth-runtime is.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/fd.hpp"

namespace berth::runtime::systemd {

// One unit property: D-Bus signature "sv" with v one of b, t, s, au, ay.
struct Property {
  using Value = std::variant<bool, uint64_t, std::string, std::vector<uint32_t>, std::vector<uint8_t>>;
  std::string name;
  Value value;
};

class Bus {
 public:
  // Connects and authenticates. Where systemd does not run, an Unsupported
  // error that says so (the caller names the flag).
  static Bus connect(const std::string& socket_path = "/run/systemd/private");

  // Starts a transient unit (mode "replace") and waits up to 10 s for its
  // job: for a scope, systemd has moved `wait_pid` into the unit's cgroup
  // when this returns (checked in /proc/<pid>/cgroup too, which covers a
  // missed signal). Errors carry systemd's own message.
  void start_transient_unit(const std::string& unit, const std::vector<Property>& props, pid_t wait_pid);
  void set_unit_properties(const std::string& unit, const std::vector<Property>& props);
  // Stops the unit and waits for the job; a unit that is not loaded (a
  // scope systemd already collected) is fine.
  void stop_unit(const std::string& unit);
  void reset_failed_unit(const std::string& unit);  // errors ignored

 private:
  struct Message;
  explicit Bus(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends a method call to the manager and returns the reply's body (or
  // throws systemd's error, "org.freedesktop.systemd1.NoSuchUnit: ...").
  std::string call(const std::string& member, const std::string& signature, const std::string& body,
                   std::string* error_name = nullptr);
  Message read_message(int timeout_ms);
  void wait_job(const std::string& job, const std::string& what, const std::string& unit, pid_t pid);

  UniqueFd fd_;
  uint32_t serial_ = 0;
  std::vector<std::pair<std::string, std::string>> removed_jobs_;  // JobRemoved seen: job path, result
};

// systemd's unit name escaping is not needed: the names made here are
// checked to be plain (letters, digits, ":-_.\\"), as systemd requires.
bool valid_unit_name(const std::string& name);

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "".
// Throws InvalidArgument naming `field` for a malformed slice name.
std::string expand_slice(const std::string& slice, const std::string& field);

// The bit mask systemd's AllowedCPUs / AllowedMemoryNodes take ("ay"),
// from a cpuset list ("0-2,5"). Throws InvalidArgument naming `field`.
std::vector<uint8_t> cpuset_mask(const std::string& list, const std::string& field);

}  // namespace berth::runtime::systemd
