// How a VM ended. Devices (i8042, ACPI PM, the vCPU loop) report here; the
// VMM's main loop waits on the eventfd and tears the VM down.
#pragma once

#include <sys/eventfd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace berth::vmm {

// Snapshotted: `berth vm snapshot --stop` wrote the VM out and ended it;
// Migrated: a live migration handed it over to another VMM.
enum class ExitReason { Running, Poweroff, Reset, Crash, Stopped, Error, Snapshotted, Migrated };

inline const char* exit_reason_name(ExitReason r) {
  switch (r) {
    case ExitReason::Running: return "running";
    case ExitReason::Poweroff: return "poweroff";
    case ExitReason::Reset: return "reset";
    case ExitReason::Crash: return "crash";
    case ExitReason::Stopped: return "stopped";
    case ExitReason::Error: return "error";
    case ExitReason::Snapshotted: return "snapshotted";
    case ExitReason::Migrated: return "migrated";
  }
  return "?";
}

class VmExit {
 public:
  VmExit() : efd_(static_cast<int>(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "create exit eventfd"))) {}
  // The first report wins; later ones (e.g. other vCPUs noticing) are ignored.
  void request(ExitReason r, std::string detail) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (reason_ != ExitReason::Running) return;
      reason_ = r;
      detail_ = std::move(detail);
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(efd_.get(), &one, 8);
  }
  bool done() const {
    std::lock_guard<std::mutex> l(mu_);
    return reason_ != ExitReason::Running;
  }
  ExitReason reason() const {
    std::lock_guard<std::mutex> l(mu_);
    return reason_;
  }
  std::string detail() const {
    std::lock_guard<std::mutex> l(mu_);
    return detail_;
  }
  int fd() const { return efd_.get(); }

 private:
  mutable std::mutex mu_;
  ExitReason reason_ = ExitReason::Running;
  std::string detail_;
  UniqueFd efd_;
};

}  // namespace berth::vmm
