// The starter <-> berth-vmm contract (vmm/launch.hpp): launch config,
// report lines, exit record and the config channel with its "go" gate.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "test_support.hpp"
#include "vmm/launch.hpp"

namespace berth::vmm {
namespace {

LaunchConfig sample() {
  LaunchConfig c;
  c.name = "web";
  c.vm.boot.kernel = "/k";
  c.vm.boot.initrd = "/i";
  c.vm.boot.cmdline = "console=ttyS0 quiet";
  c.vm.cpus = 2;
  c.vm.memory = 64 * kMiB;
  c.vm.disks = {{"/d1.img", false}, {"/d2.img", true}};
  c.vm.tap = "bt-web";
  c.vm.mac = "52:54:00:00:00:01";
  c.vm.rng = false;
  c.cgroup = "web.1234";
  c.detached = true;
  c.console_log = "/r/console.log";
  c.console_socket = "/s/console.sock";
  c.vmm_log = "/r/vmm.log";
  c.exit_file = "/r/exit.json";
  return c;
}

TEST(LaunchConfig, RoundTripsThroughJson) {
  LaunchConfig c = launch_config_from_json(to_json(sample()));
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.vm.boot.kernel, "/k");
  EXPECT_EQ(c.vm.boot.initrd, "/i");
  EXPECT_EQ(c.vm.boot.cmdline, "console=ttyS0 quiet");
  EXPECT_EQ(c.vm.cpus, 2);
  EXPECT_EQ(c.vm.memory, 64 * kMiB);
  ASSERT_EQ(c.vm.disks.size(), 2u);
  EXPECT_EQ(c.vm.disks[1].path, "/d2.img");
  EXPECT_TRUE(c.vm.disks[1].readonly);
  EXPECT_EQ(c.vm.tap, "bt-web");
  EXPECT_EQ(c.vm.mac, "52:54:00:00:00:01");
  EXPECT_FALSE(c.vm.rng);
  EXPECT_EQ(c.cgroup, "web.1234");
  EXPECT_TRUE(c.detached);
  EXPECT_EQ(c.console_socket, "/s/console.sock");
  EXPECT_EQ(c.vmm_log, "/r/vmm.log");
  EXPECT_EQ(c.exit_file, "/r/exit.json");
  EXPECT_EQ(to_json(sample()).find('\n'), std::string::npos);  // one line
}

TEST(LaunchConfig, BadInputNamesTheProblem) {
  auto kind_of = [](const std::string& text) {
    try {
      launch_config_from_json(text);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::Internal;
  };
  EXPECT_EQ(kind_of("not json"), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of("[1,2]"), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of(R"({"name":"x","kernel":"/k"})"), ErrorKind::InvalidArgument);  // no exit_file
  EXPECT_EQ(kind_of(R"({"name":"x","kernel":"/k","exit_file":"/e","cpus":"two"})"), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of(R"({"name":"x","kernel":"/k","exit_file":"/e","detached":true})"), ErrorKind::InvalidArgument);
}

TEST(Report, LinesParseBackAndGarbageIsIgnored) {
  auto r = parse_report(to_json(Report::exit("poweroff", "guest powered off")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event, "exit");
  EXPECT_EQ(r->reason, "poweroff");
  EXPECT_EQ(r->detail, "guest powered off");
  r = parse_report(to_json(Report::error(ErrorKind::FailedPrecondition, "disk locked")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ErrorKind::FailedPrecondition);
  EXPECT_EQ(r->message, "disk locked");
  EXPECT_FALSE(parse_report("garbage"));
  EXPECT_FALSE(parse_report(R"({"event":3})"));
  r = parse_report(R"({"event":"error","kind":99,"message":"m"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ErrorKind::Internal);  // an unknown kind is not trusted
  // Wrong types read as absent: no json::type_error, no float-to-int cast.
  for (const char* odd : {R"({"event":"error","kind":1e300,"message":5})", R"({"event":"error","kind":-1e300})",
                          R"({"event":"error","kind":18446744073709551615})", R"({"event":"exit","reason":[1],"detail":{}})"}) {
    r = parse_report(odd);
    ASSERT_TRUE(r) << odd;
    EXPECT_EQ(r->kind, ErrorKind::Internal) << odd;
    EXPECT_EQ(r->message, "") << odd;
    EXPECT_EQ(r->reason, "") << odd;
  }
  EXPECT_EQ(exit_code("poweroff"), 0);
  EXPECT_EQ(exit_code("crash"), 1);
}

TEST(ExitRecord, WrittenWholeAndReadBack) {
  berth::testing::TempDir t;
  std::string path = t / "exit.json";
  EXPECT_FALSE(read_exit_record(path));
  write_exit_record(path, {1234, "crash", "triple fault", "2026-01-01T00:00:00Z"});
  auto r = read_exit_record(path);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pid, 1234);
  EXPECT_EQ(r->reason, "crash");
  EXPECT_EQ(r->detail, "triple fault");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::write_file(path, "{\"pid\":1");  // cut short
  EXPECT_FALSE(read_exit_record(path));
  fs::write_file(path, R"({"pid":1e300,"reason":"crash","detail":7,"finished":null})");
  r = read_exit_record(path);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pid, 0);
  EXPECT_EQ(r->detail, "");
  fs::write_file(path, R"({"pid":5,"reason":3})");
  EXPECT_FALSE(read_exit_record(path));  // no reason: not a record
}

TEST(LaunchChannel, ConfigThenGoOrEof) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string text = to_json(sample()) + "\ngo\n";
  ASSERT_EQ(::write(p[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(p[1]);
  LaunchChannel ch(p[0]);
  auto c = ch.read_config();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "web");
  EXPECT_TRUE(ch.wait_go());

  ASSERT_EQ(::pipe(p), 0);
  text = to_json(sample()) + "\n";
  ASSERT_EQ(::write(p[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(p[1]);  // the starter gave up after the config
  LaunchChannel gave_up(p[0]);
  ASSERT_TRUE(gave_up.read_config());
  EXPECT_FALSE(gave_up.wait_go());

  ASSERT_EQ(::pipe(p), 0);
  ::close(p[1]);  // ... or before it
  LaunchChannel nothing(p[0]);
  EXPECT_FALSE(nothing.read_config());
}

}  // namespace
}  // namespace berth::vmm
