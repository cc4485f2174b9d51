// virtio-console driven through its registers by a fake driver over a real
// GuestMemory, with a real unix socket as the host end: bytes both ways,
// hostile chains and rings, garbage register writes, a host that does not
// read (the guest's buffer stays in flight, nothing is copied), hang-up and
// reconnect, and the bounded backlog kept while no host is connected.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>
#include <random>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "fake_virtio_driver.hpp"
#include "test_support.hpp"
#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {
namespace {

constexpr int kRx = 0, kTx = 1;
constexpr uint64_t kData = 0x100000;  // buffers live from 1 MiB up

class VirtioConsoleTest : public ::testing::Test {
 protected:
  berth::testing::TempDir dir;
  std::string path = dir / "ch.sock";
  GuestMemory mem{32 * kMiB};
  EventLoop loop;
  std::unique_ptr<VirtioPciDevice> dev = make_virtio_console(path);
  FakeVirtioDriver drv{*dev, mem};

  void SetUp() override {
    dev->bind(mem, loop);
    drv.start(2);
  }
  // A host program: connects, and the VMM's loop accepts it.
  UniqueFd connect_host() {
    UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path.c_str());
    EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    pump();
    return c;
  }
  void pump(int rounds = 3) {
    for (int i = 0; i < rounds; ++i) loop.run_once(20);
  }
  void put(uint64_t gpa, const std::string& s) { std::memcpy(mem.ptr(gpa, s.size()), s.data(), s.size()); }
  std::string get(uint64_t gpa, size_t n) { return std::string(reinterpret_cast<char*>(mem.ptr(gpa, n)), n); }
  uint16_t send(const std::string& s, uint64_t gpa = kData) {
    put(gpa, s);
    return drv.submit(kTx, {{gpa, static_cast<uint32_t>(s.size()), false}});
  }
  // A driver reset and a fresh start give a device that works again.
  void expect_working_after_restart(int host) {
    drv.start(2);
    EXPECT_EQ(drv.status(), 0xf);
    send("working again");
    EXPECT_EQ(host_read(host, 13), "working again");
  }
  // What the host can read within timeout_ms (until `want` bytes came).
  static std::string host_read(int fd, size_t want, int timeout_ms = 500) {
    std::string out;
    while (out.size() < want) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) break;
      char b[65536];
      ssize_t n = ::recv(fd, b, sizeof b, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(b, static_cast<size_t>(n));
    }
    return out;
  }
};

TEST_F(VirtioConsoleTest, BytesBothWays) {
  UniqueFd host = connect_host();
  send("hello from the guest\n");
  EXPECT_EQ(host_read(host.get(), 21), "hello from the guest\n");
  auto u = drv.used(kTx);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->len, 0u);

  drv.submit(kRx, {{kData + 0x1000, 8, true}, {kData + 0x2000, 8, true}});
  ASSERT_EQ(::send(host.get(), "0123456789", 10, 0), 10);
  pump();
  u = drv.used(kRx);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->len, 10u);
  EXPECT_EQ(get(kData + 0x1000, 8) + get(kData + 0x2000, 2), "0123456789");
  EXPECT_EQ(drv.status() & 0x40, 0);
}

TEST_F(VirtioConsoleTest, HostileChainsFailAloneAndBadRingsNeedReset) {
  UniqueFd host = connect_host();
  drv.submit(kTx, {{0x7fff00000000ull, 64, false}});  // outside guest RAM
  drv.submit(kTx, {{32 * kMiB - 8, 16, false}});       // runs off the end of RAM
  for (int i = 0; i < 2; ++i) {
    auto u = drv.used(kTx);
    ASSERT_TRUE(u) << i;
    EXPECT_EQ(u->len, 0u);
  }
  EXPECT_EQ(host_read(host.get(), 1, 50), "") << "nothing of a bad chain is sent";
  send("still alive");
  EXPECT_EQ(host_read(host.get(), 11), "still alive");

  // A receive chain the device may not write gets used length 0.
  ASSERT_EQ(::send(host.get(), "xy", 2, 0), 2);
  drv.submit(kRx, {{kData, 16, false}});
  pump();
  auto u = drv.used(kRx);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->len, 0u);
  drv.submit(kRx, {{kData, 16, true}});
  pump();
  u = drv.used(kRx);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->len, 2u);
  EXPECT_EQ(drv.status() & 0x40, 0);

  // Rings outside RAM: the device flags DEVICE_NEEDS_RESET, and a reset
  // plus a fresh start brings it back.
  drv.write(0x16, kTx, 2);
  drv.write(0x20, 1ull << 40, 8);  // the transmitq's descriptor table, far outside RAM
  drv.notify(kTx);
  EXPECT_EQ(drv.status() & 0x40, 0x40);
  expect_working_after_restart(host.get());
}

TEST_F(VirtioConsoleTest, GarbageRegisterWritesLeaveAWorkingDevice) {
  UniqueFd host = connect_host();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    uint64_t off = rng() % 0x4000;
    uint32_t len = 1u << (rng() % 4);
    drv.write(off, rng(), len);
    uint8_t b[8];
    dev->bar_read(rng() % 0x4000, b, len);
    if (i % 50 == 0) pump(1);
  }
  expect_working_after_restart(host.get());
}

