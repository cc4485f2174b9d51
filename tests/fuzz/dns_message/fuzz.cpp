// The network's name responder (src/net/dns_message.cpp): every container
// on a user network sends it DNS queries, so a hostile container writes
// these bytes. The query is parsed, answered from a table of names (or
// refused with SERVFAIL), and a reply too big for UDP is cut to its
// question. The same bytes are also read as an upstream's reply (which
// truncate_for_udp cuts) and as a hosts file. Beyond not crashing: a reply
// carries the query's id with QR set and its question copied whole, and a
// cut reply fits its limit (or is the reply as it was) and says TC.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "net/dns_message.hpp"

using namespace berth;
using namespace berth::net;

namespace {

const std::map<std::string, Ipv4>& names() {
  static const auto n = parse_hosts("10.0.0.2 web web.local\n10.0.0.3 db\n");
  return n;
}

const std::map<std::string, Ipv6>& names6() {
  static const auto n = parse_hosts6("fd00::2 web\nfd00::4 v6only\n");
  return n;
}

void check_reply(const std::vector<uint8_t>& query, const DnsQuestion& q, const std::vector<uint8_t>& r) {
  FUZZ_CHECK(r.size() >= q.end, "a reply shorter than its question");
  FUZZ_CHECK((r[0] << 8 | r[1]) == q.id, "a reply with another id");
  FUZZ_CHECK(r[2] & 0x80, "a reply without QR");
  FUZZ_CHECK(std::memcmp(r.data() + 12, query.data() + 12, q.end - 12) == 0, "the question not copied whole");
  for (size_t limit : {size_t{12}, size_t{40}, size_t{512}}) {
    auto cut = truncate_for_udp(r, limit);
    FUZZ_CHECK(cut.size() <= std::max<size_t>(limit, 12) || cut == r, "a cut reply over its limit");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> in(data, data + size);
  fuzz::reject([&] {
    if (auto q = parse_question(in)) {
      FUZZ_CHECK(q->end >= 17 && q->end <= in.size(), "a question ending outside the query");
      FUZZ_CHECK(q->name.size() <= in.size(), "a name longer than the query");
      if (auto a = answer(in, *q, names(), names6())) check_reply(in, *q, *a);
      check_reply(in, *q, servfail(in, *q));
    }
    // As an upstream's reply, which the responder cuts for UDP.
    size_t limit = size >= 2 ? static_cast<size_t>(data[0] << 8 | data[1]) : 512;
    auto cut = truncate_for_udp(in, limit);
    // (A header is 12 bytes: a smaller limit still gets one.)
    FUZZ_CHECK(cut.size() <= std::max<size_t>(limit, 12) || cut == in, "a cut reply over its limit");
    if (cut != in) FUZZ_CHECK(cut.size() >= 12 && (cut[2] & 0x02), "a cut reply without TC");
    // As a hosts file.
    std::string text(in.begin(), in.end());
    (void)parse_hosts(text);
    (void)parse_hosts6(text);
  });
  return 0;
}
