// Docker's restart rules (moby's restartmanager): whether a container that
// exited comes back, and after how long: 100 ms, doubling at each restart,
// back to 100 ms once a run lasted 10 s, at most 1 minute.
#pragma once

#include <cstdint>
#include <string>

namespace berth::monitor {

class RestartPolicy {
 public:
  RestartPolicy(std::string name, int max_retries) : name_(std::move(name)), max_(max_retries) {}

  // The container exited with `exit_code` after running `ran_ms`, having
  // been restarted `restarts` times; `stopped` = a user asked it to stop.
  // Returns the delay before the restart, or -1 for no restart.
  int64_t next(int exit_code, int64_t ran_ms, int restarts, bool stopped);

  static bool valid(const std::string& name);

 private:
  std::string name_;
  int max_;
  int64_t delay_ms_ = 0;
};

}  // namespace berth::monitor
