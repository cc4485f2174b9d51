#include "net/bridge_driver.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "net/dns_responder.hpp"
#include "net/firewall.hpp"
#include "net/ip6_address.hpp"
#include "net/ip_address.hpp"
#include "net/netlink.hpp"
#include "net/netns.hpp"
#include "net/tap.hpp"

namespace berth::net {

namespace {

UniqueFd take_lock(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw_errno("open " + path);
  if (::flock(fd.get(), LOCK_EX) != 0) throw_errno("lock " + path);
  return fd;
}

void write_sysctl(const std::string& path, const std::string& value) {
  if (fs::exists(path) && fs::read_file(path) != value + "\n") fs::write_file(path, value);
}

// The bridge with its gateway address and rules (each step idempotent: a
// second container on the network finds them made).
std::string dir_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw_errno("readlink /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

int ensure_network(Netlink& nl, Firewall& fw, const BridgeNetwork& n, const std::string& dir) {
  bool made = nl.ensure_bridge(n.bridge);
  int index = *nl.ifindex(n.bridge);
  Subnet subnet = parse_subnet(n.subnet, "network " + n.name);
  if (!n.gateway.empty()) nl.add_address(index, parse_ipv4(n.gateway, "network " + n.name), subnet.prefix);
  // 127.0.0.1:PORT reaches a container only if the kernel may route a
  // loopback source out of the bridge (the masquerade then rewrites it).
  write_sysctl("/proc/sys/net/ipv4/conf/" + n.bridge + "/route_localnet", "1");
  if (!n.internal) write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
  if (!n.subnet6.empty()) {
    Subnet6 s6 = parse_subnet6(n.subnet6, "network " + n.name);
    if (!n.gateway6.empty()) nl.add_address(index, parse_ipv6(n.gateway6, "network " + n.name), s6.prefix);
    // As docker with --ipv6: the host routes IPv6 between the bridge and
    // its other links (which also stops it taking router advertisements
    // on links that use them; a host that needs them sets accept_ra=2).
    if (!n.internal) write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
  }
  fw.add_network(n);
  // Once per bridge: iptables costs a fork and exec, and the rules go with it.
  if (made) {
    Firewall::forward_allow(n.bridge);
    fw.foreign_forward_allow(n.bridge);
  }
  if (!n.dns_hosts.empty() && !n.gateway.empty()) ensure_dns_responder(self_exe(), dir, n.bridge, n.gateway, n.dns_hosts);
  return index;
}

// The bridge of `n` and its rules, if no container is on it any more.
void release_network_if_unused(Netlink& nl, Firewall& fw, const BridgeNetwork& n, const std::string& dir) {
  if (n.bridge.empty()) return;
  auto index = nl.ifindex(n.bridge);
  if (index && nl.has_ports(*index)) return;
  stop_dns_responder(dir, n.bridge);
  // A link of another kind under the bridge's name (ensure_bridge refused
  // it) is not ours to delete.
  if (index && nl.link_kind(n.bridge) == "bridge") nl.delete_link(n.bridge);
  fw.remove_network(n);
  Firewall::forward_unallow(n.bridge);
  fw.foreign_forward_unallow(n.bridge);
}

void setup_one(Netlink& nl, Firewall& fw, int nsfd, Netlink& inside, const Endpoint& ep, std::vector<PortForward>& added,
               const std::string& dir) {
  int bridge = ensure_network(nl, fw, ep.network, dir);
  nl.delete_link(ep.host_ifname);  // a leftover of a teardown that never ran
  nl.create_veth(ep.host_ifname, bridge, ep.ifname, nsfd, ep.mac);
  auto index = inside.ifindex(ep.ifname);
  if (!index) throw Error("the veth end " + ep.ifname + " did not appear in the container's namespace");
  Subnet subnet = parse_subnet(ep.network.subnet, "network " + ep.network.name);
  inside.add_address(*index, parse_ipv4(ep.address, "address"), subnet.prefix);
  if (!ep.address6.empty())
    inside.add_address(*index, parse_ipv6(ep.address6, "address"),
                       parse_subnet6(ep.network.subnet6, "network " + ep.network.name).prefix);
  inside.set_up(*index);
  if (ep.default_route && !ep.network.internal && !ep.network.gateway.empty())
    inside.add_default_route(parse_ipv4(ep.network.gateway, "gateway"), *index);
  if (ep.default_route && !ep.network.internal && !ep.address6.empty() && !ep.network.gateway6.empty())
    inside.add_default_route(parse_ipv6(ep.network.gateway6, "gateway"), *index);
  for (const auto& p : ep.ports) {
    fw.add_port(p);
    added.push_back(p);
  }
}

// A VM's tap: made persistent here, enslaved and up; the VMM attaches to
// it by name and the guest sets its own address.
void setup_tap(Netlink& nl, Firewall& fw, const Endpoint& ep, const std::string& dir) {
  int bridge = ensure_network(nl, fw, ep.network, dir);
  nl.delete_link(ep.host_ifname);  // a leftover of a VM whose end nobody saw
  create_persistent_tap(ep.host_ifname);
  auto index = nl.ifindex(ep.host_ifname);
  if (!index) throw Error("tap " + ep.host_ifname + " did not appear");
  nl.set_master(*index, bridge);
  nl.set_up(*index);
}

}  // namespace

void setup_endpoints(const std::string& lock_path, const std::string& netns, const std::vector<Endpoint>& eps) {
  UniqueFd lock = take_lock(lock_path);
  bool made_ns = false;
  // Only taps (a VM's): no namespace to make or enter.
  bool taps_only = std::all_of(eps.begin(), eps.end(), [](const Endpoint& e) { return e.tap; });
  if (!taps_only && !is_netns(netns)) {
    create_netns(netns);
    made_ns = true;
  }
  Nftables nft;
  Netlink nl;
  std::vector<PortForward> added;
  size_t done = 0;
  try {
    Firewall fw(nft);
    if (taps_only) {
      for (const auto& ep : eps) {
        setup_tap(nl, fw, ep, dir_of(lock_path));
        ++done;
      }
    } else {
      UniqueFd nsfd = open_netns(netns);
      Netlink inside = Netlink::open_in(nsfd.get());
      if (auto lo = inside.ifindex("lo")) inside.set_up(*lo);
      for (const auto& ep : eps) {
        if (ep.tap) fail("a tap endpoint cannot share a request with a container's");
        setup_one(nl, fw, nsfd.get(), inside, ep, added, dir_of(lock_path));
        ++done;
      }
    }
  } catch (...) {
    try {
      Firewall fw(nft);
      for (const auto& p : added) fw.remove_port(p);
      for (size_t i = 0; i <= done && i < eps.size(); ++i) {
        nl.delete_link(eps[i].host_ifname);
        release_network_if_unused(nl, fw, eps[i].network, dir_of(lock_path));
      }
      fw.drop_table_if_unused();
      if (made_ns) remove_netns(netns);
    } catch (...) {
    }
    throw;
  }
}

void teardown_endpoints(const std::string& lock_path, const std::string& netns, const std::vector<Endpoint>& eps,
                        bool remove_ns, const std::vector<BridgeNetwork>& networks) {
  UniqueFd lock = take_lock(lock_path);
  Nftables nft;
  Netlink nl;
  bool have_table = nft.try_run("list table inet berth");
  std::optional<Firewall> fw;
  if (have_table) fw.emplace(nft);
  for (const auto& ep : eps) {
    if (fw)
      for (const auto& p : ep.ports) fw->remove_port(p);
    nl.delete_link(ep.host_ifname);
  }
  if (remove_ns && !netns.empty()) remove_netns(netns);
  if (fw) {
    for (const auto& ep : eps) release_network_if_unused(nl, *fw, ep.network, dir_of(lock_path));
    for (const auto& n : networks) release_network_if_unused(nl, *fw, n, dir_of(lock_path));
    fw->drop_table_if_unused();
  } else {
    // No table (removed by hand): the bridges still go once unused.
    std::vector<BridgeNetwork> all = networks;
    for (const auto& ep : eps) all.push_back(ep.network);
    for (const auto& n : all)
      if (auto index = n.bridge.empty() ? std::nullopt : nl.ifindex(n.bridge); index && !nl.has_ports(*index)) {
        stop_dns_responder(dir_of(lock_path), n.bridge);
        nl.delete_link(n.bridge);
      }
  }
}

}  // namespace berth::net
