// IPv6 addresses and subnets for dual-stack networks: parsing with one clear
// error, and the little arithmetic IPAM needs (nth host of a subnet,
// overlap, containment). Pure, like ip_address.hpp: the engine (leases) and
// the berth-network helper (netlink) share it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace berth::net {

struct Ipv6 {
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const Ipv6&) const = default;
};

struct Subnet6 {
  Ipv6 base;       // the network address (host bits zero)
  int prefix = 0;  // 0..128
  bool contains(const Ipv6& a) const;
  bool overlaps(const Subnet6& o) const;
  // The n-th address of the subnet (0: the network address, the anycast
  // address of its routers; 1: the gateway Berth picks).
  Ipv6 at(uint64_t n) const;
  // Host addresses, capped at 2^63 (a /64 has more than IPAM will ever walk).
  uint64_t size() const { return prefix <= 65 ? uint64_t{1} << 63 : uint64_t{1} << (128 - prefix); }
};

bool is_ipv6(const std::string& text);
// "fd00::2"; InvalidArgument naming `what` otherwise.
Ipv6 parse_ipv6(const std::string& text, const std::string& what);
// "fd00:1::/64"; host bits must be zero.
Subnet6 parse_subnet6(const std::string& text, const std::string& what);
std::string to_string(const Ipv6& a);  // compressed, as inet_ntop writes it
std::string to_string(const Subnet6& s);
// A unique local /64 (RFC 4193: fd + 40 random bits + subnet id 0), from
// the 10 random bytes of `seed_hex` (a network id), as Podman picks one
// when --ipv6 is given without a subnet.
Subnet6 unique_local_subnet(const std::string& seed_hex);

}  // namespace berth::net
