// cgroup v1 freezer: freezer.state FROZEN/THAWED. Freezing can sit in
// FREEZING while tasks are in uninterruptible sleep; like runc we rewrite
// FROZEN while waiting, and give up (thawing again) after a bound.
#include <time.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

#include <fcntl.h>

namespace berth::runtime::cgroups {

namespace {
void sleep_us(long us) {
  struct timespec ts{us / 1000000, (us % 1000000) * 1000L};
  ::nanosleep(&ts, nullptr);
}

void write_state(const std::string& dir, const char* state) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) throw_errno("open cgroup " + dir);
  write_control(dfd.get(), dir, Write{"freezer", "freezer.state", state, "freezer", "", ""});
}
}  // namespace

bool v1_frozen(const std::string& dir) { return read_control(dir + "/freezer.state") == "FROZEN"; }

void v1_freeze(const std::string& dir, bool freeze) {
  const char* want = freeze ? "FROZEN" : "THAWED";
  long waited_us = 0;
  long step = 100;
  for (int attempt = 0;; ++attempt) {
    if (attempt == 0 || (freeze && attempt % 10 == 0)) write_state(dir, want);
    if (read_control(dir + "/freezer.state") == want) return;
    if (waited_us > 10'000'000) {
      if (freeze) write_state(dir, "THAWED");
      throw Error(std::string(freeze ? "freeze " : "thaw ") + dir + ": state did not reach " + want +
                      " within 10s (a task may be stuck in uninterruptible sleep)",
                  ErrorKind::Internal);
    }
    sleep_us(step);
    waited_us += step;
    step = std::min(step * 2, 10'000L);
  }
}

}  // namespace berth::runtime::cgroups
