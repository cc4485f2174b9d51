// virtio-net on a tap inside a network namespace the test creates: the
// guest's frame is captured on the tap, and a frame the host sends on the
// tap reaches the guest. No traffic leaves the namespace.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include "vm_support.hpp"

namespace berth::testing {
namespace {

class NetNs {
 public:
  NetNs() : name_("berth-vmt-" + std::to_string(::getpid())) {
    sh("ip netns add " + name_);
    sh("ip netns exec " + name_ + " sh -c 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
       "net.ipv6.conf.default.disable_ipv6=1; ip tuntap add tap0 mode tap; ip link set tap0 up; ip link set lo up'");
  }
  ~NetNs() { sh("ip netns del " + name_ + " 2>/dev/null"); }
  const std::string& name() const { return name_; }

 private:
  static void sh(const std::string& c) { [[maybe_unused]] int rc = std::system(c.c_str()); }
  std::string name_;
};

TEST(VmNet, FramesBothWaysThroughTheTap) {
  BERTH_REQUIRE_KVM();
  if (::access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
  VmEnv env;
  NetNs ns;

  // The socket listens on tap0 before the VM starts: the guest sends its
  // frame within milliseconds of boot.
  // This thread joins the namespace; the rest of the test process does not.
  int nsfd = ::open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(nsfd, 0);
  ASSERT_EQ(::setns(nsfd, CLONE_NEWNET), 0);
  ::close(nsfd);
  int s = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88b5));
  ASSERT_GE(s, 0);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(0x88b5);
  sll.sll_ifindex = static_cast<int>(if_nametoindex("tap0"));
  ASSERT_GT(sll.sll_ifindex, 0);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&sll), sizeof sll), 0);
  timeval tv{15, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  CmdResult vm;
  std::thread runner;
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{runner};
  runner = std::thread([&] {
    vm = run_cmd({"ip", "netns", "exec", ns.name(), berth_bin(), "--root", env.root(), "--state",
                  env.state(), "vm", "run", "--kernel", guest("virtio_net"), "--net", "tap:tap0",
                  "--mac", "52:54:00:12:34:56"},
                 "", 30);
  });

  uint8_t f[1600];
  ssize_t n;
  // ENETDOWN is reported once if the link went down/up around the bind.
  while ((n = ::recv(s, f, sizeof f, 0)) < 0 && errno == ENETDOWN) {
  }
  ASSERT_GE(n, 14 + 17) << "no frame from the guest";
  const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  EXPECT_EQ(std::memcmp(f + 6, guest_mac, 6), 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(f + 14), 17), "BERTH-GUEST-FRAME");

  uint8_t out[60] = {};
  std::memcpy(out, guest_mac, 6);
  const uint8_t host_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(out + 6, host_mac, 6);
  out[12] = 0x88;
  out[13] = 0xb5;
  std::memcpy(out + 14, "BERTH-HOST-FRAME", 16);
  ASSERT_EQ(::sendto(s, out, sizeof out, 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll),
            static_cast<ssize_t>(sizeof out));
  ::close(s);
  runner.join();

  EXPECT_EQ(vm.status, 0) << vm.out << vm.err;
  EXPECT_TRUE(has(vm.out, "net mac=52:54:00:12:34:56")) << vm.out;
  EXPECT_TRUE(has(vm.out, "net frame received len=60 payload=[BERTH-HOST-FRAME]")) << vm.out;
  EXPECT_TRUE(has(vm.out, "RESULT PASS")) << vm.out;
}

}  // namespace
}  // namespace berth::testing
