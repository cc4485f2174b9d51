// docker's -v / Binds syntax, read the same way by both faces (`berth run
// -v` and the Engine API's HostConfig.Binds).
#pragma once

#include <string>

#include "engine/container_spec.hpp"

namespace berth::engine {

// SRC:DST[:ro|rw], DST (anonymous volume), NAME:DST; a relative SRC
// (./dir) is made absolute. InvalidArgument naming the spec otherwise.
MountRequest parse_bind_spec(const std::string& spec);

}  // namespace berth::engine
