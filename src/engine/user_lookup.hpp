// Resolves Docker's --user forms (name, uid, name:group, uid:gid) against a
// container's own /etc/passwd and /etc/group, as Docker does at start: the
// OCI config needs numbers. Files are opened inside the rootfs
// (openat2 RESOLVE_IN_ROOT), so an image whose /etc/passwd is a symlink to
// a host path reads its own tree, never the host's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::engine {

struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/";
};

// Throws InvalidArgument ("unable to find user NAME: no matching entries in
// passwd file") for a name the image does not know, for an id outside runc's
// 0..2^31-1 (given, or in an entry of the image's files that the lookup
// uses), and for a user in more than NGROUPS_MAX groups.
ResolvedUser resolve_user(const std::string& rootfs, const std::string& spec);

// Reads a file of the container's tree ("" if missing), confined to rootfs.
std::string read_in_root(const std::string& rootfs, const std::string& path);

}  // namespace berth::engine
