#include "net/dns_message.hpp"

#include <cctype>
#include <sstream>

namespace berth::net {

namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAAAA = 28;

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

std::vector<uint8_t> reply_header(const std::vector<uint8_t>& query, const DnsQuestion& q, int rcode, uint16_t answers) {
  std::vector<uint8_t> out;
  put16(out, q.id);
  // QR, opcode 0, AA, RD copied from the query, RA.
  out.push_back(static_cast<uint8_t>(0x84 | (query[2] & 0x01)));
  out.push_back(static_cast<uint8_t>(0x80 | rcode));
  put16(out, 1);
  put16(out, answers);
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), query.begin() + 12, query.begin() + static_cast<long>(q.end));
  return out;
}

}  // namespace

std::optional<DnsQuestion> parse_question(const std::vector<uint8_t>& m) {
  if (m.size() < 12) return std::nullopt;
  DnsQuestion q;
  q.id = static_cast<uint16_t>(m[0] << 8 | m[1]);
  bool is_query = (m[2] & 0x80) == 0 && ((m[2] >> 3) & 0x0f) == 0;
  uint16_t qdcount = static_cast<uint16_t>(m[4] << 8 | m[5]);
  if (!is_query || qdcount != 1) return std::nullopt;
  size_t i = 12;
  while (i < m.size() && m[i] != 0) {
    size_t len = m[i];
    if (len > 63 || i + 1 + len > m.size()) return std::nullopt;  // no compression in a question
    if (!q.name.empty()) q.name += '.';
    for (size_t k = 0; k < len; ++k) q.name += static_cast<char>(std::tolower(m[i + 1 + k]));
    i += 1 + len;
  }
  if (i + 5 > m.size()) return std::nullopt;
  q.type = static_cast<uint16_t>(m[i + 1] << 8 | m[i + 2]);
  q.klass = static_cast<uint16_t>(m[i + 3] << 8 | m[i + 4]);
  q.end = i + 5;
  return q;
}

std::optional<std::vector<uint8_t>> answer(const std::vector<uint8_t>& query, const DnsQuestion& q,
                                           const std::map<std::string, Ipv4>& names,
                                           const std::map<std::string, Ipv6>& names6) {
  auto it = names.find(q.name);
  auto it6 = names6.find(q.name);
  if (it == names.end() && it6 == names6.end()) return std::nullopt;
  bool a = q.type == kTypeA && q.klass == 1 && it != names.end();
  bool aaaa = q.type == kTypeAAAA && q.klass == 1 && it6 != names6.end();
  std::vector<uint8_t> out = reply_header(query, q, 0, a || aaaa ? 1 : 0);
  if (a || aaaa) {
    out.push_back(0xc0);  // the name: a pointer to the question's
    out.push_back(12);
    put16(out, a ? kTypeA : kTypeAAAA);
    put16(out, 1);
    put16(out, 0);
    put16(out, 600);  // TTL
    put16(out, a ? 4 : 16);
  }
  if (a) {
    uint32_t v = it->second.value;
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  }
  if (aaaa) out.insert(out.end(), it6->second.bytes.begin(), it6->second.bytes.end());
  return out;
}

std::vector<uint8_t> servfail(const std::vector<uint8_t>& query, const DnsQuestion& q) {
  return reply_header(query, q, 2, 0);
}

std::map<std::string, Ipv4> parse_hosts(const std::string& text) {
  std::map<std::string, Ipv4> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string ip, name;
    if (!(words >> ip) || !is_ipv4(ip)) continue;
    Ipv4 a = parse_ipv4(ip, "hosts");
    while (words >> name) {
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.emplace(name, a);
    }
  }
  return out;
}

std::map<std::string, Ipv6> parse_hosts6(const std::string& text) {
  std::map<std::string, Ipv6> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string ip, name;
    if (!(words >> ip) || !is_ipv6(ip)) continue;
    Ipv6 a = parse_ipv6(ip, "hosts");
    while (words >> name) {
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.emplace(name, a);
    }
  }
  return out;
}

std::vector<uint8_t> truncate_for_udp(const std::vector<uint8_t>& reply, size_t limit) {
  if (reply.size() <= limit || reply.size() < 12) return reply;
  std::vector<uint8_t> out(reply.begin(), reply.begin() + 12);
  out[2] |= 0x02;  // TC
  // Keep the question (it is the client's own, so it fits) and no records.
  size_t i = 12;
  uint16_t qd = static_cast<uint16_t>(reply[4] << 8 | reply[5]);
  for (uint16_t k = 0; k < qd && i < reply.size(); ++k) {
    for (;;) {  // the name: labels up to a zero byte, or up to a pointer
      if (i >= reply.size()) break;
      if (reply[i] == 0) {
        ++i;
        break;
      }
      if ((reply[i] & 0xc0) == 0xc0) {
        i += 2;
        break;
      }
      i += 1u + reply[i];
    }
    i += 4;  // type, class
  }
  if (i > reply.size() || i > limit) {
    out[4] = out[5] = 0;
    i = 12;
  }
  out.insert(out.end(), reply.begin() + 12, reply.begin() + static_cast<long>(i));
  for (int k = 6; k < 12; ++k) out[k] = 0;
  return out;
}

}  // namespace berth::net
