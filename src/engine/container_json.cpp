// Docker's JSON names for the container types (container_spec.hpp).
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "common/error.hpp"

#include "engine/container_spec.hpp"
#include "engine/user_namespace.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

// An integer field from a number that is an integer in T's range: nlohmann's
// get<int>() of 1e300 is a float-to-int cast out of range (undefined
// behaviour; seen while writing the fuzz target api_request).
template <typename T>
T checked_int(const json& v, const char* key) {
  if (!v.is_number_integer()) fail(std::string(key) + ": want an integer, not " + v.dump());
  bool in_range;
  if (v.is_number_unsigned()) {
    in_range = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else {
    int64_t x = v.get<int64_t>();
    in_range = x < 0 ? std::is_signed_v<T> && x >= static_cast<int64_t>(std::numeric_limits<T>::min())
                     : static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  }
  if (!in_range) fail(std::string(key) + ": " + v.dump() + " is out of range");
  return v.get<T>();
}

template <typename T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    out = checked_int<T>(*it, key);
  else
    it->get_to(out);
}

json string_set(const std::vector<std::string>& keys) {
  json o = json::object();
  for (auto& k : keys) o[k] = json::object();
  return o;
}

std::vector<std::string> set_keys(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_object())
    for (auto& [k, v] : it->items()) out.push_back(k);
  return out;
}

}  // namespace

void to_json(json& j, const ContainerConfig& c) {
  j = json{{"Hostname", c.hostname},
           {"Domainname", c.domainname},
           {"User", c.user},
           {"AttachStdin", c.attach_stdin},
           {"AttachStdout", c.attach_stdout},
           {"AttachStderr", c.attach_stderr},
           {"Tty", c.tty},
           {"OpenStdin", c.open_stdin},
           {"StdinOnce", c.stdin_once},
           {"Env", c.env},
           {"Cmd", c.cmd ? json(*c.cmd) : json(nullptr)},
           {"Image", c.image},
           {"Volumes", c.volumes.empty() ? json(nullptr) : string_set(c.volumes)},
           {"WorkingDir", c.working_dir},
           {"Entrypoint", c.entrypoint ? json(*c.entrypoint) : json(nullptr)},
           {"OnBuild", nullptr},
           {"Labels", c.labels}};
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = string_set(c.exposed_ports);
  if (!c.mac_address.empty()) j["MacAddress"] = c.mac_address;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.stop_timeout) j["StopTimeout"] = *c.stop_timeout;
  if (c.healthcheck) {
    const auto& h = *c.healthcheck;
    j["Healthcheck"] = {{"Test", h.test}};
    if (h.interval_ns) j["Healthcheck"]["Interval"] = h.interval_ns;
    if (h.timeout_ns) j["Healthcheck"]["Timeout"] = h.timeout_ns;
    if (h.start_period_ns) j["Healthcheck"]["StartPeriod"] = h.start_period_ns;
    if (h.retries) j["Healthcheck"]["Retries"] = h.retries;
  }
}

void from_json(const json& j, ContainerConfig& c) {
  get(j, "Hostname", c.hostname);
  get(j, "Domainname", c.domainname);
  get(j, "User", c.user);
  get(j, "AttachStdin", c.attach_stdin);
  get(j, "AttachStdout", c.attach_stdout);
  get(j, "AttachStderr", c.attach_stderr);
  get(j, "Tty", c.tty);
  get(j, "OpenStdin", c.open_stdin);
  get(j, "StdinOnce", c.stdin_once);
  get(j, "Env", c.env);
  if (j.contains("Cmd") && !j["Cmd"].is_null()) c.cmd = j["Cmd"].get<std::vector<std::string>>();
  if (j.contains("Entrypoint") && !j["Entrypoint"].is_null())
    c.entrypoint = j["Entrypoint"].get<std::vector<std::string>>();
  get(j, "Image", c.image);
  get(j, "WorkingDir", c.working_dir);
  get(j, "Labels", c.labels);
  get(j, "StopSignal", c.stop_signal);
  if (j.contains("StopTimeout") && !j["StopTimeout"].is_null()) c.stop_timeout = checked_int<int>(j["StopTimeout"], "StopTimeout");
  c.exposed_ports = set_keys(j, "ExposedPorts");
  get(j, "MacAddress", c.mac_address);
  c.volumes = set_keys(j, "Volumes");
  if (j.contains("Healthcheck") && j["Healthcheck"].is_object()) {
    HealthConfig h;
    const json& hj = j["Healthcheck"];
    get(hj, "Test", h.test);
    get(hj, "Interval", h.interval_ns);
    get(hj, "Timeout", h.timeout_ns);
    get(hj, "StartPeriod", h.start_period_ns);
    get(hj, "Retries", h.retries);
    c.healthcheck = h;
  }
}

