// What the engine tells one container's monitor (berth-monitor, see
// monitor.hpp): passed as argv, so the monitor needs no parser library and
// `ps` shows what it watches. to_argv() and parse() are each other's inverse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::monitor {

struct HealthCheck {
  std::vector<std::string> test;  // docker's form: {"CMD-SHELL", "cmd"} or {"CMD", argv...}
  int64_t interval_ms = 30000;
  int64_t timeout_ms = 30000;
  int64_t start_period_ms = 0;
  int retries = 3;
};

struct Options {
  std::string id;
  std::string runtime;                    // runc-CLI runtime executable
  std::vector<std::string> runtime_args;  // its global flags (--root R)
  std::string bundle;                     // the OCI bundle: config.json
  std::string rootfs;                     // the mounted rootfs, unmounted at the final exit
  std::string state_dir;                  // <state>/containers/<id>: sockets, pid file
  std::string log_path;                   // docker json-file log
  int64_t log_max_size = 0;               // bytes; 0 = never rotate
  int log_max_files = 1;
  std::string status_path;                // status.json (status.hpp), the engine reads it
  std::string cgroup_path;                // the container's cgroupsPath, for OOM kills
  std::string events_root;                // <root>: "die" and "start" go to its event log
  std::string name, image;                // for the events' attributes
  bool tty = false;
  bool stdin_open = false;
  bool stdin_once = false;  // close stdin when the first attached client leaves
  int sync_fd = -1;    // "ok PID\n" or "error MESSAGE\n" once the first start is decided
  int attach_fd = -1;  // a client attached from the start (attach_frame.hpp)
  std::string restart = "no";  // no | always | unless-stopped | on-failure
  int max_retries = 0;         // on-failure:N
  int restart_count = 0;       // restarts before this monitor
  int stop_signal = 15;
  int stop_timeout = 10;  // seconds
  std::vector<std::string> exit_command;  // run at the final exit when no client is attached
  HealthCheck health;  // test empty: no health check
};

std::vector<std::string> to_argv(const Options& o);
// Throws berth::Error(InvalidArgument) naming the bad flag.
Options parse(int argc, char** argv);

}  // namespace berth::monitor
