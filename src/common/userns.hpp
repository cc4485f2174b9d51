// User namespaces as the host side uses them: an fd to one with given id
// mappings (what mount_setattr(MOUNT_ATTR_IDMAP) takes to idmap a mount),
// and running a piece of work with the filesystem ids of a mapped user.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace berth {

// `size` ids from container_id up, seen from the host as host_id up.
struct IdMap {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// "C H S\n" lines, as /proc/PID/uid_map takes them.
std::string id_map_text(const std::vector<IdMap>& maps);
// The host id that container id `id` maps to; nullopt-like -1 if unmapped.
int64_t host_id_of(const std::vector<IdMap>& maps, uint32_t id);

// A new user namespace with these mappings, held by the returned fd: a
// child unshares it, we write its maps and open it, and the child exits
// (the fd keeps the namespace alive). `what` prefixes errors.
UniqueFd open_userns(const std::vector<IdMap>& uids, const std::vector<IdMap>& gids, const std::string& what);

// Runs `fn` in a forked child whose filesystem uid and gid are `uid`/`gid`
// and whose effective capabilities are all it is permitted (the change of
// fsuid drops the file ones). Files the child creates are owned by those
// ids, and an overlayfs it mounts works with them: what an idmapped upper
// layer needs, whose owner must map through the idmap (docs/containers.md,
// user namespaces). An exception in `fn` is rethrown here with its text.
// The child keeps only fds 0-2 and `keep_fds` open (see userns.cpp).
void run_with_fsids(uint32_t uid, uint32_t gid, const std::vector<int>& keep_fds, const std::function<void()>& fn);
// Runs `fn` in a forked child that has joined the user namespace
// `userns_fd` as its root: files it reads show the ids the container sees,
// files it makes get the owners the container would give them.
void run_as_userns_root(int userns_fd, const std::vector<int>& keep_fds, const std::function<void()>& fn);

}  // namespace berth
