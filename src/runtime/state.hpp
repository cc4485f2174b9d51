// Container state on disk: the file <root>/<id> (JSON), written atomically
// (temp + rename); the exec fifo of a created container is <root>/.<id>.fifo.
// No per-container directory: on ext4 a mkdir + rmdir costs 0.2-3 ms (a
// directory block, the Orlov allocator), a file 0.03 ms. Containers made by
// an older berth-runtime have a directory <root>/<id>/ with state.json and
// exec.fifo in it; those are still read, updated and deleted in place
// (ContainerState::legacy_dir).
//
// The recorded status is only a hint: the live status is derived from the
// init process (pid + its start time from /proc/<pid>/stat, so a reused pid
// is not mistaken for our init), the exec fifo (present = init waits for
// `start`) and the cgroup freezer (paused).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::runtime {

enum class Status { Creating, Created, Running, Paused, Stopped };
const char* status_name(Status s);

struct ContainerState {
  std::string id;
  std::string oci_version;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // field 22 of /proc/<pid>/stat
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC3339 UTC
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::string cgroup;       // Cgroup::to_json()
  std::string config;       // the spec (oci::to_json) as created
  Status recorded = Status::Creating;
  bool systemd_cgroup = false;
  bool own_cgroup_ns = false;
  // No mount namespace: the id of the rootfs mount made in the host's
  // (host_rootfs.hpp), which delete detaches; 0 otherwise.
  uint64_t host_rootfs_mount = 0;
  bool legacy_dir = false;  // <root>/<id>/state.json (older berth-runtime)
};

// Container ids: letters, digits, '_', '+', '-', '.', not "." or "..".
void validate_id(const std::string& id);

// <root>/<id>: the state file (a directory for legacy_dir containers).
std::string state_path(const std::string& root, const std::string& id);
std::string exec_fifo_path(const std::string& root, const std::string& id, bool legacy_dir = false);

// Claims the id: creates <root> (0700) if needed and an empty <root>/<id>
// (status "creating" until save_state); AlreadyExists if the id is taken.
void reserve_state(const std::string& root, const std::string& id);
void save_state(const std::string& root, const ContainerState& st);
// NotFound ("container X does not exist") when there is no state file.
ContainerState load_state(const std::string& root, const std::string& id);
// Removes the state file and the exec fifo (or a legacy dir); gone already is fine.
void remove_state(const std::string& root, const std::string& id, bool legacy_dir);
// Ids of every container under root (sorted).
std::vector<std::string> list_ids(const std::string& root);

// Start time of a live (non-zombie) process, nullopt if it is gone.
std::optional<uint64_t> process_start_time(pid_t pid, bool allow_zombie = false);
bool init_alive(const ContainerState& st);

// Live status (see the file comment). Opens the cgroup only when needed.
Status current_status(const std::string& root, const ContainerState& st);

// The state JSON of the OCI spec (runc's `state` output; also the hook stdin).
std::string state_json(const ContainerState& st, Status status, bool pretty);

}  // namespace berth::runtime
