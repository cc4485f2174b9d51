// net/: address arithmetic for IPAM and the DNS answers of a network's
// name responder, byte by byte.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "net/dns_message.hpp"
#include "net/ip_address.hpp"

using namespace berth;
using namespace berth::net;

TEST(Subnet, ParsesAndRefusesHostBits) {
  Subnet s = parse_subnet("10.88.0.0/16", "t");
  EXPECT_EQ(to_string(s), "10.88.0.0/16");
  EXPECT_EQ(to_string(s.at(1)), "10.88.0.1");
  EXPECT_EQ(to_string(s.broadcast()), "10.88.255.255");
  EXPECT_TRUE(s.contains(parse_ipv4("10.88.3.4", "t")));
  EXPECT_FALSE(s.contains(parse_ipv4("10.89.0.1", "t")));
  EXPECT_THROW(parse_subnet("10.88.0.1/16", "t"), Error);
  EXPECT_THROW(parse_subnet("10.88.0.0/33", "t"), Error);
  EXPECT_THROW(parse_subnet("10.88.0.0", "t"), Error);
  EXPECT_THROW(parse_subnet("10.300.0.0/16", "t"), Error);
}

TEST(Subnet, Overlaps) {
  EXPECT_TRUE(parse_subnet("10.88.0.0/16", "t").overlaps(parse_subnet("10.88.5.0/24", "t")));
  EXPECT_TRUE(parse_subnet("10.88.5.0/24", "t").overlaps(parse_subnet("10.0.0.0/8", "t")));
  EXPECT_FALSE(parse_subnet("10.88.0.0/16", "t").overlaps(parse_subnet("10.89.0.0/24", "t")));
}

namespace {

// A query for `name` of `type` as busybox's resolver sends it.
std::vector<uint8_t> query(const std::string& name, uint16_t type) {
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(type >> 8));
  q.push_back(static_cast<uint8_t>(type));
  q.push_back(0);
  q.push_back(1);
  return q;
}

}  // namespace

TEST(Dns, AnswersAKnownNameWithItsAddress) {
  auto names = parse_hosts("10.77.1.50 web 3f2a1b4c5d6e db\n# comment\n10.77.1.51 other\n");
  auto q = query("DB", 1);
  auto question = parse_question(q);
  ASSERT_TRUE(question);
  EXPECT_EQ(question->name, "db");
  auto a = answer(q, *question, names);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), q.size() + 16);
  EXPECT_EQ((*a)[0], 0x12);                  // the query's id
  EXPECT_EQ((*a)[2] & 0x80, 0x80);           // a response
  EXPECT_EQ((*a)[3] & 0x0f, 0);              // NOERROR
  EXPECT_EQ((*a)[7], 1);                     // one answer
  std::vector<uint8_t> addr(a->end() - 4, a->end());
  EXPECT_EQ(addr, (std::vector<uint8_t>{10, 77, 1, 50}));
}

TEST(Dns, AaaaOfAnANameIsAnEmptyAnswerNotSilence) {
  auto names = parse_hosts("10.77.1.50 web\n");
  auto q = query("web", 28);
  auto a = answer(q, *parse_question(q), names);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[3] & 0x0f, 0);  // NOERROR
  EXPECT_EQ((*a)[7], 0);         // no answer records
  EXPECT_EQ(a->size(), q.size());
}

TEST(Dns, AnUnknownNameIsForwarded) {
  auto names = parse_hosts("10.77.1.50 web\n");
  auto q = query("example.org", 1);
  EXPECT_FALSE(answer(q, *parse_question(q), names));
  auto f = servfail(q, *parse_question(q));
  EXPECT_EQ(f[3] & 0x0f, 2);
}

TEST(Dns, GarbageIsNoQuestion) {
  EXPECT_FALSE(parse_question({1, 2, 3}));
  auto q = query("web", 1);
  q[2] |= 0x80;  // a response, not a query
  EXPECT_FALSE(parse_question(q));
  auto cut = query("web", 1);
  cut.resize(cut.size() - 3);
  EXPECT_FALSE(parse_question(cut));
}

TEST(Subnet6, ParsesAndRefusesHostBits) {
  Subnet6 s = parse_subnet6("fd00:1::/64", "t");
  EXPECT_EQ(to_string(s), "fd00:1::/64");
  EXPECT_EQ(to_string(s.at(1)), "fd00:1::1");
  EXPECT_EQ(to_string(s.at(258)), "fd00:1::102");
  EXPECT_TRUE(s.contains(parse_ipv6("fd00:1::abcd", "t")));
  EXPECT_FALSE(s.contains(parse_ipv6("fd00:2::1", "t")));
  EXPECT_THROW(parse_subnet6("fd00:1::1/64", "t"), Error);
  EXPECT_THROW(parse_subnet6("fd00:1::/129", "t"), Error);
  EXPECT_THROW(parse_subnet6("fd00:1::", "t"), Error);
  EXPECT_THROW(parse_subnet6("10.1.0.0/16", "t"), Error);
  EXPECT_TRUE(parse_subnet6("fd00::/48", "t").overlaps(parse_subnet6("fd00:0:0:5::/64", "t")));
  EXPECT_FALSE(parse_subnet6("fd00:1::/64", "t").overlaps(parse_subnet6("fd00:2::/64", "t")));
  EXPECT_EQ(to_string(unique_local_subnet("0123456789abcdef")), "fd01:2345:6789::/64");
}

TEST(Dns, AaaaOfADualStackNameIsItsIpv6Address) {
  std::string hosts = "10.77.1.50 web\nfd00:1::32 web\n";
  auto names = parse_hosts(hosts);
  auto names6 = parse_hosts6(hosts);
  auto q = query("web", 28);
  auto a = answer(q, *parse_question(q), names, names6);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[7], 1);
  ASSERT_EQ(a->size(), q.size() + 28);
  std::vector<uint8_t> addr(a->end() - 16, a->end());
  EXPECT_EQ(addr, (std::vector<uint8_t>{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x32}));
  auto q4 = query("web", 1);
  auto a4 = answer(q4, *parse_question(q4), names, names6);
  ASSERT_TRUE(a4);
  EXPECT_EQ(a4->size(), q4.size() + 16);  // the A record, not the AAAA one
}

TEST(Dns, ABigReplyIsTruncatedForUdp) {
  auto q = query("web", 1);
  auto names = parse_hosts("10.77.1.50 web\n");
  auto a = *answer(q, *parse_question(q), names);
  EXPECT_EQ(truncate_for_udp(a), a);  // fits: as it was
  std::vector<uint8_t> big = a;
  big.resize(700, 0);
  auto t = truncate_for_udp(big);
  EXPECT_EQ(t.size(), q.size());     // header and question only
  EXPECT_EQ(t[2] & 0x02, 0x02);      // TC
  EXPECT_EQ(t[7], 0);                // no answers
  EXPECT_EQ(t[0], 0x12);
}
