// Named network namespaces, as `ip netns add` makes them: a new namespace
// kept alive by a bind mount of its nsfs file, so that it outlives the
// process that made it and a container can join it by path
// (config.json's linux.namespaces), as Podman with netavark does.
#pragma once

#include <string>

#include "common/fd.hpp"

namespace berth::net {

// Makes a new, empty network namespace bound at `path` (its parent dir must
// exist); AlreadyExists if `path` is one already.
void create_netns(const std::string& path);
// Unbinds and removes `path`; false if there was nothing there. The
// namespace ends when its last user does.
bool remove_netns(const std::string& path);
bool is_netns(const std::string& path);
UniqueFd open_netns(const std::string& path);

}  // namespace berth::net
