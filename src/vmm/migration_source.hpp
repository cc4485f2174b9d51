// The source side of a live migration (docs/vm.md, "Live migration"):
// pre-copy of guest RAM while the guest runs, in rounds over KVM's dirty
// log (and the pages devices wrote, which KVM does not see), until what is
// left fits the downtime budget at the bandwidth measured, or the rounds
// run out; then stop-and-copy: the VM pauses, the state of everything
// else (capture_state()) and the last dirty pages go over, the source lets go
// of its disks and the target resumes the VM. Only once the target says it
// runs does the source end (ExitReason::Migrated).
#pragma once

#include <atomic>
#include <string>

#include "vmm/machine.hpp"
#include "vmm/migration_stream.hpp"

namespace berth::vmm {

struct MigrationOptions {
  TcpAddress to;
  std::string token;
  double max_downtime_ms = 50;
  int max_rounds = 30;
  uint64_t max_bandwidth = 0;  // bytes per second; 0: no limit
};

struct MigrationStats {
  double total_ms = 0;
  double setup_ms = 0;     // until the target had built its VM
  // Paused here until the target's first vCPU entered KVM_RUN: by the
  // target's clock when both run on one boot of one host (CLOCK_MONOTONIC
  // is the same clock there), else until the source heard "running".
  double downtime_ms = 0;
  double heard_ms = 0;     // paused here until the source heard "running"
  double sent_ms = 0;      // paused here until the last byte was sent (what qemu calls downtime)
  uint64_t bytes = 0;      // sent on the stream
  int rounds = 0;          // of memory, the stop-and-copy one included
};

// Runs on a thread of its own while the I/O thread serves the devices, and
// is the only one to pause the VM meanwhile. On success the VM has ended
// here (reason "migrated"); on any failure (a peer that refuses, vanishes
// or answers garbage; `cancel` set) the VM runs on here as it did, and the
// error names what failed.
MigrationStats migrate(Machine& m, const std::string& name, const MigrationOptions& o,
                       const std::atomic<bool>& cancel);

}  // namespace berth::vmm