TEST_F(VirtioConsoleTest, AHostThatDoesNotReadStallsTheGuestNotTheVmm) {
  UniqueFd host = connect_host();
  // 16 MiB in one chain: far more than a socket buffer holds.
  const uint32_t big = 16 * kMiB;
  for (uint32_t o = 0; o < big; o += 4096) mem.write<uint32_t>(kData + o, o);
  drv.submit(kTx, {{kData, big, false}});
  pump();
  EXPECT_FALSE(drv.used(kTx)) << "the chain stays in flight while the host does not read";

  // Receive keeps working meanwhile.
  drv.submit(kRx, {{kData + big, 4, true}});
  ASSERT_EQ(::send(host.get(), "ping", 4, 0), 4);
  pump();
  auto u = drv.used(kRx);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->len, 4u);

  // The host catches up: every byte arrives, in order, and the chain is used.
  std::string got;
  for (int i = 0; i < 2000 && got.size() < big; ++i) {
    got += host_read(host.get(), big - got.size(), 5);
    loop.run_once(0);
  }
  ASSERT_EQ(got.size(), big);
  uint32_t bad = 0;
  for (uint32_t o = 0; o < big; o += 4096) {
    uint32_t v;
    std::memcpy(&v, got.data() + o, 4);
    if (v != o) ++bad;
  }
  EXPECT_EQ(bad, 0u);
  pump();
  u = drv.used(kTx);
  ASSERT_TRUE(u);
}

TEST_F(VirtioConsoleTest, AGuestWithNoReceiveBuffersLeavesHostBytesInTheSocket) {
  UniqueFd host = connect_host();
  ASSERT_EQ(::fcntl(host.get(), F_SETFL, O_NONBLOCK), 0);
  std::string chunk(4096, 'z');
  size_t sent = 0;
  for (int i = 0; i < 10000; ++i) {
    ssize_t n = ::send(host.get(), chunk.data(), chunk.size(), 0);
    if (n < 0) break;
    sent += static_cast<size_t>(n);
    pump(1);
  }
  EXPECT_LT(sent, 10000u * chunk.size()) << "the VMM drained the host without guest buffers";
  drv.submit(kRx, {{kData, 4096, true}});
  pump();
  auto u = drv.used(kRx);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->len, 4096u);
}

TEST_F(VirtioConsoleTest, HangUpAndReconnect) {
  UniqueFd first = connect_host();
  UniqueFd second = connect_host();  // busy: refused (EOF)
  char c;
  EXPECT_EQ(::recv(second.get(), &c, 1, 0), 0);
  first.reset();
  pump();
  send("while nobody listens\n");
  ASSERT_TRUE(drv.used(kTx)) << "a guest writing to nobody does not block";
  UniqueFd again = connect_host();
  EXPECT_EQ(host_read(again.get(), 21), "while nobody listens\n");
  send("live\n", kData + 0x1000);
  EXPECT_EQ(host_read(again.get(), 5), "live\n");
}

TEST_F(VirtioConsoleTest, AHostThatShutsDownWritingStillGetsTheAnswer) {
  UniqueFd host = connect_host();
  ASSERT_EQ(::send(host.get(), "q\n", 2, 0), 2);
  ASSERT_EQ(::shutdown(host.get(), SHUT_WR), 0);  // as socat and nc -N do at EOF
  drv.submit(kRx, {{kData, 16, true}});
  pump();
  auto u = drv.used(kRx);
  ASSERT_TRUE(u);
  EXPECT_EQ(get(kData, u->len), "q\n");
  drv.submit(kRx, {{kData, 16, true}});  // a buffer for more: EOF must not spin or end the client
  pump();
  EXPECT_FALSE(drv.used(kRx));
  send("answer\n", kData + 0x1000);
  EXPECT_EQ(host_read(host.get(), 7), "answer\n");
}

TEST_F(VirtioConsoleTest, BacklogKeepsOnlyTheLast64KiB) {
  std::string out(100 * 1024, '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>('a' + (i / 1024) % 26);
  send(out.substr(0, 50 * 1024));
  send(out.substr(50 * 1024), kData + 0x100000);
  UniqueFd host = connect_host();
  std::string got = host_read(host.get(), 64 * 1024);
  EXPECT_EQ(got.size(), 64u * 1024);
  EXPECT_TRUE(got == out.substr(out.size() - 64 * 1024)) << "not the newest bytes";
  EXPECT_EQ(host_read(host.get(), 1, 50), "");
}

TEST(VirtioConsoleSocket, RefusesALiveOrForeignPathReplacesAStaleOne) {
  berth::testing::TempDir dir;
  std::string path = dir / "s";
  {
    auto live = make_virtio_console(path);
    try {
      make_virtio_console(path);
      FAIL() << "a second listener on a live socket";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::FailedPrecondition);
      EXPECT_NE(std::string(e.what()).find("is in use"), std::string::npos) << e.what();
    }
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the socket file outlived its device";
  {
    // A socket file nobody listens on (a VMM that was killed) is replaced.
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path.c_str());
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  }
  EXPECT_NO_THROW(make_virtio_console(path));
  std::string plain = dir / "plain";
  { std::ofstream(plain) << "keep me"; }
  EXPECT_THROW(make_virtio_console(plain), Error);
  EXPECT_EQ(fs::read_file(plain), "keep me");
  EXPECT_THROW(make_virtio_console(dir / "missing/s"), Error);
}

}  // namespace
}  // namespace berth::vmm
