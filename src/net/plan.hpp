// What the engine asks of the berth-network helper (src/cli/network_main.cpp),
// as JSON on its stdin, the way Podman hands netavark a network and its
// endpoints. The engine decides (names, addresses from its leases, ports);
// the helper only makes the kernel objects and knows no records.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace berth::net {

// One bridge network as the kernel needs it.
struct BridgeNetwork {
  std::string name;         // the user's name (for rule comments)
  std::string bridge;       // "berth0", "br-<id12>"
  std::string subnet;       // "10.88.0.0/16"
  std::string gateway;      // "10.88.0.1"
  bool internal = false;    // no route out, no NAT, no forwarding off the bridge
  std::string dns_hosts;    // a user network's names for its responder ("" = none: the default bridge)
  std::string subnet6;      // "fd00:1::/64" on a dual-stack network, else ""
  std::string gateway6;     // "fd00:1::1"
};

// A published port: host [ip:]port/proto -> container ip:port.
struct PortForward {
  std::string proto = "tcp";  // tcp | udp
  std::string host_ip;        // "" or "0.0.0.0": every local address
  int host_port = 0;
  std::string container_ip;
  int container_port = 0;
  // A dual-stack container's IPv6 address: a port published on every
  // address (or on an IPv6 one) is DNATed to it for IPv6 clients.
  std::string container_ip6;
};

// One interface of a container on one network.
struct Endpoint {
  BridgeNetwork network;
  std::string netns;        // bind-mounted netns file
  std::string host_ifname;  // the veth's host end, enslaved to the bridge
  std::string ifname;       // inside the container: eth0, eth1, ...
  std::string address;      // "10.88.0.2"
  std::string mac;          // "02:42:0a:58:00:02"
  std::string address6;     // "fd00:1::2" on a dual-stack network, else ""
  bool default_route = true;  // the first non-internal network carries the default route
  std::vector<PortForward> ports;
  // A micro-VM's persistent tap (host_ifname) on the bridge instead of a
  // veth: no netns, no address here (the guest sets its own), no ports.
  bool tap = false;
};

void to_json(nlohmann::json& j, const BridgeNetwork& n);
void from_json(const nlohmann::json& j, BridgeNetwork& n);
void to_json(nlohmann::json& j, const PortForward& p);
void from_json(const nlohmann::json& j, PortForward& p);
void to_json(nlohmann::json& j, const Endpoint& e);
void from_json(const nlohmann::json& j, Endpoint& e);

}  // namespace berth::net
