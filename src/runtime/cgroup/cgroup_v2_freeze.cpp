// cgroup v2 freezer: cgroup.freeze, completion seen as "frozen 1" in
// cgroup.events (the kernel flips it once every task has stopped).
#include <fcntl.h>
#include <time.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

namespace {
bool events_frozen(const std::string& dir) {
  std::string ev = read_control(dir + "/cgroup.events");
  return ev.find("frozen 1") != std::string::npos;
}
}  // namespace

bool v2_frozen(const std::string& dir) { return read_control(dir + "/cgroup.freeze") == "1"; }

void v2_freeze(const std::string& dir, bool freeze) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) throw_errno("open cgroup " + dir);
  write_control(dfd.get(), dir, Write{"", "cgroup.freeze", freeze ? "1" : "0", "freeze", "", ""});
  long waited_us = 0, step = 100;
  while (events_frozen(dir) != freeze) {
    if (waited_us > 10'000'000) {
      if (freeze) write_control(dfd.get(), dir, Write{"", "cgroup.freeze", "0", "freeze", "", ""});
      throw Error(std::string(freeze ? "freeze " : "thaw ") + dir + ": cgroup.events did not report the state within 10s",
                  ErrorKind::Internal);
    }
    struct timespec ts{0, step * 1000L};
    ::nanosleep(&ts, nullptr);
    waited_us += step;
    step = std::min(step * 2, 10'000L);
  }
}

}  // namespace berth::runtime::cgroups
