// Containers in user namespaces (`--userns auto`, `--uidmap`/`--gidmap`):
// the mappings' text form and the engine's pool of host id ranges.
//
// `--userns auto` gives each container its own range of 65536 host ids
// from a pool (kPoolStart up; /etc/subuid-style ranges for a `berth` user
// are not consulted: root owns the pool), recorded in the table
// userns_ranges beside the containers (one row per range, the container's
// id with it), so no two live containers share a host id. A range is given
// back on rm, and one whose container has no record any more (a create
// killed half-way) is taken back by the next allocation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/sqlite.hpp"
#include "common/userns.hpp"

namespace berth::engine {

struct HostConfig;

// "container:host:size" (podman's --uidmap). InvalidArgument naming `what`.
std::vector<IdMap> parse_id_maps(const std::vector<std::string>& texts, const std::string& what);
std::vector<std::string> id_maps_to_strings(const std::vector<IdMap>& maps);

// Checks --userns / --uidmap / --gidmap and fills in what they imply:
// an explicit --uidmap without --gidmap maps gids the same; "auto" is left
// for assign_userns_range (it needs the container's id). Throws
// InvalidArgument naming the flag.
void check_userns(HostConfig& h);
// --userns auto: the engine gives out (and takes back) the host ids.
bool wants_userns_range(const HostConfig& h);

class UsernsRanges {
 public:
  static constexpr uint32_t kPoolStart = 1000000000;  // far above any login uid
  static constexpr uint32_t kRangeSize = 65536;
  static constexpr uint32_t kRanges = 16384;  // the pool ends at 2^30 + 10^9

  explicit UsernsRanges(Database& db);
  // The first free range, recorded for container `id`. FailedPrecondition
  // when all are taken.
  uint32_t allocate(const std::string& id);
  void release(const std::string& id);

 private:
  Database& db_;
};

// The runtime enters the rootfs and bind-mounts /etc/hosts and the rest as
// the container's root, an unprivileged host uid: every directory above
// `path` must let others pass. FailedPrecondition naming the first that
// does not (a --root under a 0700 dir, say) and what to do.
void check_passable(const std::string& path, uint32_t host_uid);

// Fills h.uid_maps/gid_maps for --userns auto[:size=N] from a new range.
void assign_userns_range(HostConfig& h, UsernsRanges& ranges, const std::string& id);

}  // namespace berth::engine
