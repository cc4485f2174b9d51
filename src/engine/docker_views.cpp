#include "engine/docker_views.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "image/image_store.hpp"
#include "image/reference.hpp"

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

json ps_row(const Container& c, bool no_trunc, int64_t now, const std::function<bool(std::string_view)>& wanted) {
  json row = json::object();
  auto add = [&](const char* key, auto&& make) {
    if (!wanted || wanted(key)) row[key] = make();
  };
  add("ID", [&] { return no_trunc ? c.id : c.id.substr(0, 12); });
  add("Image", [&] { return c.config.image; });
  add("Command", [&] { return command_text(c, no_trunc); });
  add("CreatedAt", [&] {
    // Docker: "2006-01-02 15:04:05 -0700 MST"
    time_t t = static_cast<time_t>(image::parse_rfc3339(c.created));
    tm tmv{};
    gmtime_r(&t, &tmv);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tmv);
    return std::string(buf);
  });
  add("RunningFor", [&] { return human_duration(now - image::parse_rfc3339(c.created)) + " ago"; });
  add("Status", [&] { return status_text(c.state, now); });
  add("State", [&] { return c.state.status; });
  add("Names", [&] { return c.name; });
  add("Labels", [&] {
    std::string labels;
    for (const auto& [k, v] : c.config.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    return labels;
  });
  add("Mounts", [&] {
    std::string mounts;
    for (const auto& m : c.mounts) {
      std::string n = m.type == "volume" ? m.name : m.source;
      if (!no_trunc && n.size() > 15 && m.type == "volume") n = n.substr(0, 15) + "…";
      mounts += (mounts.empty() ? "" : ",") + n;
    }
    return mounts;
  });
  add("Ports", [&] { return ports_text(c); });
  add("Networks", [&] { return networks_text(c); });
  add("Size", [] { return std::string("0B"); });
  add("LocalVolumes", [&] {
    return std::to_string(std::count_if(c.mounts.begin(), c.mounts.end(),
                                        [](const MountPoint& m) { return m.type == "volume"; }));
  });
  return row;
}

