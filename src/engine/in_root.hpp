// Paths of a container's tree, resolved inside its root: openat2 with
// RESOLVE_IN_ROOT (absolute symlinks and ".." stop at the root) and
// RESOLVE_NO_MAGICLINKS, so a symlink the image or the container made can
// never lead us to a host file.
#pragma once

#include <string>

#include "common/fd.hpp"

namespace berth::engine {

// `flags` as for open(2) (O_PATH, O_DIRECTORY, O_RDONLY...; O_CLOEXEC is
// added). An empty fd with errno set when it cannot be opened.
UniqueFd open_in_root(int root_fd, const std::string& path, int flags);

// The directory of the running berth executable (berth-monitor,
// berth-runtime and berth-init are found beside it).
std::string executable_dir();

}  // namespace berth::engine
