// Timestamps of a VM's start, restore and live migration's switch-over,
// for finding where the time goes: with BERTH_VMM_TRACE set in the
// environment, each stage writes "TRACE <CLOCK_MONOTONIC seconds> <stage>"
// to stderr: the CLI's (stages "C ..."; the VMM's own "V ...", "M ..."
// until "go"), then a detached VM's vmm.log. Source and target on one
// host share the clock, so the logs merge by time (docs/performance.md,
// vm-snapshot). Costs one getenv per process when unset.
#pragma once

#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace berth::vmm {

inline void trace(const char* stage) {
  static const bool on = std::getenv("BERTH_VMM_TRACE") != nullptr;
  if (!on) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::fprintf(stderr, "TRACE %lld.%06ld %s\n", static_cast<long long>(ts.tv_sec), ts.tv_nsec / 1000, stage);
}

}  // namespace berth::vmm
