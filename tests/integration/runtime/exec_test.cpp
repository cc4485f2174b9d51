// exec joins every namespace and the cgroup of the container.
#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

std::string ns_of(pid_t pid, const std::string& name) { return proc_link(pid, "ns/" + name); }

struct Running {
  Bundle b;
  Runtime rt;
  std::string id = Runtime::unique_id("exec");
  int pid = 0;
  // Without a time namespace the exec child shares the runtime's memory
  // until its execve (clone_vfork.hpp); joining one needs a fork-like clone.
  explicit Running(bool with_user_ns = false, bool with_time_ns = false) {
    b.set_args({"sleep", "1000"});
    if (with_user_ns) {
      b.config["linux"]["namespaces"].push_back({{"type", "user"}});
      b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}});
      b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}});
      auto& mounts = b.config["mounts"];
      for (size_t i = 0; i < mounts.size(); ++i)
        if (mounts[i]["destination"] == "/sys/fs/cgroup") mounts.erase(i--);
      chmod(b.path().c_str(), 0755);
    }
    if (with_time_ns) b.config["linux"]["namespaces"].push_back({{"type", "time"}});
    b.write();
    auto r = run_detached(rt, {"run", "-d", "--bundle", b.path(), id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    pid = state_of(rt, id)["pid"];
  }
  ~Running() {
    rt({"delete", "--force", id});
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
};

void expect_joined(Running& c, bool user, bool time) {
  TempDir d;
  std::string pidfile = d.path() + "/exec.pid";
  auto r = run_detached(c.rt, {"exec", "--detach", "--pid-file", pidfile, c.id, "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int epid = std::stoi(slurp(pidfile));
  ASSERT_GT(epid, 0);
  std::vector<std::string> names = {"pid", "mnt", "net", "uts", "ipc", "cgroup"};
  if (user) names.push_back("user");
  if (time) names.push_back("time");
  for (auto& n : names) {
    EXPECT_EQ(ns_of(epid, n), ns_of(c.pid, n)) << n;
    EXPECT_NE(ns_of(epid, n), ns_of(getpid(), n)) << n;
  }
  // Same cgroup as the init in every hierarchy, and that is the container's
  // own in every v1 controller hierarchy (both joined by themselves, from
  // inside the user namespace too: see runtime::CgroupJoin).
  std::string init_cgroups = slurp("/proc/" + std::to_string(c.pid) + "/cgroup");
  EXPECT_EQ(slurp("/proc/" + std::to_string(epid) + "/cgroup"), init_cgroups);
  std::istringstream lines(init_cgroups);
  int v1_controllers = 0;
  for (std::string line; std::getline(lines, line);) {
    std::string controllers = line.substr(line.find(':') + 1);
    std::string path = controllers.substr(controllers.find(':') + 1);
    controllers.resize(controllers.find(':'));
    if (controllers.empty() || controllers.starts_with("name=")) continue;
    ++v1_controllers;
    EXPECT_EQ(path, "/berth/" + c.id) << line;
  }
  if (access("/sys/fs/cgroup/pids/tasks", F_OK) == 0) {
    EXPECT_GT(v1_controllers, 0) << init_cgroups;
  }
  // Same root directory (the container's rootfs).
  EXPECT_EQ(proc_link(epid, "root"), proc_link(c.pid, "root"));
  json pids = json::parse(c.rt({"ps", "--format", "json", c.id}).out);
  EXPECT_NE(std::find(pids.begin(), pids.end(), epid), pids.end()) << pids;
}

}  // namespace

TEST(Exec, JoinsEveryNamespaceAndTheCgroup) {
  BERTH_REQUIRE_BUSYBOX();
  Running c;
  expect_joined(c, false, false);
}

TEST(Exec, JoinsATimeNamespaceToo) {
  BERTH_REQUIRE_BUSYBOX();
  Running c(false, true);
  expect_joined(c, false, true);
  auto r = c.rt({"exec", c.id, "sh", "-c", "echo in; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "in\n");
}

TEST(Exec, JoinsAUserNamespacedContainer) {
  BERTH_REQUIRE_BUSYBOX();
  Running c(true);  // no time namespace: the exec child shares memory and still may setns(user)
  expect_joined(c, true, false);
  auto r = c.rt({"exec", c.id, "sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n 0 200000 65536\n");
}

TEST(Exec, ForegroundPropagatesExitCodeAndOutput) {
  BERTH_REQUIRE_BUSYBOX();
  Running c;
  auto r = c.rt({"exec", c.id, "sh", "-c", "echo pid1=$(cat /proc/1/comm); hostname; exit 42"});
  EXPECT_EQ(r.exit_code, 42) << r.err;
  EXPECT_EQ(r.out, "pid1=sleep\nberth\n");
}

TEST(Exec, FlagsSetEnvCwdUser) {
  BERTH_REQUIRE_BUSYBOX();
  Running c;
  auto r = c.rt({"exec", "--cwd", "/tmp", "--env", "FOO=bar", "-e", "TERM=dumb", "--user", "1000:1001", c.id, "sh",
                 "-c", "pwd; echo $FOO $TERM; id -u; id -g"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "/tmp\nbar dumb\n1000\n1001\n");
}

TEST(Exec, ProcessJson) {
  BERTH_REQUIRE_BUSYBOX();
  Running c;
  TempDir d;
  std::ofstream(d.path() + "/process.json")
      << R"({"args": ["sh", "-c", "echo $A; pwd; exit 5"], "cwd": "/etc", "env": ["A=from-json", "PATH=/bin"], "user": {"uid": 0, "gid": 0}})";
  auto r = c.rt({"exec", "-p", d.path() + "/process.json", c.id});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "from-json\n/etc\n");
}

TEST(Exec, MissingExecutableIsAClearError) {
  BERTH_REQUIRE_BUSYBOX();
  Running c;
  auto r = c.rt({"exec", c.id, "no-such-program"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no-such-program"), std::string::npos) << r.err;
}

TEST(Exec, RefusedInStoppedOrUnknownContainer) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  auto r = rt({"exec", "nope", "true"});
  EXPECT_EQ(r.exit_code, 3);
  Bundle b;
  b.set_args({"true"});
  b.write();
  std::string id = Runtime::unique_id("stopped");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  r = rt({"exec", id, "true"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("stopped"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}
