// status.json: what the monitor knows of its container, written atomically
// (temp + rename) at each change, read by the engine whenever it reads the
// container's record (like conmon's exit file, plus the running state).
// Not fsynced: it describes live processes; after a crash the engine
// checks the monitor's pid and start time and treats a dead monitor's
// "running" as ended.
#pragma once

#include <cstdint>
#include <string>

namespace berth::monitor {

struct Status {
  std::string status;  // starting | running | restarting | exited
  int pid = 0;         // the container's init (host pid) while running
  int monitor_pid = 0;
  std::string monitor_start;  // field 22 of /proc/<monitor>/stat
  std::string started_at, finished_at;
  int exit_code = 0;
  bool oom_killed = false;
  int restart_count = 0;
  std::string error;
  std::string health;          // "" | starting | healthy | unhealthy
  int health_failing = 0;      // consecutive failures
  std::string health_log;      // JSON array text of the last results (docker's Health.Log)
};

std::string to_json(const Status& s);
void write_status(const std::string& path, const Status& s);

}  // namespace berth::monitor
