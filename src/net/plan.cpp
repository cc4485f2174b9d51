#include "net/plan.hpp"

#include <nlohmann/json.hpp>

namespace berth::net {

using nlohmann::json;

void to_json(json& j, const BridgeNetwork& n) {
  j = {{"name", n.name}, {"bridge", n.bridge}, {"subnet", n.subnet}, {"gateway", n.gateway}, {"internal", n.internal}, {"dnsHosts", n.dns_hosts},
       {"subnet6", n.subnet6}, {"gateway6", n.gateway6}};
}
void from_json(const json& j, BridgeNetwork& n) {
  n.name = j.value("name", "");
  n.bridge = j.value("bridge", "");
  n.subnet = j.value("subnet", "");
  n.gateway = j.value("gateway", "");
  n.internal = j.value("internal", false);
  n.dns_hosts = j.value("dnsHosts", "");
  n.subnet6 = j.value("subnet6", "");
  n.gateway6 = j.value("gateway6", "");
}
void to_json(json& j, const PortForward& p) {
  j = {{"proto", p.proto},
       {"hostIp", p.host_ip},
       {"hostPort", p.host_port},
       {"containerIp", p.container_ip},
       {"containerPort", p.container_port},
       {"containerIp6", p.container_ip6}};
}
void from_json(const json& j, PortForward& p) {
  p.proto = j.value("proto", "tcp");
  p.host_ip = j.value("hostIp", "");
  p.host_port = j.value("hostPort", 0);
  p.container_ip = j.value("containerIp", "");
  p.container_port = j.value("containerPort", 0);
  p.container_ip6 = j.value("containerIp6", "");
}
void to_json(json& j, const Endpoint& e) {
  j = {{"network", e.network}, {"netns", e.netns},     {"hostIfname", e.host_ifname},     {"ifname", e.ifname},
       {"address", e.address}, {"mac", e.mac},         {"defaultRoute", e.default_route}, {"ports", e.ports},
       {"address6", e.address6}, {"tap", e.tap}};
}
void from_json(const json& j, Endpoint& e) {
  e.network = j.value("network", BridgeNetwork{});
  e.netns = j.value("netns", "");
  e.host_ifname = j.value("hostIfname", "");
  e.ifname = j.value("ifname", "eth0");
  e.address = j.value("address", "");
  e.mac = j.value("mac", "");
  e.default_route = j.value("defaultRoute", true);
  e.ports = j.value("ports", std::vector<PortForward>{});
  e.address6 = j.value("address6", "");
  e.tap = j.value("tap", false);
}

}  // namespace berth::net
