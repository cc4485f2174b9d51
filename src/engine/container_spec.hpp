// A container as the engine stores and shows it, in Docker's terms: Config
// and HostConfig are the two halves of Docker's create request (what both
// `berth run`'s flags and the Engine API's POST /containers/create turn
// into), State is what `inspect` shows. Their JSON mapping uses Docker's
// field names (container_json.cpp), so records, `inspect` and the API share
// one shape, written once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/userns.hpp"

namespace berth::engine {

struct HealthConfig {
  std::vector<std::string> test;  // {"NONE"} | {"CMD", ...} | {"CMD-SHELL", "cmd"}
  int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0;
  int retries = 0;
};

// Docker's Config.
struct ContainerConfig {
  std::string hostname, domainname, user;
  bool attach_stdin = false, attach_stdout = true, attach_stderr = true;
  bool tty = false, open_stdin = false, stdin_once = false;
  std::vector<std::string> env;
  // As given, then the image's merged in at create (merge_image_config).
  std::optional<std::vector<std::string>> cmd;         // absent: none
  std::optional<std::vector<std::string>> entrypoint;  // absent, {} or {""}: none
  std::string image;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<int> stop_timeout;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> volumes;        // anonymous volume targets
  std::string mac_address;                 // --mac-address (of the first network)
};

// One -p: container port "80/tcp" published on host_ip:host_port
// ("" host_port: a free one picked at create).
struct PortBinding {
  std::string container_port;  // "80/tcp"
  std::string host_ip;         // "" = every address
  std::string host_port;
};

// What a container asks of one network (docker's EndpointSettings as
// given at create or connect) and what it got (address, MAC, interface).
struct EndpointSettings {
  std::string network;            // the network's name
  std::string network_id;
  std::vector<std::string> aliases;
  std::string requested_ip;       // --ip
  std::string ip_address;         // leased
  int prefix_len = 0;
  std::string gateway;
  std::string mac_address;
  std::string ifname;             // eth0, eth1, ...
  // On a dual-stack network (network create --ipv6); "" otherwise.
  std::string requested_ip6;      // --ip6
  std::string ipv6_address;       // leased
  int ipv6_prefix_len = 0;
  std::string ipv6_gateway;
};

// One -v / --mount / --tmpfs request.
struct MountRequest {
  std::string type;    // bind | volume | tmpfs
  std::string source;  // host path, volume name ("" = anonymous), unused for tmpfs
  std::string target;
  bool read_only = false;
  std::string options;  // tmpfs: "size=64m,mode=1777"; bind: propagation
};

struct Ulimit {
  std::string name;  // "nofile"
  int64_t soft = 0, hard = 0;
};

struct RestartPolicy {
  std::string name = "no";  // no | always | unless-stopped | on-failure
  int maximum_retry_count = 0;
};

// Docker's HostConfig.
struct HostConfig {
  std::vector<MountRequest> mounts;  // -v, --mount, --tmpfs, in order
  std::string network_mode = "none";
  RestartPolicy restart_policy;
  bool auto_remove = false;
  bool privileged = false;
  bool readonly_rootfs = false;
  bool init = false;
  std::vector<std::string> cap_add, cap_drop;
  std::vector<std::string> security_opt;  // seccomp=FILE|unconfined, no-new-privileges[:true]
  std::string seccomp_profile_json;       // the contents of seccomp=FILE, read by the face
  int64_t memory = 0;       // bytes; 0 = unlimited
  int64_t memory_swap = 0;  // memory + swap; -1 = unlimited swap
  int64_t nano_cpus = 0;
  int64_t cpu_shares = 0;
  int64_t pids_limit = 0;   // <= 0 = unlimited
  std::vector<Ulimit> ulimits;
  std::string userns_mode;  // "" | host | auto[:size=N] | private (podman's words)
  // A user namespace's mappings (container:host:size): from --uidmap and
  // --gidmap, or given out by the engine for --userns auto. Empty: none.
  std::vector<IdMap> uid_maps, gid_maps;
  std::string runtime;      // "" = berth-runtime; runc | crun | a path
  std::map<std::string, std::string> log_opts;  // max-size, max-file
  std::vector<PortBinding> port_bindings;  // -p
  bool publish_all = false;                // -P
  std::vector<std::string> extra_hosts;    // --add-host NAME:IP
  std::vector<std::string> dns, dns_search, dns_options;
};

struct HealthState {
  std::string status;  // starting | healthy | unhealthy
  int failing_streak = 0;
  std::string log_json = "[]";
  bool operator==(const HealthState&) const = default;
};

// Docker's State.
struct ContainerState {
  std::string status = "created";  // created | running | paused | restarting | exited | dead | removing
  int pid = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  std::string started_at = "0001-01-01T00:00:00Z";
  std::string finished_at = "0001-01-01T00:00:00Z";
  std::optional<HealthState> health;
  bool running() const { return status == "running" || status == "paused" || status == "restarting"; }
  bool operator==(const ContainerState&) const = default;
};

// A mount as resolved at create (Docker's MountPoint, `inspect`'s Mounts).
struct MountPoint {
  std::string type;         // bind | volume | tmpfs
  std::string name;         // volume name
  std::string source;       // host path
  std::string destination;
  std::string mode;         // "ro", "", tmpfs options
  bool rw = true;
  bool anonymous = false;
  bool copy_up = false;  // a new volume: filled with the image's content at the first start
};

struct Container {
  std::string id, name, created;
  std::string image_id;       // sha256:...
  std::string path;           // the process: path + args
  std::vector<std::string> args;
  ContainerConfig config;
  HostConfig host;
  ContainerState state;
  std::vector<MountPoint> mounts;
  int restart_count = 0;
  bool manually_stopped = false;
  std::string runtime_path;   // the executable that runs it
  // The networks it is on, in order (eth0 first): bridge networks only
  // (none, host and container:X are network modes without endpoints).
  std::vector<EndpointSettings> networks;
  // The published ports of its current run (host ports of -P picked at start).
  std::vector<PortBinding> ports;
  int creator_pid = 0;        // while status is "creating": the CLI making it,
  std::string creator_start;  // and its start time (process_identity.hpp)
  // Read from the store's listing columns (ContainerStore::listing), not
  // from its record: only what `ps` shows and sync folds is filled in
  // (network names, no Config or HostConfig beyond Image, Labels, Init and
  // NetworkMode). Never stored; the engine reads the record before any
  // change.
  bool listing_only = false;
};

void to_json(nlohmann::json& j, const ContainerConfig& c);
void from_json(const nlohmann::json& j, ContainerConfig& c);
void to_json(nlohmann::json& j, const HostConfig& h);
void from_json(const nlohmann::json& j, HostConfig& h);
void to_json(nlohmann::json& j, const ContainerState& s);
void from_json(const nlohmann::json& j, ContainerState& s);
void to_json(nlohmann::json& j, const MountPoint& m);
void from_json(const nlohmann::json& j, MountPoint& m);
// The stored record (Docker's inspect shape plus the engine's own fields).
void to_json(nlohmann::json& j, const Container& c);
void from_json(const nlohmann::json& j, Container& c);

}  // namespace berth::engine
