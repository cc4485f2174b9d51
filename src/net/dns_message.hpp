// The little of DNS (RFC 1035) a network's name responder needs: read the
// question of a query, and answer it from a table of names, or say that the
// table does not know the name (then the query is forwarded upstream).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/ip6_address.hpp"
#include "net/ip_address.hpp"

namespace berth::net {

struct DnsQuestion {
  uint16_t id = 0;
  std::string name;  // lower case, no trailing dot
  uint16_t type = 0, klass = 0;
  size_t end = 0;    // where the question section ends in the query
};

// nullopt: not a query we can read (then it is forwarded as it is).
std::optional<DnsQuestion> parse_question(const std::vector<uint8_t>& query);

// The answer from `names` (lower-case name -> address): an A record for an
// A query, an AAAA record for an AAAA query of a name with an IPv6 address
// in `names6`; for a name it knows, any other query (AAAA of an IPv4-only
// name, A of an IPv6-only one, MX, ...) gets an empty NOERROR answer at
// once: busybox's resolver asks A and AAAA together and would wait 5 s for
// a missing reply. nullopt: a name it does not know.
std::optional<std::vector<uint8_t>> answer(const std::vector<uint8_t>& query, const DnsQuestion& q,
                                           const std::map<std::string, Ipv4>& names,
                                           const std::map<std::string, Ipv6>& names6 = {});

// A SERVFAIL reply to `query` (no upstream answered).
std::vector<uint8_t> servfail(const std::vector<uint8_t>& query, const DnsQuestion& q);

// The table of a hosts file of lines "IP NAME [ALIAS...]".
std::map<std::string, Ipv4> parse_hosts(const std::string& text);
// The same for its IPv6 lines ("fd00::2 NAME").
std::map<std::string, Ipv6> parse_hosts6(const std::string& text);

// A reply too big for a UDP datagram of `limit` bytes: cut to its header
// and question with the TC bit set, so the client asks again over TCP
// (RFC 1035 4.2.1; RFC 7766).
std::vector<uint8_t> truncate_for_udp(const std::vector<uint8_t>& reply, size_t limit = 512);

}  // namespace berth::net
