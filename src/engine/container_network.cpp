// ContainerEngine: networks and a container's endpoints on them.
//
// A container on a bridge network gets, at create, a lease per network
// (Networks); at each start, a network namespace of its own bound at
// <state>/netns/<id>, with a veth pair per network (eth0, eth1, ... inside,
// vb<id10><n> on the bridge), addresses, its default route and its
// published ports, made by the berth-network helper (net/bridge_driver.hpp)
// before the runtime starts it; config.json's linux.namespaces joins that
// namespace by path, so restarts by the monitor find it as it was. Whoever
// notices that a container is no longer live (stop, rm, or any command's
// sync of a container whose run ended) tears the namespace down again; the
// leases go with rm.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "common/subprocess.hpp"
#include "engine/container_engine.hpp"
#include "engine/in_root.hpp"
#include "engine/network_helper.hpp"
#include "engine/vm_network.hpp"
#include "engine/process_identity.hpp"
#include "net/ip6_address.hpp"
#include "net/ip_address.hpp"
#include "net/plan.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

bool is_user_network(const Network& n) { return n.name != Networks::kDefault; }

struct PortSpec {
  int port = 0;
  std::string proto;
};

PortSpec parse_container_port(const std::string& text) {
  PortSpec p;
  auto slash = text.find('/');
  std::string num = text.substr(0, slash);
  p.proto = slash == std::string::npos ? "tcp" : text.substr(slash + 1);
  if (p.proto != "tcp" && p.proto != "udp") fail("invalid port " + text + ": the protocol must be tcp or udp");
  if (num.empty() || num.size() > 5 || num.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(num) < 1 || std::stoi(num) > 65535)
    fail("invalid port " + text + ": want 1..65535");
  p.port = std::stoi(num);
  return p;
}

int parse_host_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(text) < 1 || std::stoi(text) > 65535)
    fail("invalid host port " + text + ": want 1..65535");
  return std::stoi(text);
}

// Binds host_ip:port/proto for a moment: the kernel says whether a
// program holds it. Port 0 picks a free one; returns the port.
int probe_port(const std::string& host_ip, int port, const std::string& proto) {
  bool v6 = host_ip.find(':') != std::string::npos;
  UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET, (proto == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("socket");
  sockaddr_storage ss{};
  socklen_t alen = 0;
  if (v6) {
    int one = 1;  // [::] is IPv6's every address, not IPv4's too
    ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET6, host_ip.c_str(), &a6->sin6_addr) != 1) fail("invalid IPv6 host address " + host_ip);
    alen = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    a4->sin_addr.s_addr = htonl(host_ip.empty() ? INADDR_ANY : net::parse_ipv4(host_ip, "host ip").value);
    alen = sizeof *a4;
  }
  std::string where = (host_ip.empty() ? "0.0.0.0" : v6 ? "[" + host_ip + "]" : host_ip) + ":" + std::to_string(port) + "/" + proto;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), alen) != 0) {
    if (errno == EADDRINUSE)
      throw Error("publish " + where + ": the port is already in use by another program", ErrorKind::AlreadyExists);
    if (errno == EADDRNOTAVAIL)
      throw Error("publish " + where + ": " + host_ip + " is not an address of this host", ErrorKind::InvalidArgument);
    throw_errno("publish " + where);
  }
  socklen_t len = sizeof ss;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace

std::string ContainerEngine::netns_path(const std::string& id) const { return state_ + "/netns/" + id; }

