// rtnetlink through libmnl: the links, addresses and routes a bridge
// network needs, nothing more. One Netlink is one socket, bound to the
// network namespace it was opened in (open_in): requests on it act there,
// whatever namespace the calling thread is in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net/ip6_address.hpp"
#include "net/ip_address.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace berth::net {

class Netlink {
 public:
  // A socket in this process's network namespace.
  Netlink();
  // A socket in the namespace of `netns_fd` (an open netns file).
  static Netlink open_in(int netns_fd);
  Netlink(Netlink&& o) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  std::optional<int> ifindex(const std::string& name);
  // A bridge named `name`, up; false if it was there already.
  bool ensure_bridge(const std::string& name);
  // A veth pair: `host_name` here, enslaved to `master` and up; its peer
  // made directly in `peer_netns_fd` as `peer_name` with `peer_mac`.
  void create_veth(const std::string& host_name, int master, const std::string& peer_name, int peer_netns_fd,
                   const std::string& peer_mac);
  void set_up(int ifindex);
  // Enslaves link `ifindex` to `master` (a tap to its bridge).
  void set_master(int ifindex, int master);
  // EEXIST is fine: the address is what was asked.
  void add_address(int ifindex, Ipv4 address, int prefix);
  void add_default_route(Ipv4 gateway, int oif);
  // IPv6: no duplicate address detection (IFA_F_NODAD): Berth's IPAM
  // already made the address unique, and DAD would leave it "tentative",
  // unusable, for a second or more after the container starts.
  void add_address(int ifindex, const Ipv6& address, int prefix);
  void add_default_route(const Ipv6& gateway, int oif);
  // false if there was no such link.
  bool delete_link(const std::string& name);
  // The link's kind (IFLA_INFO_KIND: "bridge", "veth", "tun"...); "" if
  // there is no such link or it has none.
  std::string link_kind(const std::string& name);
  // Whether any link is enslaved to `master` (a bridge still in use).
  bool has_ports(int master);

 private:
  explicit Netlink(mnl_socket* s);
  // Sends one request with NLM_F_ACK and reads until its ack; returns 0
  // or the errno the kernel answered.
  int request(nlmsghdr* nlh, int (*cb)(const nlmsghdr*, void*) = nullptr, void* data = nullptr, bool dump = false);
  mnl_socket* sock_ = nullptr;
  unsigned portid_ = 0;
  unsigned seq_ = 0;
};

// "02:42:0a:58:00:02" -> 6 bytes; false if malformed.
bool parse_mac(const std::string& text, unsigned char out[6]);

}  // namespace berth::net
