#include "runtime/scheduler.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "runtime/id_list.hpp"

namespace berth::runtime {

namespace {

// sched_setattr(2)'s struct (linux/sched/types.h, which clashes with
// glibc's <sched.h>).
struct SchedAttr {
  uint32_t size;
  uint32_t policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};

// The runtime-spec's names; SCHED_ISO was never merged into Linux (4 is
// reserved for it), so the kernel answers EINVAL, named in the error.
unsigned policy_number(const std::string& p) {
  if (p == "SCHED_FIFO") return SCHED_FIFO;
  if (p == "SCHED_RR") return SCHED_RR;
  if (p == "SCHED_BATCH") return SCHED_BATCH;
  if (p == "SCHED_ISO") return 4;
  if (p == "SCHED_IDLE") return SCHED_IDLE;
  if (p == "SCHED_DEADLINE") return SCHED_DEADLINE;
  return SCHED_NORMAL;  // SCHED_OTHER (the parser knows no other name)
}

uint64_t flag_bits(const std::vector<std::string>& flags) {
  uint64_t bits = 0;
  for (const auto& f : flags) {
    if (f == "SCHED_FLAG_RESET_ON_FORK") bits |= SCHED_FLAG_RESET_ON_FORK;
    if (f == "SCHED_FLAG_RECLAIM") bits |= SCHED_FLAG_RECLAIM;
    if (f == "SCHED_FLAG_DL_OVERRUN") bits |= SCHED_FLAG_DL_OVERRUN;
    if (f == "SCHED_FLAG_KEEP_POLICY") bits |= SCHED_FLAG_KEEP_POLICY;
    if (f == "SCHED_FLAG_KEEP_PARAMS") bits |= SCHED_FLAG_KEEP_PARAMS;
    if (f == "SCHED_FLAG_UTIL_CLAMP_MIN") bits |= SCHED_FLAG_UTIL_CLAMP_MIN;
    if (f == "SCHED_FLAG_UTIL_CLAMP_MAX") bits |= SCHED_FLAG_UTIL_CLAMP_MAX;
  }
  return bits;
}

}  // namespace

void apply_scheduler(const oci::Scheduler& s) {
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.policy = policy_number(s.policy);
  attr.flags = flag_bits(s.flags);
  attr.nice = s.nice;
  attr.priority = static_cast<uint32_t>(s.priority);
  attr.runtime = s.runtime;
  attr.deadline = s.deadline;
  attr.period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0)
    throw_errno("process.scheduler: sched_setattr " + s.policy + " (nice " + std::to_string(s.nice) +
                ", priority " + std::to_string(s.priority) + ")");
}

void check_exec_cpu_affinity(const oci::ExecCpuAffinity& a) {
  if (!a.initial.empty()) parse_id_list(a.initial, "process.execCPUAffinity.initial");
  if (!a.final_cpus.empty()) parse_id_list(a.final_cpus, "process.execCPUAffinity.final");
}

void set_cpu_affinity(std::string_view cpus, std::string_view field) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (unsigned cpu : parse_id_list(cpus, field)) {
    if (cpu >= CPU_SETSIZE) fail(std::string(field) + ": CPU " + std::to_string(cpu) + " is out of range");
    CPU_SET(cpu, &set);
  }
  set_cpu_affinity(set, std::string(field) + ": run on CPUs " + std::string(cpus));
}

void set_cpu_affinity(const cpu_set_t& cpus, std::string_view what) {
  if (::sched_setaffinity(0, sizeof cpus, &cpus) != 0) throw_errno(what);
}

cpu_set_t cpu_affinity_of(pid_t pid, std::string_view what) {
  cpu_set_t set;
  if (::sched_getaffinity(pid, sizeof set, &set) != 0)
    throw_errno(std::string(what) + ": read the CPU affinity of pid " + std::to_string(pid));
  return set;
}

}  // namespace berth::runtime