void ContainerEngine::plan_network(Container& c, const EndpointRequest& r) {
  std::string& mode = c.host.network_mode;
  if (mode.empty()) mode = "none";
  if (mode == "default") mode = Networks::kDefault;
  if (!c.config.mac_address.empty() && !valid_mac(c.config.mac_address))
    fail("invalid MAC address: " + c.config.mac_address);
  for (const auto& b : c.host.port_bindings) {
    parse_container_port(b.container_port);
    if (!b.host_port.empty()) parse_host_port(b.host_port);
    if (b.host_ip.find(':') != std::string::npos) {
      net::parse_ipv6(b.host_ip, "-p [" + b.host_ip + "]");
      // A DNATed packet from ::1 cannot leave the host: IPv6 has no
      // route_localnet, and the container's kernel drops a loopback
      // source arriving on eth0 (RFC 4291 2.5.3).
      if (net::parse_ipv6(b.host_ip, "-p") == net::parse_ipv6("::1", "-p"))
        fail("-p [::1]:" + b.host_port + ":" + b.container_port +
             ": IPv6 loopback cannot be published (a packet from ::1 may not leave the host); publish on "
             "127.0.0.1, on every address, or on a host IPv6 address");
    } else if (!b.host_ip.empty() && b.host_ip != "0.0.0.0") {
      net::parse_ipv4(b.host_ip, "-p " + b.host_ip);
    }
  }
  for (const auto& h : c.host.extra_hosts) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) fail("invalid argument \"" + h + "\" for \"--add-host\" flag: want HOST:IP");
    std::string ip = h.substr(colon + 1);
    if (!net::is_ipv4(ip)) fail("invalid argument \"" + h + "\" for \"--add-host\" flag: invalid IP address " + ip);
  }
  for (const auto& d : c.host.dns)
    if (!net::is_ipv4(d)) fail("invalid argument \"" + d + "\" for \"--dns\" flag: not an IPv4 address");
  bool publishes = !c.host.port_bindings.empty() || c.host.publish_all;
  if (mode == "none" || mode == "host" || mode.rfind("container:", 0) == 0) {
    if (!r.ip.empty()) fail("--ip: the container is on no network (--network " + mode + ")");
    if (!r.ip6.empty()) fail("--ip6: the container is on no network (--network " + mode + ")");
    if (!r.aliases.empty()) fail("--network-alias: the container is on no network (--network " + mode + ")");
    if (mode.rfind("container:", 0) == 0) {
      if (publishes) fail("conflicting options: port publishing and the container type network mode");
      Container other = store_->get(mode.substr(10));
      mode = "container:" + other.id;
    }
    return;
  }
  Network n = networks_->get(mode);
  if (!is_user_network(n) && (!r.ip.empty() || !r.ip6.empty()))
    fail("user specified IP address is supported on user defined networks only");
  if (!is_user_network(n) && !r.aliases.empty())
    fail("network-scoped alias is supported only for containers in user defined networks");
  if (!r.ip6.empty() && n.subnet6.empty())
    fail("--ip6 " + r.ip6 + ": network " + n.name + " has no IPv6 subnet (network create --ipv6)");
  for (const auto& b : c.host.port_bindings)
    if (b.host_ip.find(':') != std::string::npos && n.subnet6.empty())
      fail("-p [" + b.host_ip + "]:" + b.host_port + ":" + b.container_port + ": network " + n.name +
           " has no IPv6 subnet, so nothing would answer there (network create --ipv6)");
  mode = n.name;
}

EndpointSettings ContainerEngine::lease_endpoint(const Container& c, const Network& n, const EndpointRequest& r,
                                                 size_t index) {
  EndpointSettings e;
  e.network = n.name;
  e.network_id = n.id;
  e.aliases = r.aliases;
  e.requested_ip = r.ip;
  e.requested_ip6 = r.ip6;
  e.ip_address = networks_->lease(n, c.id, r.ip);
  try {
    e.ipv6_address = networks_->lease6(n, c.id, r.ip6);
  } catch (...) {
    networks_->release(c.id, n.id);  // both or neither
    throw;
  }
  e.prefix_len = net::parse_subnet(n.subnet, "network " + n.name).prefix;
  e.gateway = n.gateway;
  if (!e.ipv6_address.empty()) {
    e.ipv6_prefix_len = net::parse_subnet6(n.subnet6, "network " + n.name).prefix;
    e.ipv6_gateway = n.gateway6;
  }
  e.mac_address = index == 0 && !c.config.mac_address.empty() ? c.config.mac_address : mac_for_address(e.ip_address);
  e.ifname = "eth" + std::to_string(index);
  return e;
}

