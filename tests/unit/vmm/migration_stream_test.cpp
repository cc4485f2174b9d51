// The live-migration stream without KVM, over a socketpair: addresses,
// frames against garbage and lying lengths, the receiver's checks of the
// hello (version, token), a peer that goes away midway.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.hpp"
#include "vmm/migration_stream.hpp"
#include "vmm/migration_target.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::vmm {
namespace {

using nlohmann::json;

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.emplace(UniqueFd(fds[0]), "source");
    b.emplace(UniqueFd(fds[1]), "target");
    b->set_timeout(2000);
  }
  std::optional<MigrationStream> a, b;
};

// The error `f` throws, as "<kind>: <message>".
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(kind_name(e.kind())) + ": " + e.what();
  }
  return "";
}

TEST(TcpAddress, ParsesAndTellsLoopback) {
  EXPECT_TRUE(parse_tcp_address("tcp:127.0.0.1:4444", "--listen").loopback);
  EXPECT_TRUE(parse_tcp_address("tcp:127.1.2.3:1", "--listen").loopback);
  EXPECT_TRUE(parse_tcp_address("tcp:[::1]:4444", "--listen").loopback);
  EXPECT_FALSE(parse_tcp_address("tcp:10.1.2.3:4444", "--listen").loopback);
  EXPECT_FALSE(parse_tcp_address("tcp:0.0.0.0:4444", "--listen").loopback);
  EXPECT_NE(error_of([] { parse_tcp_address("udp:1.2.3.4:5", "--to"); }).find("--to udp:1.2.3.4:5: not a tcp: address"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_tcp_address("tcp:1.2.3.4", "--to"); }).find("no HOST:PORT"), std::string::npos);
  EXPECT_NE(error_of([] { parse_tcp_address("tcp:1.2.3.4:70000", "--to"); }).find("port 70000 is not 1 to 65535"),
            std::string::npos);
  EXPECT_TRUE(parse_tcp_address("tcp:localhost:4444", "--listen").loopback);  // /etc/hosts, no DNS
}

TEST(MigrationStream, FramesRoundTrip) {
  Pair p;
  p.a->send_json(Frame::Hello, {{"x", 1}});
  const uint8_t page[4096] = {7};
  p.a->send_pages(0x1000, page, sizeof page);
  p.a->send(Frame::Done, nullptr, 0);
  EXPECT_EQ(p.b->receive_json(Frame::Hello, "a hello")["x"], 1);
  auto h = p.b->next("pages");
  EXPECT_EQ(h.type, Frame::Pages);
  EXPECT_EQ(h.length, 8u + 4096);
  uint64_t gpa = 0;
  uint8_t got[4096];
  p.b->read(&gpa, 8);
  p.b->read(got, sizeof got);
  EXPECT_EQ(gpa, 0x1000u);
  EXPECT_EQ(got[0], 7);
  EXPECT_EQ(p.b->next("done").type, Frame::Done);
  EXPECT_EQ(p.a->bytes_sent(), 16u + 7 + 16 + 8 + 4096 + 16);
}

TEST(MigrationStream, GarbageAndLiesAreCorrupt) {
  {
    Pair p;
    ASSERT_EQ(::write(p.a->fd(), "GET / HTTP/1.1\r\n\r\n", 18), 18);
    std::string e = error_of([&] { p.b->next("a hello"); });
    EXPECT_EQ(e.rfind("corrupt: migration stream from target is garbage (frame type", 0), 0u) << e;
  }
  {
    Pair p;
    uint32_t h[4] = {static_cast<uint32_t>(Frame::State), 0, 0xffffffffu, 0xffffffffu};  // a huge length
    ASSERT_EQ(::write(p.a->fd(), h, sizeof h), static_cast<ssize_t>(sizeof h));
    std::string e = error_of([&] { p.b->next("the state"); });
    EXPECT_NE(e.find("more than its type allows"), std::string::npos) << e;
  }
  {
    Pair p;
    p.a->send(Frame::Done, nullptr, 0);
    std::string e = error_of([&] { p.b->receive_json(Frame::Machine, "the machine"); });
    EXPECT_NE(e.find("the machine expected, frame type 5 came"), std::string::npos) << e;
  }
  {
    Pair p;
    p.a->send(Frame::Machine, "[1,2]", 5);
    std::string e = error_of([&] { p.b->receive_json(Frame::Machine, "the machine"); });
    EXPECT_NE(e.find("the machine is not a JSON object"), std::string::npos) << e;
  }
  {
    Pair p;
    uint32_t h[2] = {static_cast<uint32_t>(Frame::Hello), 0};
    ASSERT_EQ(::write(p.a->fd(), h, sizeof h), static_cast<ssize_t>(sizeof h));
    p.a.reset();  // the source dies in the middle of a header
    std::string e = error_of([&] { p.b->next("a hello"); });
    EXPECT_EQ(e, "failed precondition: target closed the migration stream midway") << e;
  }
}

TEST(MigrationTarget, HelloIsCheckedForVersionAndToken) {
  auto hello = [](const json& j, const std::string& token) {
    Pair p;
    p.a->send_json(Frame::Hello, j);
    p.a->send_json(Frame::Machine, {{"cpus", 1}});
    return error_of([&] { receive_machine(*p.b, token); });
  };
  json good = {{"format", kMigrationFormat}, {"berth", berth_version()}, {"token", "t0ken"}};
  EXPECT_EQ(hello(good, "t0ken"), "");
  EXPECT_EQ(hello(good, ""), "");  // a receiver without a token takes any
  std::string e = hello(good, "other");
  EXPECT_EQ(e.rfind("failed precondition: the source target did not give this receiver's token", 0), 0u) << e;
  json old = good;
  old["berth"] = "0.0.1";
  e = hello(old, "t0ken");
  EXPECT_EQ(e.rfind("unsupported: the source target speaks migration format " + std::to_string(kMigrationFormat) +
                        " of berth 0.0.1",
                    0),
            0u)
      << e;
  EXPECT_TRUE(same_token("abc", "abc"));
  EXPECT_FALSE(same_token("abc", "abd"));
  EXPECT_FALSE(same_token("abc", "abcd"));
  EXPECT_FALSE(same_token("", "a"));
}

// A target that gives up answers why and reads on until the source closes,
// so the source, still sending, gets the reason and not a broken pipe.
TEST(MigrationTarget, ASourceStillSendingGetsTheRefusal) {
  Pair p;
  std::thread target([&] { answer_error(*p.b, "no room for this VM", static_cast<int>(ErrorKind::Unsupported)); });
  std::string big(8 << 20, 'x');
  std::string e = error_of([&] {
    for (int i = 0; i < 10; ++i) p.a->send(Frame::State, big.data(), big.size());
    p.a->receive_answer("an answer");
  });
  p.a.reset();
  target.join();
  EXPECT_EQ(e, "unsupported: the receiver at source refused: no room for this VM") << e;
}

}  // namespace
}  // namespace berth::vmm
