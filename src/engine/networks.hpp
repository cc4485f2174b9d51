// Network records and their address leases (tables networks and leases in
// <root>/berth.db). Every network is a Linux bridge (docker's "bridge"
// driver); the default one, named "bridge" (berth0, 10.88.0.0/16 like
// Podman's, or $BERTH_BRIDGE_SUBNET when it is first made), is made on
// first use. host and none are network modes, shown by `network ls` as
// docker shows them but not stored.
//
// IPAM: a lease is (network, address, container), one row; a container's
// leases are taken at create (or connect) and released at rm (or
// disconnect), each in one transaction, so no address is handed out twice
// and leases survive any CLI. A CLI killed mid-create leaves leases of a
// record that is then removed: reconcile() drops leases whose container
// has no record.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.hpp"

namespace berth::engine {

struct Network {
  std::string id, name, created;
  std::string driver = "bridge";  // bridge; host and null for the two modes
  std::string subnet, gateway;    // "10.88.0.0/16", "10.88.0.1"
  std::string bridge;             // the Linux bridge: berth0, br-<id12>
  bool internal = false;
  std::map<std::string, std::string> labels;
  // After labels: aggregate initializers written before IPv6 stay valid.
  bool ipv6 = false;               // dual stack: also an IPv6 subnet
  std::string subnet6, gateway6;   // "fd00:1::/64", "fd00:1::1" (ipv6 only)
};

struct NetworkCreateRequest {
  std::string name;
  std::string subnet, gateway;  // "" = picked
  bool internal = false;
  bool ipv6 = false;
  std::map<std::string, std::string> labels;
  // With ipv6: "" = a unique local /64 picked (RFC 4193). An IPv6 subnet
  // or gateway given in `subnet`/`gateway` (docker's one --subnet flag
  // takes both families) is moved here by create(). After labels:
  // aggregate initializers written before IPv6 stay valid.
  std::string subnet6, gateway6;
};

// docker's MAC for an address: 02:42 and the address's four bytes.
std::string mac_for_address(const std::string& ipv4);
// "aa:bb:cc:dd:ee:ff", hex digits, any case.
bool valid_mac(const std::string& mac);

struct Lease {
  std::string network_id, address, container_id;
};

class Networks {
 public:
  explicit Networks(Database& db);

  Network create(const NetworkCreateRequest& r);
  // By name, id or unique id prefix; "bridge" is made if missing.
  Network get(const std::string& ref);
  std::optional<Network> find(const std::string& ref);
  // Stored networks (the default one made first if missing).
  std::vector<Network> list();
  void remove(const std::string& id);

  // An address of `n` for `container_id`: `requested` if free (else
  // AlreadyExists), or the lowest free one.
  std::string lease(const Network& n, const std::string& container_id, const std::string& requested);
  // The same for the IPv6 subnet of a dual-stack network (--ip6). Same
  // table: a lease row's address is of either family.
  std::string lease6(const Network& n, const std::string& container_id, const std::string& requested);
  // The container's leases on `network_id` ("" = on every network).
  void release(const std::string& container_id, const std::string& network_id = "");
  std::vector<Lease> leases(const std::string& network_id = "");
  // Drops leases whose container has no record (table containers), nor
  // VM ("vm:NAME", table vms).
  void reconcile();

  static constexpr const char* kDefault = "bridge";

 private:
  // Records ADDRESS as CONTAINER_ID's on network NETWORK_ID (inside the
  // caller's transaction, which chose it): lease() and lease6() share it.
  void record_lease(const std::string& network_id, const std::string& address, const std::string& container_id);
  Network make_default();
  std::vector<Network> stored();
  Database& db_;
};

}  // namespace berth::engine
