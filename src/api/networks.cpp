// /networks: docker's networks over berth's bridge networks
// (engine/networks.hpp), one engine call each, the same ones `berth
// network ...` makes. host and none are network modes, listed and
// inspected as docker shows them but not stored.
#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

bool is_mode(const std::string& ref) { return ref == "host" || ref == "none"; }

// host and none as docker lists them.
json pseudo_network(const std::string& name) {
  return json{{"Name", name},
              {"Id", name},
              {"Created", "0001-01-01T00:00:00Z"},  // a time, or the CLI fails to parse it
              {"Scope", "local"},
              {"Driver", name == "none" ? "null" : name},
              {"EnableIPv6", false},
              {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", json::array()}}},
              {"Internal", false},
              {"Attachable", false},
              {"Ingress", false},
              {"ConfigFrom", {{"Network", ""}}},
              {"ConfigOnly", false},
              {"Containers", json::object()},
              {"Options", json::object()},
              {"Labels", json::object()}};
}

bool keep(const json& n, const std::map<std::string, std::vector<std::string>>& f) {
  auto any = [&](const char* key, const std::function<bool(const std::string&)>& ok) { return filter_passes(f, key, ok); };
  std::string name = n["Name"], id = n["Id"];
  bool builtin = name == "bridge" || is_mode(name);
  return any("name", [&](const std::string& v) { return name.find(v) != std::string::npos; }) &&
         any("id", [&](const std::string& v) { return id.rfind(v, 0) == 0; }) &&
         any("driver", [&](const std::string& v) { return n["Driver"] == v; }) &&
         any("type", [&](const std::string& v) { return (v == "builtin") == builtin; }) &&
         any("label", [&](const std::string& v) {
           auto eq = v.find('=');
           const auto& l = n["Labels"];
           std::string k = v.substr(0, eq);
           return l.contains(k) && (eq == std::string::npos || l[k] == v.substr(eq + 1));
         });
}

void list(Exchange& x) {
  auto f = x.req.filters();
  for (auto& [k, v] : f)
    if (k != "name" && k != "id" && k != "driver" && k != "type" && k != "label")
      throw Error("invalid filter '" + k + "'", ErrorKind::InvalidArgument);
  json out = json::array();
  for (const auto& n : x.engine->networks().list()) {
    json j = engine::network_view(n, {});
    if (keep(j, f)) out.push_back(std::move(j));
  }
  for (const char* m : {"host", "none"}) {
    json j = pseudo_network(m);
    if (keep(j, f)) out.push_back(std::move(j));
  }
  x.json(200, out);
}

void inspect(Exchange& x) {
  std::string ref = x.req.param("id");
  if (is_mode(ref)) return x.json(200, pseudo_network(ref));
  auto& e = *x.engine;
  auto n = e.networks().find(ref);
  if (!n) {
    if (ref != engine::Networks::kDefault) throw Error("network " + ref + " not found", ErrorKind::NotFound);
    n = e.networks().get(ref);  // the default one, made on first use
  }
  x.json(200, engine::network_view(*n, e.network_containers(*n)));
}

void create(Exchange& x) {
  json b = x.req.json_body();
  engine::NetworkCreateRequest r;
  r.name = b.value("Name", "");
  if (r.name.empty()) throw Error("network create: Name is required", ErrorKind::InvalidArgument);
  if (is_mode(r.name) || r.name == engine::Networks::kDefault)
    throw StatusError(403, "operation is not permitted on predefined " + r.name + " network ");
  std::string driver = b.value("Driver", "");
  if (!driver.empty() && driver != "bridge") throw Error("plugin \"" + driver + "\" not found", ErrorKind::NotFound);
  r.internal = b.value("Internal", false);
  r.ipv6 = b.value("EnableIPv6", false);
  if (b.contains("Labels") && b["Labels"].is_object())
    for (auto& [k, v] : b["Labels"].items()) r.labels[k] = v.is_string() ? v.get<std::string>() : v.dump();
  if (b.contains("IPAM") && b["IPAM"].is_object() && b["IPAM"].contains("Config") && b["IPAM"]["Config"].is_array()) {
    // One config per family (docker's dual stack: an IPv4 and an IPv6 one).
    bool have4 = false, have6 = false;
    for (const auto& c : b["IPAM"]["Config"]) {
      if (!c.is_object()) throw Error("network create: IPAM.Config holds objects", ErrorKind::InvalidArgument);
      std::string subnet = c.value("Subnet", ""), gateway = c.value("Gateway", "");
      bool v6 = subnet.find(':') != std::string::npos || gateway.find(':') != std::string::npos;
      if ((v6 && have6) || (!v6 && have4))
        throw Error("network create: one IPAM config per address family in berth", ErrorKind::Unsupported);
      (v6 ? have6 : have4) = true;
      (v6 ? r.subnet6 : r.subnet) = subnet;
      (v6 ? r.gateway6 : r.gateway) = gateway;
      if (!c.value("IPRange", "").empty())
        throw Error("network create: IPRange is not supported by berth", ErrorKind::Unsupported);
    }
  }
  engine::Network n = x.engine->network_create(r);
  x.json(201, {{"Id", n.id}, {"Warning", ""}});
}

void remove(Exchange& x) {
  std::string ref = x.req.param("id");
  if (is_mode(ref)) throw StatusError(403, ref + " is a pre-defined network and cannot be removed");
  try {
    x.engine->network_remove(ref);
  } catch (const Error& e) {
    // docker answers 403 Forbidden to a network in use or a predefined one
    if (e.kind() == ErrorKind::FailedPrecondition) throw StatusError(403, e.what());
    throw;
  }
  x.no_content();
}

std::string container_of(const json& b) {
  std::string c = b.value("Container", "");
  if (c.empty()) throw Error("Container is required", ErrorKind::InvalidArgument);
  return c;
}

void connect(Exchange& x) {
  json b = x.req.json_body();
  std::string ref = x.req.param("id");
  std::string container = container_of(b);
  if (is_mode(ref))
    throw StatusError(403, "container cannot be disconnected from host network or connected to host network");
  engine::EndpointRequest r;
  if (b.contains("EndpointConfig") && b["EndpointConfig"].is_object()) {
    const auto& ec = b["EndpointConfig"];
    if (ec.contains("Aliases") && ec["Aliases"].is_array())
      for (auto& a : ec["Aliases"]) r.aliases.push_back(a.get<std::string>());
    if (ec.contains("IPAMConfig") && ec["IPAMConfig"].is_object()) {
      r.ip = ec["IPAMConfig"].value("IPv4Address", "");
      r.ip6 = ec["IPAMConfig"].value("IPv6Address", "");
    }
  }
  x.engine->network_connect(ref, container, r);
  x.reply(200, "", "");
}

void disconnect(Exchange& x) {
  json b = x.req.json_body();
  x.engine->network_disconnect(x.req.param("id"), container_of(b), b.value("Force", false));
  x.reply(200, "", "");
}

void prune(Exchange& x) {
  auto f = x.req.filters();
  if (!f.empty()) throw Error("network prune: filters are not supported by berth", ErrorKind::Unsupported);
  x.json(200, {{"NetworksDeleted", x.engine->network_prune()}});
}

}  // namespace

void add_network_routes(Router& r) {
  r.add("GET", "/networks", list);
  r.add("POST", "/networks/create", create);
  r.add("POST", "/networks/prune", prune);
  r.add("GET", "/networks/{id}", inspect);
  r.add("DELETE", "/networks/{id}", remove);
  r.add("POST", "/networks/{id}/connect", connect);
  r.add("POST", "/networks/{id}/disconnect", disconnect);
}

}  // namespace berth::api