void to_json(json& j, const HostConfig& h) {
  json binds = json::array(), mounts = json::array(), tmpfs = json::object();
  for (const auto& m : h.mounts) {
    if (m.type == "tmpfs") {
      tmpfs[m.target] = m.options;
      continue;
    }
    json mj = {{"Type", m.type}, {"Source", m.source}, {"Target", m.target}, {"ReadOnly", m.read_only}};
    if (!m.options.empty()) mj["Options"] = m.options;
    mounts.push_back(mj);
    binds.push_back((m.source.empty() ? std::string() : m.source + ":") + m.target + (m.read_only ? ":ro" : ""));
  }
  json ulimits = json::array();
  for (const auto& u : h.ulimits) ulimits.push_back({{"Name", u.name}, {"Soft", u.soft}, {"Hard", u.hard}});
  j = json{{"Binds", binds},
           {"Mounts", mounts},
           {"Tmpfs", tmpfs},
           {"NetworkMode", h.network_mode},
           {"RestartPolicy", {{"Name", h.restart_policy.name}, {"MaximumRetryCount", h.restart_policy.maximum_retry_count}}},
           {"AutoRemove", h.auto_remove},
           {"Privileged", h.privileged},
           {"ReadonlyRootfs", h.readonly_rootfs},
           {"Init", h.init},
           {"CapAdd", h.cap_add},
           {"CapDrop", h.cap_drop},
           {"SecurityOpt", h.security_opt},
           {"Memory", h.memory},
           {"MemorySwap", h.memory_swap},
           {"NanoCpus", h.nano_cpus},
           {"CpuShares", h.cpu_shares},
           {"PidsLimit", h.pids_limit},
           {"Ulimits", ulimits},
           {"UsernsMode", h.userns_mode},
           {"Runtime", h.runtime.empty() ? std::string("berth-runtime") : h.runtime},
           {"LogConfig", {{"Type", "json-file"}, {"Config", h.log_opts}}}};
  if (!h.seccomp_profile_json.empty()) j["BerthSeccompProfile"] = h.seccomp_profile_json;
  json ports = json::object();
  for (const auto& p : h.port_bindings) {
    if (!ports.contains(p.container_port)) ports[p.container_port] = json::array();
    ports[p.container_port].push_back({{"HostIp", p.host_ip}, {"HostPort", p.host_port}});
  }
  j["PortBindings"] = ports;
  j["PublishAllPorts"] = h.publish_all;
  j["ExtraHosts"] = h.extra_hosts;
  j["Dns"] = h.dns;
  j["DnsSearch"] = h.dns_search;
  j["DnsOptions"] = h.dns_options;
  if (!h.uid_maps.empty() || !h.gid_maps.empty())
    j["IDMappings"] = {{"UidMap", id_maps_to_strings(h.uid_maps)}, {"GidMap", id_maps_to_strings(h.gid_maps)}};
}

