// `update`: runc's flags and -r reach the live cgroup of a running container
// (read back from the control files on the host); bad input is one line.
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"
#include "runtime_checks.hpp"

using namespace berth::testing;
using namespace berth::runtime;
using nlohmann::json;

namespace {

// <hierarchy of controller>/berth/<id>/<file> on a v1 (or hybrid) host.
std::string v1_file(const std::string& controller, const std::string& id, const std::string& file) {
  const auto* h = cgroups::host_cgroups().v1_for(controller);
  return h ? h->mountpoint + "/berth/" + id + "/" + file : "";
}

std::string value(const std::string& path) {
  std::string v = slurp(path);
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

struct Sleeper {
  Bundle b;
  Runtime rt;
  std::string id = Runtime::unique_id("update");
  Sleeper() {
    b.set_args({"sleep", "1000"});
    b.write();
    EXPECT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  }
  ~Sleeper() {
    rt({"delete", "--force", id});
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
};

}  // namespace

TEST(Update, FlagsReachTheLiveCgroup) {
  BERTH_REQUIRE_BUSYBOX();
  if (detect_cgroup_layout() == CgroupLayout::V2) GTEST_SKIP() << "v1 control files asserted";
  Sleeper c;
  auto r = c.rt({"update", "--memory", "64m", "--memory-reservation", "32M", "--cpu-shares", "512", "--cpu-quota",
                 "50000", "--cpu-period", "200000", "--cpuset-cpus", "0", "--pids-limit", "50", c.id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value(v1_file("memory", c.id, "memory.limit_in_bytes")), std::to_string(64 << 20));
  EXPECT_EQ(value(v1_file("memory", c.id, "memory.soft_limit_in_bytes")), std::to_string(32 << 20));
  EXPECT_EQ(value(v1_file("cpu", c.id, "cpu.shares")), "512");
  EXPECT_EQ(value(v1_file("cpu", c.id, "cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(value(v1_file("cpu", c.id, "cpu.cfs_period_us")), "200000");
  EXPECT_EQ(value(v1_file("cpuset", c.id, "cpuset.cpus")), "0");
  EXPECT_EQ(value(v1_file("pids", c.id, "pids.max")), "50");

  // A second update composes: only what it names changes.
  r = c.rt({"update", "--pids-limit", "-1", c.id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value(v1_file("pids", c.id, "pids.max")), "max");
  EXPECT_EQ(value(v1_file("cpu", c.id, "cpu.shares")), "512");
}

TEST(Update, ResourcesFromStdinAndFlagsOverrideIt) {
  BERTH_REQUIRE_BUSYBOX();
  if (detect_cgroup_layout() == CgroupLayout::V2) GTEST_SKIP() << "v1 control files asserted";
  Sleeper c;
  auto r = c.rt({"update", "-r", "-", "--cpu-shares", "300", c.id},
                R"({"memory": {"limit": 33554432}, "cpu": {"shares": 100}, "pids": {"limit": 20}})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value(v1_file("memory", c.id, "memory.limit_in_bytes")), "33554432");
  EXPECT_EQ(value(v1_file("cpu", c.id, "cpu.shares")), "300");
  EXPECT_EQ(value(v1_file("pids", c.id, "pids.max")), "20");
}

TEST(Update, BadInputIsOneLineAndChangesNothing) {
  BERTH_REQUIRE_BUSYBOX();
  if (detect_cgroup_layout() == CgroupLayout::V2) GTEST_SKIP() << "v1 control files asserted";
  Sleeper c;
  std::string before = value(v1_file("memory", c.id, "memory.limit_in_bytes"));
  struct Case {
    std::vector<std::string> args;
    std::string input;
    int code;
    std::string says;
  };
  const Case cases[] = {
      {{"update", "--memory", "12q", c.id}, "", 2, "--memory \"12q\""},
      {{"update", "--cpu-shares", "-5", c.id}, "", 2, "--cpu-shares"},
      {{"update", "--kernel-memory", "1x", c.id}, "", 2, "--kernel-memory \"1x\""},
      {{"update", "--cpu-rt-runtime", "1", c.id}, "", 2, "unknown flag --cpu-rt-runtime"},
      {{"update", "-r", "-", c.id}, R"({"memory": {"limit": "x"}})", 2, "resources.memory.limit"},
      {{"update", "-r", "-", c.id}, "{", 2, "malformed JSON"},
      {{"update", "--memory", "1m", "no-such-container"}, "", 3, "does not exist"},
      {{"update", "--cpuset-cpus", "4096", c.id}, "", 2, "cpuset.cpus"},
  };
  for (const auto& k : cases) {
    auto r = c.rt(k.args, k.input);
    EXPECT_EQ(r.exit_code, k.code) << k.says << ": " << r.err;
    EXPECT_NE(r.err.find(k.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(value(v1_file("memory", c.id, "memory.limit_in_bytes")), before);
}

TEST(Update, StoppedContainerIsRefused) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"true"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("updstop");
  ASSERT_EQ(rt({"run", "--keep", "--bundle", b.path(), id}).exit_code, 0);
  auto r = rt({"update", "--memory", "64m", id});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("it is stopped"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
}
