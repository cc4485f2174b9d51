#include "net/ip6_address.hpp"

#include <arpa/inet.h>

#include "common/error.hpp"

namespace berth::net {

namespace {

// The first `prefix` bits of a and b are the same.
bool same_prefix(const Ipv6& a, const Ipv6& b, int prefix) {
  for (int i = 0; i < 16 && prefix > 0; ++i, prefix -= 8) {
    uint8_t m = prefix >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - prefix));
    if ((a.bytes[i] & m) != (b.bytes[i] & m)) return false;
  }
  return true;
}

}  // namespace

bool Subnet6::contains(const Ipv6& a) const { return same_prefix(a, base, prefix); }

bool Subnet6::overlaps(const Subnet6& o) const { return same_prefix(base, o.base, prefix < o.prefix ? prefix : o.prefix); }

Ipv6 Subnet6::at(uint64_t n) const {
  Ipv6 out = base;
  unsigned carry = 0;
  for (int i = 15; i >= 0; --i) {
    unsigned v = out.bytes[i] + static_cast<unsigned>(n & 0xff) + carry;
    out.bytes[i] = static_cast<uint8_t>(v);
    carry = v >> 8;
    n >>= 8;
  }
  return out;
}

bool is_ipv6(const std::string& text) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

Ipv6 parse_ipv6(const std::string& text, const std::string& what) {
  in6_addr a{};
  if (::inet_pton(AF_INET6, text.c_str(), &a) != 1) fail(what + ": invalid IPv6 address \"" + text + "\"");
  Ipv6 out;
  for (int i = 0; i < 16; ++i) out.bytes[i] = a.s6_addr[i];
  return out;
}

Subnet6 parse_subnet6(const std::string& text, const std::string& what) {
  auto slash = text.find('/');
  if (slash == std::string::npos)
    fail(what + ": invalid subnet \"" + text + "\" (want ADDRESS/PREFIX, like fd00:1::/64)");
  std::string len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos || std::stoi(len) > 128)
    fail(what + ": invalid subnet \"" + text + "\": the prefix length must be 0..128");
  if (!is_ipv6(text.substr(0, slash)))
    fail(what + ": invalid subnet \"" + text + "\": " + text.substr(0, slash) + " is not an IPv6 address");
  Subnet6 s{parse_ipv6(text.substr(0, slash), what), std::stoi(len)};
  Subnet6 clean = s;
  for (int i = 0; i < 16; ++i) {
    int bits = s.prefix - 8 * i;
    clean.base.bytes[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
  }
  if (clean.base != s.base)
    fail(what + ": invalid subnet \"" + text + "\": host bits are set (did you mean " + to_string(clean) + "?)");
  return s;
}

std::string to_string(const Ipv6& a) {
  in6_addr n{};
  for (int i = 0; i < 16; ++i) n.s6_addr[i] = a.bytes[i];
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, &n, buf, sizeof buf);
  return buf;
}

std::string to_string(const Subnet6& s) { return to_string(s.base) + "/" + std::to_string(s.prefix); }

Subnet6 unique_local_subnet(const std::string& seed_hex) {
  Subnet6 s;
  s.prefix = 64;
  s.base.bytes[0] = 0xfd;
  for (size_t i = 0; i < 5 && 2 * i + 1 < seed_hex.size(); ++i)
    s.base.bytes[1 + i] = static_cast<uint8_t>(std::stoi(seed_hex.substr(2 * i, 2), nullptr, 16));
  return s;
}

}  // namespace berth::net
