// The flags of `berth run` and `berth create` (docker's), parsed into the
// engine's CreateRequest. Parsing and value checks only: the engine judges
// the request itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/container_engine.hpp"

namespace CLI {
class App;
}

namespace berth::cli {

struct RunFlags {
  bool detach = false, interactive = false, tty = false, rm = false;
  bool read_only = false, privileged = false, init = false, no_healthcheck = false;
  bool sig_proxy = true;
  std::string name, workdir, user, hostname, entrypoint, memory, memory_swap, cpus, restart = "no";
  std::string stop_signal, network, userns, pull = "missing", runtime, detach_keys;
  std::string health_cmd, health_interval, health_timeout, health_start_period;
  int health_retries = 0;
  int stop_timeout = -1;
  int64_t cpu_shares = 0, pids_limit = 0;
  bool entrypoint_set = false;
  std::vector<std::string> env, env_files, volumes, mounts, tmpfs, labels, cap_add, cap_drop, security_opts,
      ulimits, log_opts, uid_maps, gid_maps;
  std::vector<std::string> publish, add_hosts, dns, dns_search, dns_options, network_aliases;
  bool publish_all = false;
  std::string ip, ip6, mac_address;
  std::vector<std::string> rest;  // IMAGE [COMMAND [ARG...]]
};

// Adds the flags to `c` (which then stops parsing at the image: the rest
// belongs to the container's command).
void add_run_flags(CLI::App* c, RunFlags& f);
// Throws berth::Error(InvalidArgument) for a bad value, naming the flag.
engine::CreateRequest to_create_request(const RunFlags& f);

// "64m", "1g", "1024" -> bytes (docker's RAMInBytes); InvalidArgument
// naming `flag` otherwise.
int64_t parse_size(const std::string& text, const std::string& flag);

}  // namespace berth::cli
