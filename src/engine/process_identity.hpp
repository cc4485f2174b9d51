// A process named by pid and start time (field 22 of /proc/<pid>/stat), so
// a recycled pid is never mistaken for the process a record names.
#pragma once

#include <optional>
#include <string>

namespace berth::engine {

struct MonitorIdentity {
  int pid = 0;
  std::string start;
};

// "" if the process does not exist.
std::string process_start_time(int pid);
// Exists, is the same process (start time), and is not a zombie.
bool process_alive(const MonitorIdentity& p);
// A long-lived process (`berth serve`) asks process_alive to keep a pidfd
// of each process it found alive, up to `max`, and to answer the next
// asks by polling it (one syscall) instead of reading /proc/PID/stat:
// reading it for every container was a third of a list of 100. Off (0)
// by default: a CLI asks once, and would only pay an fd per container.
void remember_live_processes(size_t max);
// The monitor named in a status.json, if any.
std::optional<MonitorIdentity> monitor_of(const std::string& status_path);

}  // namespace berth::engine