namespace {

// The veth's host end is named after the container and its interface
// (eth1 -> vb<id10>1), so teardown finds it from the record alone.
net::Endpoint endpoint_plan(const Container& c, const EndpointSettings& e, const Network& n, const std::string& netns) {
  net::Endpoint p;
  p.network = {n.name, n.bridge, n.subnet, n.gateway, n.internal, "", n.subnet6, n.gateway6};
  // User networks resolve their containers' names (docker's embedded DNS);
  // the default bridge does not, as docker's.
  if (is_user_network(n)) p.network.dns_hosts = netns.substr(0, netns.rfind('/')) + "/dns-" + n.id + ".hosts";
  p.netns = netns;
  p.host_ifname = "vb" + c.id.substr(0, 10) + e.ifname.substr(3);
  p.ifname = e.ifname;
  p.address = e.ip_address;
  p.address6 = e.ipv6_address;
  p.mac = e.mac_address;
  return p;
}

}  // namespace

void ContainerEngine::run_network_helper(const std::string& verb, const std::string& request) const {
  engine::run_network_helper(verb, request);
}

std::string ContainerEngine::setup_network(Container& c) {
  c.ports.clear();
  if (c.networks.empty()) return "";
  std::string ns = netns_path(c.id);
  fs::mkdir_p(state_ + "/netns", 0700);
  // Published ports: what -p asked, and -P's exposed ports on free host ports.
  std::vector<PortBinding> want = c.host.port_bindings;
  if (c.host.publish_all)
    for (const auto& p : c.config.exposed_ports)
      if (std::none_of(want.begin(), want.end(), [&](const PortBinding& b) { return b.container_port == p; }))
        want.push_back({p, "", ""});
  std::vector<Container> others;
  if (!want.empty())
    for (auto& o : store_->list())
      if (o.id != c.id && o.state.running()) others.push_back(std::move(o));
  std::vector<net::PortForward> forwards;
  for (auto& b : want) {
    PortSpec cp = parse_container_port(b.container_port);
    std::string ip = b.host_ip == "0.0.0.0" ? "" : b.host_ip;
    int hp = b.host_port.empty() ? probe_port(ip, 0, cp.proto) : parse_host_port(b.host_port);
    std::string where = (ip.empty() ? "0.0.0.0" : ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(hp);
    for (const auto& o : others)
      for (const auto& op : o.ports) {
        std::string oip = op.host_ip == "0.0.0.0" ? "" : op.host_ip;
        if (op.host_port == std::to_string(hp) && parse_container_port(op.container_port).proto == cp.proto &&
            (oip.empty() || ip.empty() || oip == ip))
          throw Error("Bind for " + where + " failed: port is already allocated (container " + o.name + ")",
                      ErrorKind::AlreadyExists);
      }
    for (const auto& f : forwards)
      if (f.host_port == hp && f.proto == cp.proto && (f.host_ip.empty() || ip.empty() || f.host_ip == ip))
        throw Error("Bind for " + where + " failed: port is already allocated", ErrorKind::AlreadyExists);
    if (!b.host_port.empty()) probe_port(ip, hp, cp.proto);
    c.ports.push_back({std::to_string(cp.port) + "/" + cp.proto, ip.empty() ? "0.0.0.0" : ip, std::to_string(hp)});
    forwards.push_back({cp.proto, ip, hp, c.networks[0].ip_address, cp.port, c.networks[0].ipv6_address});
  }
  std::vector<net::Endpoint> eps;
  bool route_taken = false;
  for (size_t i = 0; i < c.networks.size(); ++i) {
    Network n = networks_->get(c.networks[i].network_id);
    net::Endpoint p = endpoint_plan(c, c.networks[i], n, ns);
    p.default_route = !n.internal && !route_taken;
    route_taken |= p.default_route;
    // Docker publishes nothing of a container on an internal network.
    if (i == 0 && !n.internal) p.ports = forwards;
    eps.push_back(p);
  }
  if (!forwards.empty() && eps[0].network.internal) c.ports.clear();
  // Names first: the responder a setup starts reads them.
  for (const auto& e : c.networks) write_dns_hosts(e.network_id, &c, "");
  json req = {{"lock", state_ + "/netns/.lock"}, {"netns", ns}, {"endpoints", eps}};
  try {
    run_network_helper("setup", json_text(req));
  } catch (Error& e) {
    for (const auto& n : c.networks) write_dns_hosts(n.network_id, nullptr, c.id);
    throw e.wrap("set up the network of container " + c.id.substr(0, 12));
  }
  return ns;
}

void ContainerEngine::teardown_network(const Container& c) {
  std::string ns = netns_path(c.id);
  struct stat st;
  if (::lstat(ns.c_str(), &st) != 0) return;
  std::vector<net::Endpoint> eps;
  for (size_t i = 0; i < c.networks.size(); ++i) {
    auto n = networks_->find(c.networks[i].network_id);
    if (!n) n = Network{};  // gone (cannot be, while in use): its veth still goes
    net::Endpoint p = endpoint_plan(c, c.networks[i], *n, ns);
    if (i == 0)
      for (const auto& b : c.ports) {
        PortSpec cp = parse_container_port(b.container_port);
        p.ports.push_back({cp.proto, b.host_ip == "0.0.0.0" ? "" : b.host_ip, std::stoi(b.host_port),
                           c.networks[0].ip_address, cp.port, c.networks[0].ipv6_address});
      }
    eps.push_back(p);
  }
  json req = {{"lock", state_ + "/netns/.lock"}, {"netns", ns}, {"endpoints", eps}, {"removeNetns", true}};
  for (const auto& e : c.networks) write_dns_hosts(e.network_id, nullptr, c.id);
  run_network_helper("teardown", json_text(req));
}

// The names a user network's responder answers: every running container
// on it (and `adding`, being started; not `removing`, being stopped), by
// name, short id and aliases. Atomic: the responder may read it any time.
void ContainerEngine::write_dns_hosts(const std::string& network_id, const Container* adding, const std::string& removing) {
  auto n = networks_->find(network_id);
  if (!n || !is_user_network(*n)) return;
  std::string text;
  auto add = [&](const Container& c) {
    for (const auto& e : c.networks) {
      if (e.network_id != network_id) continue;
      std::string names = c.name + " " + c.id.substr(0, 12);
      for (const auto& a : e.aliases) names += " " + a;
      text += e.ip_address + " " + names + "\n";
      // The responder answers AAAA queries from these lines.
      if (!e.ipv6_address.empty()) text += e.ipv6_address + " " + names + "\n";
    }
  };
  for (const auto& c : store_->list())
    if (c.id != removing && (!adding || c.id != adding->id) && c.state.running()) add(c);
  if (adding) add(*adding);
  // Running VMs on the network (`vm run --net`) are names too.
  text += VmNetworks(images_->db(), root_, state_).dns_lines(network_id);
  fs::mkdir_p(state_ + "/netns", 0700);
  fs::write_file_atomic(state_ + "/netns/dns-" + network_id + ".hosts", text);
}

Network ContainerEngine::network_create(const NetworkCreateRequest& r) { return networks_->create(r); }

std::vector<Container> ContainerEngine::network_containers(const Network& n) {
  std::vector<Container> out;
  for (auto& c : store_->list())
    if (std::any_of(c.networks.begin(), c.networks.end(), [&](const EndpointSettings& e) { return e.network_id == n.id; }))
      out.push_back(std::move(c));
  return out;
}

void ContainerEngine::network_remove(const std::string& ref) {
  if (ref == "host" || ref == "none")
    throw Error(ref + " is a pre-defined network and cannot be removed", ErrorKind::FailedPrecondition);
  auto found = networks_->find(ref);
  if (!found) throw Error("network " + ref + " not found", ErrorKind::NotFound);
  Network n = *found;
  if (!is_user_network(n))
    throw Error(n.name + " is a pre-defined network and cannot be removed", ErrorKind::FailedPrecondition);
  auto users = network_containers(n);
  if (!users.empty())
    throw Error("error while removing network: network " + n.name + " id " + n.id + " has active endpoints (container " +
                    users[0].name + ")",
                ErrorKind::FailedPrecondition);
  for (const auto& l : networks_->leases(n.id))
    if (l.container_id.rfind("vm:", 0) == 0)
      throw Error("error while removing network: network " + n.name + " id " + n.id + " has active endpoints (vm " +
                      l.container_id.substr(3) + ")",
                  ErrorKind::FailedPrecondition);
  fs::mkdir_p(state_ + "/netns", 0700);
  json req = {{"lock", state_ + "/netns/.lock"},
              {"endpoints", json::array()},
              {"networks", {net::BridgeNetwork{n.name, n.bridge, n.subnet, n.gateway, n.internal, "", n.subnet6, n.gateway6}}}};
  run_network_helper("teardown", json_text(req));
  ::unlink((state_ + "/netns/dns-" + n.id + ".hosts").c_str());
  networks_->remove(n.id);
}

std::vector<std::string> ContainerEngine::network_prune() {
  std::vector<std::string> removed;
  for (const auto& n : networks_->list()) {
    auto leases = networks_->leases(n.id);
    bool vm_on_it = std::any_of(leases.begin(), leases.end(), [](const Lease& l) { return l.container_id.rfind("vm:", 0) == 0; });
    if (!is_user_network(n) || !network_containers(n).empty() || vm_on_it) continue;
    network_remove(n.id);
    removed.push_back(n.name);
  }
  return removed;
}

void ContainerEngine::network_connect(const std::string& network, const std::string& ref, const EndpointRequest& r) {
  Container c = store_->get(ref);
  sync(c);
  Network n = networks_->get(network);
  const std::string& mode = c.host.network_mode;
  if (mode == "host" || mode == "none" || mode.rfind("container:", 0) == 0)
    throw Error("container " + c.name + " cannot be connected to network " + n.name + ": its network mode is " + mode,
                ErrorKind::FailedPrecondition);
  for (const auto& e : c.networks)
    if (e.network_id == n.id)
      throw Error("endpoint with name " + c.name + " already exists in network " + n.name, ErrorKind::AlreadyExists);
  if (!is_user_network(n) && !r.ip.empty()) fail("user specified IP address is supported on user defined networks only");
  if (!is_user_network(n) && !r.aliases.empty())
    fail("network-scoped alias is supported only for containers in user defined networks");
  size_t index = 0;
  while (std::any_of(c.networks.begin(), c.networks.end(),
                     [&](const EndpointSettings& e) { return e.ifname == "eth" + std::to_string(index); }))
    ++index;
  EndpointSettings e = lease_endpoint(c, n, r, index);
  try {
    if (c.state.running()) {
      net::Endpoint p = endpoint_plan(c, e, n, netns_path(c.id));
      p.default_route = false;
      json req = {{"lock", state_ + "/netns/.lock"}, {"netns", netns_path(c.id)}, {"endpoints", {p}}};
      Container with = c;
      with.networks.push_back(e);
      write_dns_hosts(n.id, &with, "");
      run_network_helper("setup", json_text(req));
    }
    c.networks.push_back(e);
    store_->update(c);
  } catch (...) {
    networks_->release(c.id, n.id);
    throw;
  }
}

void ContainerEngine::network_disconnect(const std::string& network, const std::string& ref, bool) {
  Container c = store_->get(ref);
  sync(c);
  Network n = networks_->get(network);
  auto it = std::find_if(c.networks.begin(), c.networks.end(), [&](const EndpointSettings& e) { return e.network_id == n.id; });
  if (it == c.networks.end())
    throw Error("container " + c.name + " is not connected to network " + n.name, ErrorKind::NotFound);
  size_t index = static_cast<size_t>(it - c.networks.begin());
  struct stat st;
  if (::lstat(netns_path(c.id).c_str(), &st) == 0) {
    net::Endpoint p = endpoint_plan(c, *it, n, netns_path(c.id));
    if (index == 0)
      for (const auto& b : c.ports) {
        PortSpec cp = parse_container_port(b.container_port);
        p.ports.push_back({cp.proto, b.host_ip == "0.0.0.0" ? "" : b.host_ip, std::stoi(b.host_port), it->ip_address, cp.port,
                           it->ipv6_address});
      }
    json req = {{"lock", state_ + "/netns/.lock"}, {"netns", netns_path(c.id)}, {"endpoints", {p}}, {"removeNetns", false}};
    write_dns_hosts(n.id, nullptr, c.id);
    run_network_helper("teardown", json_text(req));
    if (index == 0) c.ports.clear();
  }
  c.networks.erase(it);
  store_->update(c);
  networks_->release(c.id, n.id);
}

std::vector<PortBinding> ContainerEngine::ports(const std::string& ref) {
  Container c = inspect(ref);
  return c.state.running() ? c.ports : std::vector<PortBinding>{};
}

}  // namespace berth::engine
