// Capability names <-> numbers, and applying the five OCI capability sets.
//
// Policy (docs/security.md): a name Berth does not know ("CAP_FOO") or the
// running kernel lacks (number > /proc/sys/kernel/cap_last_cap) is skipped
// with one warning listing them, as runc does and the runtime-spec asks
// ("MUST be logged as a warning", "SHOULD NOT fail"): leaving out a
// capability that cannot be granted only takes a privilege away, and a
// config written for a newer kernel runs on an older one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// "CAP_CHOWN" (case-insensitive, "CAP_" prefix optional) -> 0; nullopt if unknown.
std::optional<int> capability_from_name(std::string_view name);
// 0 -> "CAP_CHOWN"; "CAP_<n>" for numbers Berth has no name for.
std::string capability_name(int cap);
// Highest capability number Berth knows by name.
int last_known_capability();
// /proc/sys/kernel/cap_last_cap (read once per process).
int kernel_last_capability();

// A set of capabilities as a 64-bit mask (bit n = capability n).
struct CapSets {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};
// Drops (with one warning) the names that cannot be granted.
CapSets resolve_capabilities(const oci::Capabilities& caps);

// Steps of apply_capabilities(), split so a uid change fits between them:
// drop_bounding() needs CAP_SETPCAP (call while still root); set_capabilities()
// sets effective/permitted/inheritable and then raises ambient.
void drop_bounding(const CapSets& sets);
void set_capabilities(const CapSets& sets);

}  // namespace berth::runtime