std::string ports_text(const Container& c) {
  std::string out;
  if (!c.state.running()) return out;
  for (const auto& p : c.ports) {
    // docker's form: an IPv6 host address in brackets ("[::]:8080->80/tcp")
    std::string ip = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
    out += (out.empty() ? "" : ", ") + ip + ":" + p.host_port + "->" + p.container_port;
  }
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
                    {"IPv6Address", e.ipv6_address.empty() ? "" : e.ipv6_address + "/" + std::to_string(e.ipv6_prefix_len)}};
  json options = json::object();
  if (!n.bridge.empty()) options["com.docker.network.bridge.name"] = n.bridge;
  json ipam = json::array();
  if (!n.subnet.empty()) ipam.push_back({{"Subnet", n.subnet}, {"Gateway", n.gateway}});
  if (!n.subnet6.empty()) ipam.push_back({{"Subnet", n.subnet6}, {"Gateway", n.gateway6}});
  return json{{"Name", n.name},
              {"Id", n.id},
              {"Created", n.created},
              {"Scope", "local"},
              {"Driver", n.driver},
              {"EnableIPv6", n.ipv6},
              {"IPAM",
               {{"Driver", "default"},
                {"Options", json::object()},
                {"Config", ipam}}},
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
  for (const auto& e : c.networks) {
    json ipam_config = nullptr;
    if (!e.requested_ip.empty()) ipam_config["IPv4Address"] = e.requested_ip;
    if (!e.requested_ip6.empty()) ipam_config["IPv6Address"] = e.requested_ip6;
    networks[e.network] = {{"IPAMConfig", ipam_config},
                           {"Links", nullptr},
                           {"Aliases", e.aliases.empty() ? json(nullptr) : json(e.aliases)},
                           {"NetworkID", e.network_id},
                           {"EndpointID", live ? c.id.substr(0, 12) + e.ifname : ""},
                           {"Gateway", e.gateway},
                           {"IPAddress", e.ip_address},
                           {"IPPrefixLen", e.prefix_len},
                           {"IPv6Gateway", e.ipv6_gateway},
                           {"GlobalIPv6Address", e.ipv6_address},
                           {"GlobalIPv6PrefixLen", e.ipv6_prefix_len},
                           {"MacAddress", e.mac_address},
                           {"DriverOpts", nullptr}};
  }
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

json container_summary(const Container& c, int64_t now) {
  json mounts = json::array();
  for (const auto& m : c.mounts)
    mounts.push_back({{"Type", m.type}, {"Name", m.name}, {"Source", m.source}, {"Destination", m.destination},
                      {"Driver", m.type == "volume" ? "local" : ""}, {"Mode", m.mode}, {"RW", m.rw},
                      {"Propagation", m.type == "bind" ? "rprivate" : ""}});
  std::string command = c.path;
  for (const auto& a : c.args) command += " " + a;
  json networks = json::object();
  networks[c.host.network_mode] = {{"NetworkID", c.host.network_mode}, {"EndpointID", ""}, {"Gateway", ""},
                                   {"IPAddress", ""}, {"IPPrefixLen", 0}, {"MacAddress", ""}};
  return json{{"Id", c.id},
              {"Names", json::array({"/" + c.name})},
              {"Image", c.config.image},
              {"ImageID", c.image_id},
              {"Command", command},
              {"Created", image::parse_rfc3339(c.created)},
              {"Ports", json::array()},
              {"Labels", c.config.labels},
              {"State", c.state.status},
              {"Status", status_text(c.state, now)},
              {"HostConfig", {{"NetworkMode", c.host.network_mode}}},
              {"NetworkSettings", {{"Networks", networks}}},
              {"Mounts", mounts}};
}

json stats_view(const ContainerEngine::Stats& s, const std::string& read) {
  json blkio = json::array();
  if (s.blk_read) blkio.push_back({{"major", 0}, {"minor", 0}, {"op", "read"}, {"value", s.blk_read}});
  if (s.blk_write) blkio.push_back({{"major", 0}, {"minor", 0}, {"op", "write"}, {"value", s.blk_write}});
  auto cpu = [&](int64_t total, int64_t system) {
    return json{{"cpu_usage", {{"total_usage", total}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                {"system_cpu_usage", system},
                {"online_cpus", s.online_cpus},
                {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  };
  return json{{"id", s.id},
              {"name", "/" + s.name},
              {"read", read},
              {"preread", read},
              {"num_procs", 0},
              {"pids_stats", {{"current", s.pids}}},
              {"cpu_stats", cpu(s.cpu_ns, s.system_ns)},
              {"precpu_stats", cpu(s.precpu_ns, s.presystem_ns)},
              {"memory_stats", {{"usage", s.mem_usage}, {"limit", s.mem_limit}, {"stats", json::object()}}},
              {"blkio_stats", {{"io_service_bytes_recursive", blkio}}},
              {"networks", {{"eth0", {{"rx_bytes", s.net_rx}, {"tx_bytes", s.net_tx}, {"rx_packets", 0},
                                      {"tx_packets", 0}, {"rx_errors", 0}, {"tx_errors", 0},
                                      {"rx_dropped", 0}, {"tx_dropped", 0}}}}}};
}

json volume_view(const Volume& v) {
  return json{{"Name", v.name},     {"Driver", v.driver}, {"Mountpoint", v.mountpoint}, {"CreatedAt", v.created},
              {"Labels", v.labels}, {"Scope", "local"},   {"Options", json::object()}};
}

namespace {
std::string familiar_ref(const std::string& ref) {
  try {
    return image::parse_reference(ref).familiar();
  } catch (...) {
    return ref;
  }
}
void tags_and_digests(const image::ImageRecord& img, json& tags, json& digests) {
  tags = json::array();
  digests = json::array();
  for (auto& t : img.tags) {
    try {
      auto r = image::parse_reference(t);
      // name@digest (a pull by digest, maybe an index's) is a RepoDigest, as in docker.
      if (r.digest.empty()) tags.push_back(familiar_ref(t));
      std::string d = r.familiar_name() + "@" + (r.digest.empty() ? img.manifest_digest : r.digest);
      if (std::find(digests.begin(), digests.end(), d) == digests.end()) digests.push_back(d);
    } catch (...) {
      tags.push_back(t);
    }
  }
}
}  // namespace

json image_summary(image::ImageStore& store, const image::ImageRecord& img) {
  json tags, digests;
  tags_and_digests(img, tags, digests);
  json labels = json::object();
  try {
    auto cfg = store.config(img).raw;
    if (cfg.contains("config") && cfg["config"].contains("Labels") && cfg["config"]["Labels"].is_object())
      labels = cfg["config"]["Labels"];
  } catch (...) {
  }
  return json{{"Id", img.id},
              {"ParentId", ""},
              {"RepoTags", tags},
              {"RepoDigests", digests},
              {"Created", image::parse_rfc3339(img.created)},
              {"Size", img.size},
              {"SharedSize", -1},
              {"VirtualSize", img.size},
              {"Labels", labels},
              {"Containers", -1}};
}

json image_inspect_view(image::ImageStore& store, const image::ImageRecord& img) {
  auto cfg = store.config(img).raw;
  auto m = store.manifest(img);
  json tags, digests;
  tags_and_digests(img, tags, digests);
  auto chains = store.chain_ids(img);
  std::string lower;
  for (auto it = chains.rbegin(); it != chains.rend(); ++it) lower += (lower.empty() ? "" : ":") + store.layer_dir(*it);
  json layers = json::array();
  for (auto& l : m.layers) layers.push_back(oci::to_json(l));
  json j = {
      {"Id", img.id},
      {"RepoTags", tags},
      {"RepoDigests", digests},
      {"Parent", ""},
      {"Comment", ""},
      {"Created", img.created},
      {"Author", cfg.value("author", "")},
      {"Config", cfg.value("config", json::object())},
      {"Architecture", cfg.value("architecture", "")},
      {"Os", cfg.value("os", "")},
      {"Size", img.size},
      {"VirtualSize", img.size},
      {"RootFS", {{"Type", "layers"}, {"Layers", cfg["rootfs"]["diff_ids"]}}},
      {"GraphDriver", {{"Name", "overlay"}, {"Data", {{"LowerDir", lower}}}}},
      {"Manifest", {{"Digest", img.manifest_digest}, {"MediaType", m.media_type}, {"Layers", layers}}},
  };
  if (cfg.contains("history")) j["History"] = cfg["history"];
  return j;
}

json image_history_view(image::ImageStore& store, const image::ImageRecord& img) {
  auto cfg = store.config(img).raw;
  auto m = store.manifest(img);
  json hist = cfg.value("history", json::array());
  if (!hist.is_array() || hist.empty()) hist = json::array({json{{"created", img.created}}});
  json out = json::array();
  size_t layer = 0;
  std::vector<json> rows;
  for (size_t i = 0; i < hist.size(); ++i) {
    const json& h = hist[i];
    bool empty = h.value("empty_layer", false);
    int64_t size = 0;
    if (!empty && layer < m.layers.size()) size = m.layers[layer++].size;
    rows.push_back({{"Id", i + 1 == hist.size() ? img.id : "<missing>"},
                    {"Created", image::parse_rfc3339(h.value("created", img.created))},
                    {"CreatedBy", h.value("created_by", "")},
                    {"Tags", nullptr},
                    {"Size", size},
                    {"Comment", h.value("comment", "")}});
  }
  if (!rows.empty()) {
    json tags;
    json digests;
    tags_and_digests(img, tags, digests);
    rows.back()["Tags"] = tags;
  }
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) out.push_back(*it);
  return out;
}

}  // namespace berth::engine
