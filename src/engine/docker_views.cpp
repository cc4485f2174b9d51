#include "engine/docker_views.hpp"

#include <nlohmann/json.hpp>

#include "image/image_store.hpp"

namespace berth::engine {

using nlohmann::json;

std::string human_duration(int64_t s) {
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return std::to_string(s) + " seconds";
  int64_t m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return std::to_string(m) + " minutes";
  int64_t h = m / 60;
  if (h == 1) return "About an hour";
  if (h < 48) return std::to_string(h) + " hours";
  if (h < 24 * 7 * 2) return std::to_string(h / 24) + " days";
  if (h < 24 * 30 * 2) return std::to_string(h / 24 / 7) + " weeks";
  if (h < 24 * 365 * 2) return std::to_string(h / 24 / 30) + " months";
  return std::to_string(h / 24 / 365) + " years";
}

std::string status_text(const ContainerState& s, int64_t now) {
  auto since = [&](const std::string& t) {
    int64_t v = image::parse_rfc3339(t);
    return v > 0 ? human_duration(now - v) : std::string("0 seconds");
  };
  if (s.status == "running" || s.status == "paused") {
    std::string out = "Up " + since(s.started_at);
    if (s.status == "paused") return out + " (Paused)";
    if (s.health) {
      const std::string& h = s.health->status;
      out += h == "starting" ? " (health: starting)" : " (" + h + ")";
    }
    return out;
  }
  if (s.status == "restarting")
    return "Restarting (" + std::to_string(s.exit_code) + ") " + since(s.finished_at) + " ago";
  if (s.status == "exited") return "Exited (" + std::to_string(s.exit_code) + ") " + since(s.finished_at) + " ago";
  if (s.status == "dead") return "Dead";
  if (s.status == "removing") return "Removal In Progress";
  return "Created";
}

std::string command_text(const Container& c, bool no_trunc) {
  std::string cmd = c.path;
  for (const auto& a : c.args) cmd += " " + a;
  if (c.host.init) cmd = "/sbin/berth-init -- " + cmd;
  if (!no_trunc) {
    // Ellipsis at 20 characters, counted in characters, not bytes.
    size_t chars = 0, cut = std::string::npos;
    for (size_t i = 0; i < cmd.size(); ++i)
      if ((static_cast<unsigned char>(cmd[i]) & 0xc0) != 0x80 && ++chars == 20) cut = i;
    if (cut != std::string::npos && cut + 1 < cmd.size()) cmd = cmd.substr(0, cut) + "…";
  }
  return "\"" + cmd + "\"";
}

json ps_row(const Container& c, bool no_trunc, int64_t now) {
  std::string labels, mounts, volumes;
  for (const auto& [k, v] : c.config.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
  int local_volumes = 0;
  for (const auto& m : c.mounts) {
    std::string n = m.type == "volume" ? m.name : m.source;
    if (!no_trunc && n.size() > 15 && m.type == "volume") n = n.substr(0, 15) + "…";
    mounts += (mounts.empty() ? "" : ",") + n;
    if (m.type == "volume") ++local_volumes;
  }
  int64_t created = image::parse_rfc3339(c.created);
  std::string created_at;
  {
    // Docker: "2006-01-02 15:04:05 -0700 MST"
    time_t t = static_cast<time_t>(created);
    tm tmv{};
    gmtime_r(&t, &tmv);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tmv);
    created_at = buf;
  }
  return json{{"ID", no_trunc ? c.id : c.id.substr(0, 12)},
              {"Image", c.config.image},
              {"Command", command_text(c, no_trunc)},
              {"CreatedAt", created_at},
              {"RunningFor", human_duration(now - created) + " ago"},
              {"Status", status_text(c.state, now)},
              {"State", c.state.status},
              {"Names", c.name},
              {"Labels", labels},
              {"Mounts", mounts},
              {"Ports", ports_text(c)},
              {"Networks", networks_text(c)},
              {"Size", "0B"},
              {"LocalVolumes", std::to_string(local_volumes)}};
}

std::string ports_text(const Container& c) {
  std::string out;
  if (!c.state.running()) return out;
  for (const auto& p : c.ports) out += (out.empty() ? "" : ", ") + p.host_ip + ":" + p.host_port + "->" + p.container_port;
  return out;
}

std::string networks_text(const Container& c) {
  if (c.networks.empty()) return c.host.network_mode;
  std::string out;
  for (const auto& e : c.networks) out += (out.empty() ? "" : ",") + e.network;
  return out;
}

json network_view(const Network& n, const std::vector<Container>& containers) {
  json cs = json::object();
  for (const auto& c : containers)
    for (const auto& e : c.networks)
      if (e.network_id == n.id)
        cs[c.id] = {{"Name", c.name},
                    {"EndpointID", c.state.running() ? c.id.substr(0, 12) + e.ifname : ""},
                    {"MacAddress", e.mac_address},
                    {"IPv4Address", e.ip_address + "/" + std::to_string(e.prefix_len)},
                    {"IPv6Address", ""}};
  json options = json::object();
  if (!n.bridge.empty()) options["com.docker.network.bridge.name"] = n.bridge;
  return json{{"Name", n.name},
              {"Id", n.id},
              {"Created", n.created},
              {"Scope", "local"},
              {"Driver", n.driver},
              {"EnableIPv6", false},
              {"IPAM",
               {{"Driver", "default"},
                {"Options", json::object()},
                {"Config", n.subnet.empty() ? json::array() : json::array({{{"Subnet", n.subnet}, {"Gateway", n.gateway}}})}}},
              {"Internal", n.internal},
              {"Attachable", false},
              {"Ingress", false},
              {"ConfigFrom", {{"Network", ""}}},
              {"ConfigOnly", false},
              {"Containers", cs},
              {"Options", options},
              {"Labels", n.labels}};
}

json inspect_view(const Container& c, const std::string& dir, const std::string& state_dir, const std::string& log_path) {
  json j = c;
  for (const char* k : {"BerthManuallyStopped", "BerthRuntimePath", "BerthCreatorPid"}) j.erase(k);
  for (auto& m : j["Mounts"]) {
    m.erase("BerthAnonymous");
    m.erase("BerthCopyUp");
  }
  j["HostConfig"].erase("BerthSeccompProfile");
  j["ResolvConfPath"] = state_dir + "/etc/resolv.conf";
  j["HostnamePath"] = state_dir + "/etc/hostname";
  j["HostsPath"] = state_dir + "/etc/hosts";
  j["LogPath"] = log_path;
  j["MountLabel"] = "";
  j["ProcessLabel"] = "";
  j["AppArmorProfile"] = "";
  j["ExecIDs"] = nullptr;
  j["GraphDriver"] = {{"Name", "overlay2"},
                      {"Data", {{"UpperDir", dir + "/upper"}, {"WorkDir", dir + "/work"}, {"MergedDir", dir + "/merged"}}}};
  j.erase("BerthNetworks");
  j.erase("BerthPorts");
  json networks = json::object();
  bool live = c.state.running();
  for (const auto& e : c.networks)
    networks[e.network] = {{"IPAMConfig", e.requested_ip.empty() ? json(nullptr) : json{{"IPv4Address", e.requested_ip}}},
                           {"Links", nullptr},
                           {"Aliases", e.aliases.empty() ? json(nullptr) : json(e.aliases)},
                           {"NetworkID", e.network_id},
                           {"EndpointID", live ? c.id.substr(0, 12) + e.ifname : ""},
                           {"Gateway", e.gateway},
                           {"IPAddress", e.ip_address},
                           {"IPPrefixLen", e.prefix_len},
                           {"IPv6Gateway", ""},
                           {"GlobalIPv6Address", ""},
                           {"GlobalIPv6PrefixLen", 0},
                           {"MacAddress", e.mac_address},
                           {"DriverOpts", nullptr}};
  if (c.networks.empty() && c.host.network_mode.rfind("container:", 0) != 0)
    networks[c.host.network_mode] = {{"NetworkID", c.host.network_mode}, {"EndpointID", ""}, {"Gateway", ""},
                                     {"IPAddress", ""}, {"IPPrefixLen", 0}, {"MacAddress", ""}};
  json ports = json::object();
  for (const auto& p : c.config.exposed_ports) ports[p] = nullptr;
  for (const auto& b : c.host.port_bindings) ports[b.container_port] = nullptr;
  if (live)
    for (const auto& p : c.ports) {
      if (!ports[p.container_port].is_array()) ports[p.container_port] = json::array();
      ports[p.container_port].push_back({{"HostIp", p.host_ip}, {"HostPort", p.host_port}});
    }
  const EndpointSettings* first = c.networks.empty() ? nullptr : &c.networks[0];
  // The top-level fields are the default network's, as docker's.
  bool on_default = first && first->network == "bridge";
  j["NetworkSettings"] = {{"Bridge", ""},
                          {"SandboxID", ""},
                          {"HairpinMode", false},
                          {"Ports", ports},
                          {"SandboxKey", c.networks.empty() ? "" : state_dir.substr(0, state_dir.rfind("/containers/")) + "/netns/" + c.id},
                          {"IPAddress", on_default ? first->ip_address : ""},
                          {"IPPrefixLen", on_default ? first->prefix_len : 0},
                          {"Gateway", on_default ? first->gateway : ""},
                          {"MacAddress", on_default ? first->mac_address : ""},
                          {"Networks", networks}};
  return j;
}

}  // namespace berth::engine
