#include "monitor/restart_policy.hpp"

namespace berth::monitor {

namespace {
constexpr int64_t kFirstDelayMs = 100;
constexpr int64_t kMaxDelayMs = 60000;
constexpr int64_t kResetAfterMs = 10000;
}  // namespace

bool RestartPolicy::valid(const std::string& n) {
  return n == "no" || n.empty() || n == "always" || n == "unless-stopped" || n == "on-failure";
}

int64_t RestartPolicy::next(int exit_code, int64_t ran_ms, int restarts, bool stopped) {
  if (stopped) return -1;
  bool again = false;
  if (name_ == "always" || name_ == "unless-stopped") again = true;
  if (name_ == "on-failure") again = exit_code != 0 && (max_ <= 0 || restarts < max_);
  if (!again) return -1;
  if (ran_ms >= kResetAfterMs || delay_ms_ == 0)
    delay_ms_ = kFirstDelayMs;
  else
    delay_ms_ = delay_ms_ * 2 > kMaxDelayMs ? kMaxDelayMs : delay_ms_ * 2;
  return delay_ms_;
}

}  // namespace berth::monitor
