// IPv4 addresses and subnets as numbers: parsing with one clear error, the
// arithmetic IPAM needs (nth host, overlap, containment). Pure: the engine
// (leases) and the berth-network helper (netlink) share it.
#pragma once

#include <cstdint>
#include <string>

namespace berth::net {

struct Ipv4 {
  uint32_t value = 0;  // host byte order
  auto operator<=>(const Ipv4&) const = default;
};

struct Subnet {
  Ipv4 base;        // the network address (host bits zero)
  int prefix = 0;   // 0..32
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool contains(Ipv4 a) const { return (a.value & mask()) == base.value; }
  bool overlaps(const Subnet& o) const;
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  Ipv4 broadcast() const { return {base.value | ~mask()}; }
  // The n-th address of the subnet (0: the network address).
  Ipv4 at(uint64_t n) const { return {base.value + static_cast<uint32_t>(n)}; }
};

// "10.88.0.2"; InvalidArgument naming `what` otherwise.
Ipv4 parse_ipv4(const std::string& text, const std::string& what);
bool is_ipv4(const std::string& text);
// "10.88.0.0/16"; host bits must be zero (docker refuses "10.88.0.1/16" too).
Subnet parse_subnet(const std::string& text, const std::string& what);
std::string to_string(Ipv4 a);
std::string to_string(const Subnet& s);  // "10.88.0.0/16"

}  // namespace berth::net
