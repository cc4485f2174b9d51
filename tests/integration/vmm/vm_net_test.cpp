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

#include <nlohmann/json.hpp>

#include "vm_support.hpp"
#include "vmm/snapshot_file.hpp"

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

// A VM on `--net tap` snapshotted and restored under another name gets the
// tap of its new name; its old tap, and the tap of a restore that fails in
// the VMM after it made one, are gone.
TEST(VmNet, RestoreMovesToTheTapOfItsNewNameAndLeavesNoTap) {
  BERTH_REQUIRE_KVM();
  if (::access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "no /dev/net/tun";
  VmEnv env;
  NetNs ns;
  auto vm = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"ip", "netns", "exec", ns.name(), berth_bin(), "--root", env.root(),
                                     "--state", env.state(), "vm"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv);
  };
  auto link = [&](const std::string& tap) {
    return run_cmd({"ip", "netns", "exec", ns.name(), "ip", "link", "show", tap}).status == 0;
  };
  ASSERT_EQ(vm({"run", "-d", "--name", "src", "--kernel", guest("counter"), "--memory", "32M", "--net", "tap"}).status, 0);
  EXPECT_TRUE(link("bt-src"));
  ASSERT_TRUE(wait_count(env, "src", 64));
  std::string snap = env.path("snap");
  ASSERT_EQ(vm({"snapshot", "src", snap, "--stop"}).status, 0);
  EXPECT_TRUE(eventually([&] { return !link("bt-src"); }));

  CmdResult r = vm({"restore", snap, "--name", "dst", "-d"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(link("bt-dst"));
  nlohmann::json j = nlohmann::json::parse(env.vm({"inspect", "dst"}).out, nullptr, false);
  EXPECT_EQ(j["Config"]["tap"], "bt-dst");
  EXPECT_EQ(j["Config"]["net"], "tap");
  ASSERT_TRUE(wait_count(env, "dst", last_count(console_log(env, "src")) + 128));
  ASSERT_EQ(vm({"stop", "dst"}).status, 0);
  EXPECT_FALSE(link("bt-dst"));

  // Another host's CPUID: refused by the VMM, which had made its tap.
  vmm::SnapshotReader sr(snap);
  vmm::SnapshotWriter w;
  for (const auto& s : sr.names()) {
    nlohmann::json sec = sr.section(s);
    if (s == "vcpu/0") {
      std::string c = sec["cpuid"];
      c[24] = c[24] == '0' ? '1' : '0';
      sec["cpuid"] = c;
    }
    w.add(s, sec);
  }
  w.write(snap + "/state");
  CmdResult bad = vm({"restore", snap, "--name", "bad", "-d"});
  EXPECT_EQ(bad.status, 6) << bad.err;
  EXPECT_FALSE(link("bt-bad"));
  EXPECT_EQ(env.vm({"inspect", "bad"}).status, 3);
}

}  // namespace
}  // namespace berth::testing
