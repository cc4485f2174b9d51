// Platforms ("linux/amd64", "linux/arm64/v8") and the choice of one
// manifest from a manifest list / OCI index. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "oci/image_spec.hpp"

namespace berth::registry {

// "os/arch[/variant]"; InvalidArgument naming the text when malformed.
// Architecture aliases are normalised as containerd does (x86_64 -> amd64,
// aarch64 -> arm64, arm64/v8 -> arm64).
oci::Platform parse_platform(std::string_view s);
std::string to_string(const oci::Platform& p);
// The platform this binary runs on (linux/amd64 here).
oci::Platform host_platform();

// The index entry for `want`; an entry for another platform, or an
// attestation (platform unknown/unknown), is never chosen. NotFound naming
// `what` and the platforms the index offers when none matches.
const oci::Descriptor& select_platform(const oci::Index& idx, const oci::Platform& want, const std::string& what);

}  // namespace berth::registry
