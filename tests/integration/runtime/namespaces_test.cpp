// Each namespace type really isolates: observed from inside the container.
#include <sys/stat.h>

#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

std::string host_ns(const std::string& name, pid_t pid = 0) { return proc_link(pid, "ns/" + name); }

const char* kNs[] = {"pid", "mnt", "net", "uts", "ipc", "cgroup"};

std::string print_ns_script() {
  std::string s;
  for (const char* n : kNs) s += std::string("echo ") + n + "=$(readlink /proc/self/ns/" + n + "); ";
  return s;
}

std::map<std::string, std::string> parse_kv(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

}  // namespace

TEST(Namespaces, EachNewNamespaceIsIsolated) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["hostname"] = "box-" + std::to_string(getpid());
  b.config["domainname"] = "example.test";
  b.set_args({"sh", "-c",
              print_ns_script() +
                  "echo hostname=$(hostname); echo domain=$(cat /proc/sys/kernel/domainname); echo pid=$$; "
                  "echo links=$(ls /sys/class/net | tr '\\n' ' '); echo cgroupline=$(grep -m1 . /proc/self/cgroup)"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("ns");
  auto r = rt({"run", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kv = parse_kv(r.out);
  for (const char* n : kNs) {
    ASSERT_FALSE(kv[n].empty()) << n << " missing in: " << r.out;
    EXPECT_NE(kv[n], host_ns(n)) << n << " namespace not new";
  }
  EXPECT_EQ(kv["hostname"], "box-" + std::to_string(getpid()));
  EXPECT_EQ(kv["domain"], "example.test");
  EXPECT_EQ(kv["pid"], "1");
  EXPECT_EQ(kv["links"], "lo");
  // New cgroup namespace rooted at the container's cgroup.
  EXPECT_EQ(kv["cgroupline"].substr(kv["cgroupline"].rfind(':') + 1), "/") << kv["cgroupline"];
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Namespaces, WithoutNamespacesTheHostOnesAreShared) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["namespaces"] = json::array({{{"type", "mount"}}});
  b.config.erase("hostname");
  b.set_args({"sh", "-c", print_ns_script()});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("nons");
  auto r = rt({"run", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kv = parse_kv(r.out);
  for (const char* n : {"pid", "net", "uts", "ipc"}) EXPECT_EQ(kv[n], host_ns(n)) << n;
  EXPECT_NE(kv["mnt"], host_ns("mnt"));
}

TEST(Namespaces, UserNamespaceWithMappings) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  // cgroup v1 cannot be mounted from a user namespace; sysfs needs the
  // network namespace the container owns (it has one).
  auto& mounts = b.config["mounts"];
  for (size_t i = 0; i < mounts.size(); ++i)
    if (mounts[i]["destination"] == "/sys/fs/cgroup") mounts.erase(i--);
  b.config["root"]["readonly"] = false;
  // The bundle dir is mkdtemp's 0700: container root (host uid 100000) must
  // be able to walk to its rootfs.
  chmod(b.path().c_str(), 0755);
  b.set_args({"sh", "-c", "echo uidmap=$(cat /proc/self/uid_map | tr -s ' '); echo gidmap=$(cat /proc/self/gid_map | tr -s ' '); echo uid=$(id -u); echo user=$(readlink /proc/self/ns/user)"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("userns");
  auto r = rt({"run", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kv = parse_kv(r.out);
  EXPECT_EQ(kv["uidmap"], " 0 100000 65536") << r.out;
  EXPECT_EQ(kv["gidmap"], " 0 100000 65536") << r.out;
  EXPECT_EQ(kv["uid"], "0");
  EXPECT_NE(kv["user"], host_ns("user"));
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Namespaces, TimeNamespaceOffsets) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "time"}});
  b.config["linux"]["timeOffsets"] = {{"boottime", {{"secs", 10000000}, {"nanosecs", 0}}},
                                      {"monotonic", {{"secs", 10000000}, {"nanosecs", 0}}}};
  b.set_args({"sh", "-c", "echo up=$(cut -d. -f1 /proc/uptime); echo time=$(readlink /proc/self/ns/time)"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("timens");
  long host_up = std::stol(slurp("/proc/uptime"));
  auto r = rt({"run", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kv = parse_kv(r.out);
  long up = std::stol(kv["up"]);
  EXPECT_GE(up, host_up + 10000000 - 5) << r.out;
  EXPECT_LT(up, host_up + 10000000 + 600) << r.out;
  EXPECT_NE(kv["time"], host_ns("time"));
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Namespaces, JoinNamespacesByPath) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle a;
  a.config["hostname"] = "first";
  a.config["linux"]["namespaces"].push_back({{"type", "time"}});
  a.set_args({"sleep", "1000"});
  a.write();
  Runtime rt;
  std::string ida = Runtime::unique_id("owner");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", a.path(), ida}).exit_code, 0);
  int pid = state_of(rt, ida)["pid"];

  Bundle b;
  b.config.erase("hostname");
  auto& ns = b.config["linux"]["namespaces"];
  for (auto& n : ns) {
    std::string t = n["type"];
    if (t == "network" || t == "uts" || t == "ipc" || t == "pid")
      n["path"] = "/proc/" + std::to_string(pid) + "/ns/" + (t == "network" ? "net" : t);
  }
  // A joined time namespace also takes run's init off the shared-memory
  // clone (setns refuses it to a process sharing its memory: EUSERS).
  ns.push_back({{"type", "time"}, {"path", "/proc/" + std::to_string(pid) + "/ns/time"}});
  b.set_args({"sh", "-c", "echo net=$(readlink /proc/self/ns/net); echo uts=$(readlink /proc/self/ns/uts); "
                          "echo ipc=$(readlink /proc/self/ns/ipc); echo pid=$(readlink /proc/self/ns/pid); "
                          "echo time=$(readlink /proc/self/ns/time); echo hostname=$(hostname); echo sleeper=$(pidof sleep)"});
  b.write();
  std::string idb = Runtime::unique_id("joiner");
  auto r = rt({"run", "--bundle", b.path(), idb});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kv = parse_kv(r.out);
  EXPECT_EQ(kv["net"], host_ns("net", pid));
  EXPECT_EQ(kv["uts"], host_ns("uts", pid));
  EXPECT_EQ(kv["ipc"], host_ns("ipc", pid));
  EXPECT_EQ(kv["pid"], host_ns("pid", pid));
  EXPECT_EQ(kv["time"], host_ns("time", pid));
  EXPECT_NE(kv["time"], host_ns("time", getpid()));
  EXPECT_EQ(kv["hostname"], "first");
  EXPECT_EQ(kv["sleeper"], "1");  // the first container's init, seen as pid 1
  EXPECT_EQ(rt({"delete", "-f", ida}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, a, ida);
  EXPECT_NO_LEFTOVERS(rt, b, idb);
}

TEST(Namespaces, JoiningAMissingNamespacePathFailsCleanly) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["namespaces"][1]["path"] = "/proc/999999999/ns/net";
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("nons");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/proc/999999999/ns/net"), std::string::npos) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// Without a cgroup namespace the cgroup mount still shows the container's
// own cgroup (the view is built after the init joined it).
TEST(Namespaces, CgroupViewWithoutCgroupNamespaceIsTheContainers) {
  BERTH_REQUIRE_BUSYBOX();
  if (access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) != 0) GTEST_SKIP() << "needs the v1 pids hierarchy";
  Bundle b;
  auto& ns = b.config["linux"]["namespaces"];
  for (size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "cgroup") ns.erase(i--);
  b.config["linux"]["resources"]["pids"] = {{"limit", 77}};
  b.set_args({"sh", "-c", "cat /sys/fs/cgroup/pids/pids.max"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("cgview");
  auto r = rt({"run", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "77\n");
  EXPECT_NO_LEFTOVERS(rt, b, id);
}
