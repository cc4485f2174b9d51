// virtio-console through `berth vm run --channel`: a host program on the
// channel socket reads the guest's greeting (sent before it connected, or
// after), hangs up, reconnects and sends a line the guest checksums and
// echoes back; the VM lives through the hang-up. Bad --channel values fail
// with one line and leave no record and no socket behind.
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fd.hpp"
#include "vm_support.hpp"

namespace berth::testing {
namespace {

// The host side of the virtio_console guest: greeting, hang-up, a line, echo.
void talk_to_guest(const std::string& sock, const std::string& line) {
  {
    UniqueFd first = connect_channel(sock);
    ASSERT_TRUE(first) << "nobody listens on " << sock;
    EXPECT_EQ(read_line(first.get()), "BERTH-CONSOLE-HELLO\n");
  }  // hang up: the VM must carry on without a client
  UniqueFd again = connect_channel(sock, 5000);
  ASSERT_TRUE(again);
  ASSERT_EQ(::write(again.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
  EXPECT_EQ(read_line(again.get()), "ECHO:" + line);
}

std::string expected_rx(const std::string& line) {
  char want[64];
  snprintf(want, sizeof want, "console rx len=%zu fnv=%08x", line.size(), fnv1a(line));
  return want;
}

TEST(VmConsole, GuestAndHostExchangeBytesOverTheChannelSocket) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string sock = env.path("channel.sock");
  const std::string line = "host to guest: 0123456789 abcdefghij\n";
  CmdResult vm;
  std::thread runner([&] {
    vm = env.vm({"run", "--kernel", guest("virtio_console"), "--memory", "64M", "--channel", "unix:" + sock});
  });
  talk_to_guest(sock, line);
  runner.join();
  EXPECT_EQ(vm.status, 0) << vm.out << vm.err;
  EXPECT_TRUE(has(vm.out, "console bad chain used len=0 status=f")) << vm.out;
  EXPECT_TRUE(has(vm.out, expected_rx(line))) << "want " << expected_rx(line) << "\n" << vm.out;
  EXPECT_TRUE(has(vm.out, "console echo sent")) << vm.out;
  EXPECT_TRUE(has(vm.out, "RESULT PASS")) << vm.out;
  EXPECT_NE(::access(sock.c_str(), F_OK), 0) << "the socket outlived the VM";
}

TEST(VmConsole, DefaultSocketOfADetachedVmIsShownByInspect) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "-d", "--name", "chan", "--kernel", guest("virtio_console"), "--memory", "64M",
                        "--channel", "unix"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(env.vm({"inspect", "chan"}).out, nullptr, false);
  ASSERT_TRUE(j.is_object());
  std::string sock = j["Config"]["channel"];
  EXPECT_EQ(sock, env.state() + "/vms/chan/channel.sock");
  const std::string line = "detached\n";
  talk_to_guest(sock, line);
  std::string log;
  for (int i = 0; i < 500 && !has(log, "RESULT"); ++i) {
    ::usleep(10000);
    log = read_all(env.root() + "/vms/chan/console.log");
  }
  EXPECT_TRUE(has(log, expected_rx(line))) << log;
  EXPECT_TRUE(has(log, "RESULT PASS")) << log;
}

TEST(VmConsole, BadChannelsFailInOneLineAndLeaveNothing) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  auto run = [&](const std::string& channel) {
    return env.vm({"run", "--name", "bad", "--kernel", guest("pci_enum"), "--channel", channel});
  };
  auto one_line = [](const CmdResult& r) { return std::count(r.err.begin(), r.err.end(), '\n') == 1; };

  CmdResult missing = run("unix:" + env.path("no/such/dir/c.sock"));
  EXPECT_EQ(missing.status, 3) << missing.err;
  EXPECT_TRUE(has(missing.err, "directory " + env.path("no/such/dir") + " does not exist")) << missing.err;
  EXPECT_TRUE(one_line(missing)) << missing.err;

  CmdResult scheme = run("tcp:127.0.0.1:4000");
  EXPECT_EQ(scheme.status, 2) << scheme.err;
  EXPECT_TRUE(has(scheme.err, "--channel must be unix or unix:PATH")) << scheme.err;
  EXPECT_TRUE(one_line(scheme)) << scheme.err;

  std::string plain = env.path("plain");
  { std::ofstream(plain) << "keep"; }
  CmdResult file = run("unix:" + plain);
  EXPECT_EQ(file.status, 4) << file.err;
  EXPECT_TRUE(has(file.err, plain + " already exists and is not a socket")) << file.err;
  EXPECT_TRUE(one_line(file)) << file.err;
  EXPECT_EQ(read_all(plain), "keep");

  // Another process listens there: refused, and its socket stays.
  std::string taken = env.path("taken.sock");
  UniqueFd l(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa = unix_address(taken);
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(l.get(), 1), 0);
  CmdResult busy = run("unix:" + taken);
  EXPECT_EQ(busy.status, 5) << busy.err;
  EXPECT_TRUE(has(busy.err, taken + " is in use")) << busy.err;
  EXPECT_TRUE(one_line(busy)) << busy.err;
  EXPECT_EQ(::access(taken.c_str(), F_OK), 0);

  // A default socket whose VM then fails to start (not a kernel): its
  // directories go with it.
  CmdResult notkernel = env.vm({"run", "--name", "bad2", "--kernel", "/bin/true", "--channel", "unix"});
  EXPECT_NE(notkernel.status, 0) << notkernel.err;
  EXPECT_TRUE(one_line(notkernel)) << notkernel.err;
  EXPECT_NE(::access((env.state() + "/vms/bad2").c_str(), F_OK), 0);
  EXPECT_NE(::access((env.root() + "/vms/bad2").c_str(), F_OK), 0);
  EXPECT_NE(::access((env.state() + "/vms/bad").c_str(), F_OK), 0);

  CmdResult ls = env.vm({"ls"});
  EXPECT_FALSE(has(ls.out, "bad")) << ls.out;

  // A stale socket file (its VMM was killed) is replaced; the guest sees
  // the console as PCI device 1af4:1043.
  l.reset();
  CmdResult ok = run("unix:" + taken);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(has(ok.out, "1af4:1043 class 078000")) << ok.out;
  EXPECT_NE(::access(taken.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::testing
