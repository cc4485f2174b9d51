// linux.sysctl validation (apply_sysctls is declared in rootfs.hpp).
#pragma once

#include <string>
#include <string_view>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// The namespace that isolates a sysctl key ("ipc", "network", "uts"), or ""
// if the key is global to the host and must never be set by a container.
std::string sysctl_namespace(std::string_view key);

// Checks every linux.sysctl key against the container's namespaces without
// touching anything (call early, e.g. at create, for a clean error).
void validate_sysctls(const oci::Spec& spec);

}  // namespace berth::runtime
