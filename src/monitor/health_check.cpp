#include "monitor/health_check.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "monitor/json_file_log.hpp"
#include "monitor/runtime_call.hpp"

namespace berth::monitor {

namespace {


constexpr size_t kMaxOutput = 4096;  // docker keeps 4 KiB of a check's output
constexpr size_t kLogResults = 5;

}  // namespace

HealthChecker::HealthChecker(const Options& o)
    : o_(o), timer_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {
  if (!timer_) throw_errno("timerfd for the health check");
}

void HealthChecker::arm(int64_t ms) {
  itimerspec its{};
  if (ms > 0) {
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
  }
  ::timerfd_settime(timer_.get(), 0, &its, nullptr);
}

void HealthChecker::container_started(int) {
  running_ = true;
  container_started_ms_ = monotonic_ms();
  status_ = "starting";
  failing_ = 0;
  arm(o_.health.interval_ms);
}

void HealthChecker::container_stopped() {
  running_ = false;
  arm(0);
  if (check_pid_ > 0) ::kill(check_pid_, SIGKILL);
}

bool HealthChecker::on_timer(int epoll_fd, uint64_t tag) {
  uint64_t n;
  if (::read(timer_.get(), &n, sizeof n) != sizeof n || !running_) return false;
  epoll_fd_ = epoll_fd;
  if (check_pid_ > 0) {  // still running at its timeout
    ::kill(check_pid_, SIGKILL);
    return false;  // its exit records the failure
  }
  std::vector<std::string> cmd;
  const auto& t = o_.health.test;
  if (t[0] == "CMD-SHELL")
    cmd = {"/bin/sh", "-c", t.size() > 1 ? t[1] : ""};
  else
    cmd.assign(t.begin() + (t[0] == "CMD" ? 1 : 0), t.end());
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  UniqueFd rd(p[0]), wr(p[1]);
  try {
    check_pid_ = runtime_exec(o_, cmd, wr.get());
  } catch (const Error& e) {
    record(-1, e.what());
    arm(o_.health.interval_ms);
    return true;
  }
  out_ = std::move(rd);
  output_.clear();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, out_.get(), &ev);
  check_started_ms_ = monotonic_ms();
  check_started_at_ = now_rfc3339();
  arm(o_.health.timeout_ms);
  return false;
}

void HealthChecker::on_output() {
  char buf[4096];
  ssize_t n = 0;
  while (out_ && (n = ::read(out_.get(), buf, sizeof buf)) > 0)
    if (output_.size() < kMaxOutput) output_.append(buf, std::min(static_cast<size_t>(n), kMaxOutput - output_.size()));
  if (out_ && n == 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, out_.get(), nullptr);
    out_.reset();
  }
}

bool HealthChecker::on_exit(pid_t pid, int ws) {
  if (pid != check_pid_ || check_pid_ <= 0) return false;
  check_pid_ = 0;
  on_output();
  if (out_) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, out_.get(), nullptr);
    out_.reset();
  }
  bool timed_out = WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
  int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  if (timed_out)
    record(-1, "Health check exceeded timeout (" + std::to_string(o_.health.timeout_ms / 1000) + "s)");
  else
    record(code, output_);
  if (running_) arm(o_.health.interval_ms);
  return true;
}

void HealthChecker::record(int exit_code, const std::string& output) {
  log_.push_back({check_started_at_.empty() ? now_rfc3339() : check_started_at_, now_rfc3339(), output, exit_code});
  while (log_.size() > kLogResults) log_.pop_front();
  std::string before = status_;
  if (exit_code == 0) {
    failing_ = 0;
    status_ = "healthy";
  } else if (monotonic_ms() - container_started_ms_ >= o_.health.start_period_ms) {
    if (++failing_ >= o_.health.retries) status_ = "unhealthy";
  }
  changed_ = true;
  (void)before;
}

std::string HealthChecker::log_json() const {
  std::string j = "[";
  for (const auto& r : log_) {
    if (j.size() > 1) j += ",";
    j += "{\"Start\":" + json_quote(r.start) + ",\"End\":" + json_quote(r.end) +
         ",\"ExitCode\":" + std::to_string(r.exit_code) + ",\"Output\":" + json_quote(r.output) + "}";
  }
  return j + "]";
}

}  // namespace berth::monitor