void from_json(const json& j, HostConfig& h) {
  if (j.contains("Mounts"))
    for (const auto& mj : j["Mounts"]) {
      MountRequest m;
      get(mj, "Type", m.type);
      get(mj, "Source", m.source);
      get(mj, "Target", m.target);
      get(mj, "ReadOnly", m.read_only);
      get(mj, "Options", m.options);
      h.mounts.push_back(m);
    }
  if (j.contains("Tmpfs") && j["Tmpfs"].is_object())
    for (auto& [target, opts] : j["Tmpfs"].items()) h.mounts.push_back({"tmpfs", "", target, false, opts.get<std::string>()});
  get(j, "NetworkMode", h.network_mode);
  if (j.contains("RestartPolicy")) {
    get(j["RestartPolicy"], "Name", h.restart_policy.name);
    get(j["RestartPolicy"], "MaximumRetryCount", h.restart_policy.maximum_retry_count);
  }
  get(j, "AutoRemove", h.auto_remove);
  get(j, "Privileged", h.privileged);
  get(j, "ReadonlyRootfs", h.readonly_rootfs);
  get(j, "Init", h.init);
  get(j, "CapAdd", h.cap_add);
  get(j, "CapDrop", h.cap_drop);
  get(j, "SecurityOpt", h.security_opt);
  get(j, "BerthSeccompProfile", h.seccomp_profile_json);
  get(j, "Memory", h.memory);
  get(j, "MemorySwap", h.memory_swap);
  get(j, "NanoCpus", h.nano_cpus);
  get(j, "CpuShares", h.cpu_shares);
  get(j, "PidsLimit", h.pids_limit);
  if (j.contains("Ulimits") && j["Ulimits"].is_array())
    for (const auto& u : j["Ulimits"]) {
      int64_t soft = 0, hard = 0;
      get(u, "Soft", soft);
      get(u, "Hard", hard);
      h.ulimits.push_back({u.value("Name", ""), soft, hard});
    }
  get(j, "UsernsMode", h.userns_mode);
  if (j.contains("IDMappings") && j["IDMappings"].is_object()) {
    std::vector<std::string> uids, gids;
    get(j["IDMappings"], "UidMap", uids);
    get(j["IDMappings"], "GidMap", gids);
    h.uid_maps = parse_id_maps(uids, "IDMappings.UidMap");
    h.gid_maps = parse_id_maps(gids, "IDMappings.GidMap");
  }
  get(j, "Runtime", h.runtime);
  if (h.runtime == "berth-runtime") h.runtime.clear();
  if (j.contains("LogConfig")) get(j["LogConfig"], "Config", h.log_opts);
  if (j.contains("PortBindings") && j["PortBindings"].is_object())
    for (auto& [port, list] : j["PortBindings"].items())
      if (list.is_array())
        for (const auto& b : list) h.port_bindings.push_back({port, b.value("HostIp", ""), b.value("HostPort", "")});
  get(j, "PublishAllPorts", h.publish_all);
  get(j, "ExtraHosts", h.extra_hosts);
  get(j, "Dns", h.dns);
  get(j, "DnsSearch", h.dns_search);
  get(j, "DnsOptions", h.dns_options);
}

void to_json(json& j, const ContainerState& s) {
  j = json{{"Status", s.status},
           {"Running", s.status == "running" || s.status == "paused"},
           {"Paused", s.status == "paused"},
           {"Restarting", s.status == "restarting"},
           {"OOMKilled", s.oom_killed},
           {"Dead", s.status == "dead"},
           {"Pid", s.pid},
           {"ExitCode", s.exit_code},
           {"Error", s.error},
           {"StartedAt", s.started_at},
           {"FinishedAt", s.finished_at}};
  if (s.health) {
    json log = json::parse(s.health->log_json, nullptr, false);
    j["Health"] = {{"Status", s.health->status},
                   {"FailingStreak", s.health->failing_streak},
                   {"Log", log.is_discarded() ? json::array() : log}};
  }
}

void from_json(const json& j, ContainerState& s) {
  get(j, "Status", s.status);
  get(j, "Pid", s.pid);
  get(j, "ExitCode", s.exit_code);
  get(j, "OOMKilled", s.oom_killed);
  get(j, "Error", s.error);
  get(j, "StartedAt", s.started_at);
  get(j, "FinishedAt", s.finished_at);
  if (j.contains("Health") && j["Health"].is_object()) {
    HealthState h;
    get(j["Health"], "Status", h.status);
    get(j["Health"], "FailingStreak", h.failing_streak);
    if (j["Health"].contains("Log")) h.log_json = j["Health"]["Log"].dump();
    s.health = h;
  }
}

void to_json(json& j, const MountPoint& m) {
  j = json{{"Type", m.type}, {"Source", m.source}, {"Destination", m.destination},
           {"Mode", m.mode}, {"RW", m.rw},          {"Propagation", m.type == "bind" ? "rprivate" : ""}};
  if (m.type == "volume") {
    j["Name"] = m.name;
    j["Driver"] = "local";
  }
  if (m.anonymous) j["BerthAnonymous"] = true;
  if (m.copy_up) j["BerthCopyUp"] = true;
}

