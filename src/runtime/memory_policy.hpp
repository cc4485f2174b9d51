// linux.memoryPolicy: the NUMA memory policy of the container's processes
// (set_mempolicy(2); the init's and every exec's, as it is per task and
// an exec'd process descends from the runtime, not the init). Inherited
// across fork and execve, so it is set before the process's execve.
#pragma once

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// Validates the node list and the mode/node combination (prepare time).
void check_memory_policy(const oci::MemoryPolicy& policy);
void apply_memory_policy(const oci::MemoryPolicy& policy);

}  // namespace berth::runtime
