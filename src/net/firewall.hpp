// Berth's packet rules: one nftables table, `inet berth` (IPv4 and IPv6), whose chains never
// change; networks and published ports are elements of its sets and maps,
// so adding or removing one is one element, never a rule to find by handle.
//
//   prerouting/output (nat, dstnat): to a local address -> the publish maps
//     (ip . port for -p IP:PORT:..., port alone for -p PORT:...): DNAT.
//   postrouting (nat, srcnat): masquerade a subnet leaving by another link;
//     masquerade 127.0.0.0/8 entering a bridge (a published port reached on
//     the host's loopback: route_localnet lets it out, the container could
//     not answer 127.0.0.1); masquerade DNATed traffic a container sends to
//     its own bridge (hairpin).
//   forward (filter): same bridge accepted; internal bridges dropped
//     otherwise; DNATed traffic accepted; bridge to other bridge dropped.
//
// A drop in another table (iptables' FORWARD DROP, as docker or a firewall
// sets) still drops what our forward chain accepts: nftables ends a packet
// at the first drop of any base chain. So when iptables' filter FORWARD
// chain is not empty or not ACCEPT, accept rules for the bridge go there
// too (forward_allow), as docker and netavark do; and go with the bridge.
#pragma once

#include <string>

#include "net/nftables.hpp"
#include "net/plan.hpp"

namespace berth::net {

class Firewall {
 public:
  // The table, made if missing (idempotent).
  explicit Firewall(Nftables& nft);

  void add_network(const BridgeNetwork& n);
  void remove_network(const BridgeNetwork& n);
  void add_port(const PortForward& p);
  void remove_port(const PortForward& p);
  // The table goes when no network is left in it; true if it went.
  bool drop_table_if_unused();

  // iptables' filter FORWARD chain: accept the bridge's traffic there if
  // that chain would otherwise drop it (see above); undone by forward_unallow.
  static void forward_allow(const std::string& bridge);
  static void forward_unallow(const std::string& bridge);

  // The same for a firewall written in nftables itself (a `table inet
  // filter` whose forward chain has `policy drop`, as Debian's
  // /etc/nftables.conf examples and firewalld's nftables backend have):
  // into every other table's forward base chain that drops (by policy or
  // by a drop/reject rule), except iptables' own FORWARD chains (handled
  // above; a native rule there would make iptables-nft refuse the table),
  // the same two accepts go first, commented "berth BRIDGE". They go with
  // the bridge, found again by that comment.
  void foreign_forward_allow(const std::string& bridge);
  void foreign_forward_unallow(const std::string& bridge);

 private:
  Nftables& nft_;
};

}  // namespace berth::net