void from_json(const json& j, MountPoint& m) {
  get(j, "Type", m.type);
  get(j, "Name", m.name);
  get(j, "Source", m.source);
  get(j, "Destination", m.destination);
  get(j, "Mode", m.mode);
  get(j, "RW", m.rw);
  get(j, "BerthAnonymous", m.anonymous);
  get(j, "BerthCopyUp", m.copy_up);
}

void to_json(json& j, const Container& c) {
  j = json{{"Id", c.id},
           {"Created", c.created},
           {"Path", c.path},
           {"Args", c.args},
           {"State", c.state},
           {"Image", c.image_id},
           {"Name", "/" + c.name},
           {"RestartCount", c.restart_count},
           {"Driver", "overlay2"},
           {"Platform", "linux"},
           {"HostConfig", c.host},
           {"Mounts", c.mounts},
           {"Config", c.config},
           {"BerthManuallyStopped", c.manually_stopped},
           {"BerthRuntimePath", c.runtime_path}};
  json nets = json::array();
  for (const auto& e : c.networks) {
    nets.push_back({{"Network", e.network},
                    {"NetworkID", e.network_id},
                    {"Aliases", e.aliases},
                    {"RequestedIP", e.requested_ip},
                    {"IPAddress", e.ip_address},
                    {"IPPrefixLen", e.prefix_len},
                    {"Gateway", e.gateway},
                    {"MacAddress", e.mac_address},
                    {"Ifname", e.ifname}});
    if (!e.ipv6_address.empty() || !e.requested_ip6.empty()) {
      nets.back()["RequestedIP6"] = e.requested_ip6;
      nets.back()["GlobalIPv6Address"] = e.ipv6_address;
      nets.back()["GlobalIPv6PrefixLen"] = e.ipv6_prefix_len;
      nets.back()["IPv6Gateway"] = e.ipv6_gateway;
    }
  }
  j["BerthNetworks"] = nets;
  json ports = json::array();
  for (const auto& p : c.ports)
    ports.push_back({{"ContainerPort", p.container_port}, {"HostIp", p.host_ip}, {"HostPort", p.host_port}});
  j["BerthPorts"] = ports;
  if (c.creator_pid) j["BerthCreatorPid"] = c.creator_pid;
  if (!c.creator_start.empty()) j["BerthCreatorStart"] = c.creator_start;
}

void from_json(const json& j, Container& c) {
  get(j, "Id", c.id);
  get(j, "Created", c.created);
  get(j, "Path", c.path);
  get(j, "Args", c.args);
  get(j, "State", c.state);
  get(j, "Image", c.image_id);
  get(j, "Name", c.name);
  if (!c.name.empty() && c.name[0] == '/') c.name.erase(0, 1);
  get(j, "RestartCount", c.restart_count);
  get(j, "HostConfig", c.host);
  get(j, "Mounts", c.mounts);
  get(j, "Config", c.config);
  get(j, "BerthManuallyStopped", c.manually_stopped);
  get(j, "BerthRuntimePath", c.runtime_path);
  get(j, "BerthCreatorPid", c.creator_pid);
  if (j.contains("BerthNetworks") && j["BerthNetworks"].is_array())
    for (const auto& n : j["BerthNetworks"]) {
      EndpointSettings e;
      get(n, "Network", e.network);
      get(n, "NetworkID", e.network_id);
      get(n, "Aliases", e.aliases);
      get(n, "RequestedIP", e.requested_ip);
      get(n, "IPAddress", e.ip_address);
      get(n, "IPPrefixLen", e.prefix_len);
      get(n, "Gateway", e.gateway);
      get(n, "MacAddress", e.mac_address);
      get(n, "Ifname", e.ifname);
      get(n, "RequestedIP6", e.requested_ip6);
      get(n, "GlobalIPv6Address", e.ipv6_address);
      get(n, "GlobalIPv6PrefixLen", e.ipv6_prefix_len);
      get(n, "IPv6Gateway", e.ipv6_gateway);
      c.networks.push_back(e);
    }
  if (j.contains("BerthPorts") && j["BerthPorts"].is_array())
    for (const auto& p : j["BerthPorts"])
      c.ports.push_back({p.value("ContainerPort", ""), p.value("HostIp", ""), p.value("HostPort", "")});
  get(j, "BerthCreatorStart", c.creator_start);
}

}  // namespace berth::engine
