// A container's health check (docker's HEALTHCHECK / --health-*): every
// interval the monitor runs the test inside the container (`RUNTIME exec`),
// keeps the last five results, and turns `retries` failures in a row into
// "unhealthy"; a pass makes it "healthy". Failures within the start period
// do not count. A check that outlives its timeout is killed and fails.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>

#include "common/fd.hpp"
#include "monitor/options.hpp"

namespace berth::monitor {

class HealthChecker {
 public:
  explicit HealthChecker(const Options& o);
  int timer_fd() const { return timer_.get(); }

  void container_started(int pid);
  void container_stopped();
  // The timer fired: starts a check (its output fd goes into epoll under
  // `tag`) or times one out. True if the status changed.
  bool on_timer(int epoll_fd, uint64_t tag);
  void on_output();
  // A child exited: true if it was the check (its result is recorded).
  bool on_exit(pid_t pid, int wstatus);
  bool take_changed() {
    bool c = changed_;
    changed_ = false;
    return c;
  }

  const std::string& status() const { return status_; }
  int failing() const { return failing_; }
  std::string log_json() const;  // docker's Health.Log: [{Start, End, ExitCode, Output}]

 private:
  void record(int exit_code, const std::string& output);
  void arm(int64_t ms);
  const Options& o_;
  UniqueFd timer_;
  UniqueFd out_;
  int epoll_fd_ = -1;
  pid_t check_pid_ = 0;
  int64_t check_started_ms_ = 0;
  std::string check_started_at_;
  std::string output_;
  int64_t container_started_ms_ = 0;
  bool running_ = false;
  std::string status_ = "starting";
  int failing_ = 0;
  bool changed_ = false;
  struct Result {
    std::string start, end, output;
    int exit_code;
  };
  std::deque<Result> log_;
};

}  // namespace berth::monitor
