// The CPU scheduling of a container process. process.scheduler is applied
// by apply_process_settings() (init and exec) with sched_setattr(2), while
// the process still has CAP_SYS_NICE (real-time policies and a negative
// nice need it). process.execCPUAffinity is for `exec` only (the spec
// leaves the init out): the CPUs its process runs on before it joins the
// container's cgroup (initial) and after (final; without one, the init's).
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <string_view>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

void apply_scheduler(const oci::Scheduler& scheduler);

// Validates both lists (prepare time, before anything is made).
void check_exec_cpu_affinity(const oci::ExecCpuAffinity& affinity);
// The calling thread runs on `cpus` ("0-3,7"); the error names `field`.
void set_cpu_affinity(std::string_view cpus, std::string_view field);
void set_cpu_affinity(const cpu_set_t& cpus, std::string_view what);
// Where process `pid` may run (read by the runtime: the exec child, in the
// container's pid namespace, cannot name the init by its host pid).
cpu_set_t cpu_affinity_of(pid_t pid, std::string_view what);

}  // namespace berth::runtime
