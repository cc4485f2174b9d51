// Container state on disk: <root>/<id>/state.json, written atomically.
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
};

// Container ids: letters, digits, '_', '+', '-', '.', not "." or "..".
void validate_id(const std::string& id);

std::string state_dir(const std::string& root, const std::string& id);
std::string exec_fifo_path(const std::string& root, const std::string& id);

void save_state(const std::string& root, const ContainerState& st);
// NotFound ("container X does not exist") when there is no state dir.
ContainerState load_state(const std::string& root, const std::string& id);
// Ids of every container dir under root (sorted).
std::vector<std::string> list_ids(const std::string& root);

// Start time of a live (non-zombie) process, nullopt if it is gone.
std::optional<uint64_t> process_start_time(pid_t pid, bool allow_zombie = false);
bool init_alive(const ContainerState& st);

// Live status (see the file comment). Opens the cgroup only when needed.
Status current_status(const std::string& root, const ContainerState& st);

// The state JSON of the OCI spec (runc's `state` output; also the hook stdin).
std::string state_json(const ContainerState& st, Status status, bool pretty);

std::string now_rfc3339();

}  // namespace berth::runtime
