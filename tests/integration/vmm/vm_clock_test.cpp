// The guest's clock across a pause, a snapshot and a migration, with the
// clock guest (tests/guests/clock.c): it prints "clock N ms" from its
// kvmclock every 100 ms of guest time, spinning in between. Its clock must
// stand still while the VM does not run (as under qemu's stop/cont), so
// consecutive lines stay ~100 ms apart even when the VM was stopped for
// seconds between them. A guest that saw the host's time go by would print
// a gap as long as the stop.
#include <nlohmann/json.hpp>
#include <sstream>

#include "vm_support.hpp"

namespace berth::testing {
namespace {

constexpr int kStopMs = 2500;
// Well under kStopMs, well over the 100 ms between lines plus what a loaded
// host may keep a running vCPU thread waiting for a CPU.
constexpr uint64_t kMaxGapMs = 1200;

std::vector<uint64_t> clocks(const std::string& log) {
  std::vector<uint64_t> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("clock ", 0) == 0 && line.find(" ms") != std::string::npos)
      out.push_back(std::stoull(line.substr(6)));
  return out;
}

// Lines ~100 ms apart, in order, with no gap of a stop's length.
void expect_no_jump(const std::string& log) {
  auto c = clocks(log);
  ASSERT_GE(c.size(), 3u) << log;
  for (size_t i = 1; i < c.size(); ++i) {
    EXPECT_GE(c[i], c[i - 1]) << "the guest's clock went back at line " << i << " of\n" << log;
    EXPECT_LT(c[i] - c[i - 1], kMaxGapMs) << "the guest's clock jumped at line " << i << " of\n" << log;
  }
}

bool wait_lines(VmEnv& env, const std::string& name, size_t n) {
  return eventually([&] { return clocks(console_log(env, name)).size() >= n; }, 20000);
}

// Boots the clock guest as `name`; false (the test skips) without kvmclock.
bool start_clock_guest(VmEnv& env, const std::string& name) {
  CmdResult r = env.vm({"run", "-d", "--name", name, "--kernel", guest("clock"), "--memory", "32M"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(eventually([&] {
    std::string log = console_log(env, name);
    return has(log, "clock guest up") || has(log, "no kvmclock");
  })) << console_log(env, name);
  return !has(console_log(env, name), "no kvmclock");
}

TEST(VmClock, StandsStillWhilePaused) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  if (!start_clock_guest(env, "c")) GTEST_SKIP() << "this KVM offers no kvmclock";
  ASSERT_TRUE(wait_lines(env, "c", 3)) << console_log(env, "c");
  ASSERT_EQ(env.vm({"pause", "c"}).status, 0);
  size_t before = clocks(console_log(env, "c")).size();
  ::usleep(kStopMs * 1000);
  ASSERT_EQ(env.vm({"resume", "c"}).status, 0);
  ASSERT_TRUE(wait_lines(env, "c", before + 3)) << console_log(env, "c");
  expect_no_jump(console_log(env, "c"));
  EXPECT_EQ(env.vm({"stop", "c"}).status, 0);
}

TEST(VmClock, CarriesOnFromTheSnapshot) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  if (!start_clock_guest(env, "a")) GTEST_SKIP() << "this KVM offers no kvmclock";
  ASSERT_TRUE(wait_lines(env, "a", 3)) << console_log(env, "a");
  // Paused a while first: the snapshot holds the clock of the pause.
  ASSERT_EQ(env.vm({"pause", "a"}).status, 0);
  ::usleep(kStopMs * 1000);
  CmdResult s = env.vm({"snapshot", "a", env.path("snap"), "--stop"});
  ASSERT_EQ(s.status, 0) << s.err;
  std::string a_log = console_log(env, "a");
  ::usleep(kStopMs * 1000);
  CmdResult r = env.vm({"restore", env.path("snap"), "--name", "b", "-d"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(wait_lines(env, "b", 3)) << console_log(env, "b");
  expect_no_jump(a_log + console_log(env, "b"));
  EXPECT_EQ(env.vm({"stop", "b"}).status, 0);
}

TEST(VmClock, CarriesOnAcrossAMigration) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  if (!start_clock_guest(env, "m")) GTEST_SKIP() << "this KVM offers no kvmclock";
  ASSERT_TRUE(wait_lines(env, "m", 3)) << console_log(env, "m");
  ASSERT_EQ(env.vm({"pause", "m"}).status, 0);
  ::usleep(kStopMs * 1000);
  std::string to = free_port();
  CmdResult recv = env.vm({"receive", "--listen", to, "--name", "n", "-d"});
  ASSERT_EQ(recv.status, 0) << recv.err;
  CmdResult m = env.vm({"migrate", "m", "--to", to});
  ASSERT_EQ(m.status, 0) << m.err;
  std::string m_log = console_log(env, "m");
  ASSERT_TRUE(wait_lines(env, "n", 3)) << console_log(env, "n");
  expect_no_jump(m_log + console_log(env, "n"));
  EXPECT_EQ(env.vm({"stop", "n"}).status, 0);
}

}  // namespace
}  // namespace berth::testing
