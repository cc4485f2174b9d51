#include "net/ip_address.hpp"

#include <arpa/inet.h>

#include "common/error.hpp"

namespace berth::net {

bool Subnet::overlaps(const Subnet& o) const {
  int p = prefix < o.prefix ? prefix : o.prefix;
  uint32_t m = p == 0 ? 0 : ~uint32_t{0} << (32 - p);
  return (base.value & m) == (o.base.value & m);
}

bool is_ipv4(const std::string& text) {
  in_addr a{};
  return ::inet_pton(AF_INET, text.c_str(), &a) == 1;
}

Ipv4 parse_ipv4(const std::string& text, const std::string& what) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
    fail(what + ": invalid IPv4 address \"" + text + "\"");
  return {ntohl(a.s_addr)};
}

Subnet parse_subnet(const std::string& text, const std::string& what) {
  auto slash = text.find('/');
  if (slash == std::string::npos) fail(what + ": invalid subnet \"" + text + "\" (want ADDRESS/PREFIX, like 10.89.0.0/24)");
  std::string len = text.substr(slash + 1);
  if (len.empty() || len.size() > 2 || len.find_first_not_of("0123456789") != std::string::npos || std::stoi(len) > 32)
    fail(what + ": invalid subnet \"" + text + "\": the prefix length must be 0..32");
  if (!is_ipv4(text.substr(0, slash)))
    fail(what + ": invalid subnet \"" + text + "\": " + text.substr(0, slash) + " is not an IPv4 address");
  Subnet s{parse_ipv4(text.substr(0, slash), what), std::stoi(len)};
  if ((s.base.value & ~s.mask()) != 0)
    fail(what + ": invalid subnet \"" + text + "\": host bits are set (did you mean " +
         to_string(Subnet{{s.base.value & s.mask()}, s.prefix}) + "?)");
  return s;
}

std::string to_string(Ipv4 a) {
  char buf[INET_ADDRSTRLEN];
  in_addr n{htonl(a.value)};
  ::inet_ntop(AF_INET, &n, buf, sizeof buf);
  return buf;
}

std::string to_string(const Subnet& s) { return to_string(s.base) + "/" + std::to_string(s.prefix); }

}  // namespace berth::net
