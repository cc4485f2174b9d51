// Host layout detection from mountinfo text (v1, v2, hybrid) and
// cgroupsPath handling.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::cgroups;

namespace {

// Captured on a Berth CI machine (Debian 12, kernel 6.18): hybrid.
constexpr const char* kHybridHost = R"(22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334524k,nr_inodes=3083631,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";

// A classic systemd "legacy" v1 host (Debian 10 style): co-mounted
// controllers, optional fields, a bind mount of one hierarchy elsewhere.
constexpr const char* kV1Host = R"(25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
29 28 0:27 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
32 28 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
33 28 0:31 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
34 28 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
35 28 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
36 28 0:34 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,cpuset,clone_children
37 28 0:35 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,freezer
38 28 0:36 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,devices
39 28 0:37 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,blkio
40 28 0:38 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:22 - cgroup cgroup rw,hugetlb
41 28 0:39 / /sys/fs/cgroup/perf_event rw,nosuid,nodev,noexec,relatime shared:23 - cgroup cgroup rw,perf_event
90 60 0:32 /docker /var/lib/x/memory rw,relatime - cgroup cgroup rw,memory
)";

// A pure cgroup v2 host (Debian 11+, Fedora): one cgroup2 mount.
constexpr const char* kV2Host = R"(24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
27 24 0:26 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:8 - bpf bpf rw,mode=700
)";

}  // namespace

TEST(CgroupLayout, HybridHostFromThisMachine) {
  HostCgroups h = parse_mountinfo(kHybridHost);
  EXPECT_EQ(h.layout, CgroupLayout::Hybrid);
  ASSERT_TRUE(h.v2.has_value());
  EXPECT_EQ(h.v2->mountpoint, "/sys/fs/cgroup/unified");
  ASSERT_EQ(h.v1.size(), 9u);  // 8 controllers + name=systemd
  for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
    const Hierarchy* hier = h.v1_for(c);
    ASSERT_NE(hier, nullptr) << c;
    EXPECT_EQ(hier->mountpoint, std::string("/sys/fs/cgroup/") + c);
    EXPECT_EQ(hier->root, "/");
  }
  EXPECT_EQ(h.v1_for("hugetlb"), nullptr);
  EXPECT_EQ(h.v1_for("net_cls"), nullptr);
  EXPECT_EQ(h.v1.back().name, "systemd");
  EXPECT_TRUE(h.v1.back().controllers.empty());
}

TEST(CgroupLayout, PureV1WithCoMountedControllersAndBindMount) {
  HostCgroups h = parse_mountinfo(kV1Host);
  EXPECT_EQ(h.layout, CgroupLayout::V1);
  EXPECT_FALSE(h.v2.has_value());
  const Hierarchy* cpu = h.v1_for("cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu, h.v1_for("cpuacct"));
  EXPECT_EQ(cpu->mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  // clone_children is an option, not a controller.
  const Hierarchy* cpuset = h.v1_for("cpuset");
  ASSERT_NE(cpuset, nullptr);
  EXPECT_EQ(cpuset->controllers, std::vector<std::string>{"cpuset"});
  // The later bind mount of the memory hierarchy (same device) is ignored.
  EXPECT_EQ(h.v1_for("memory")->mountpoint, "/sys/fs/cgroup/memory");
  EXPECT_NE(h.v1_for("hugetlb"), nullptr);
  EXPECT_NE(h.v1_for("net_prio"), nullptr);
}

TEST(CgroupLayout, PureV2) {
  HostCgroups h = parse_mountinfo(kV2Host);
  EXPECT_EQ(h.layout, CgroupLayout::V2);
  ASSERT_TRUE(h.v2.has_value());
  EXPECT_EQ(h.v2->mountpoint, "/sys/fs/cgroup");
  EXPECT_TRUE(h.v1.empty());
}

TEST(CgroupLayout, V2WithOnlyANamedV1HierarchyIsV2) {
  std::string text = std::string(kV2Host) +
                     "50 26 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n";
  EXPECT_EQ(parse_mountinfo(text).layout, CgroupLayout::V2);
}

TEST(CgroupLayout, EscapedMountpoint) {
  HostCgroups h = parse_mountinfo("41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(h.v2.has_value());
  EXPECT_EQ(h.v2->mountpoint, "/mnt/my cgroups");
}

TEST(CgroupLayout, ThisProcessLayoutIsDetected) {
  // Whatever the machine is, detection must not throw and must be stable.
  CgroupLayout a = detect_cgroup_layout();
  EXPECT_EQ(a, detect_cgroup_layout());
  EXPECT_STRNE(layout_name(a), "");
}

TEST(CgroupLayout, ProcSelfCgroup) {
  auto m = parse_proc_cgroup(
      "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/1fbef82e\n2:cpu,cpuacct:/a/b\n0::/user.slice\n");
  EXPECT_EQ(m.at("memory"), "/process_api/1fbef82e");
  EXPECT_EQ(m.at("cpu"), "/a/b");
  EXPECT_EQ(m.at("cpuacct"), "/a/b");
  EXPECT_EQ(m.at("name=systemd"), "/");
  EXPECT_EQ(m.at(""), "/user.slice");
}

TEST(CgroupPath, DefaultIsBerthSlashId) {
  auto p = parse_cgroups_path("", "web");
  EXPECT_FALSE(p.relative);
  EXPECT_EQ(p.components, (std::vector<std::string>{"berth", "web"}));
}

TEST(CgroupPath, AbsoluteAndRelativeNormalised) {
  auto a = parse_cgroups_path("/kubepods//pod1/./ctr/", "x");
  EXPECT_FALSE(a.relative);
  EXPECT_EQ(a.components, (std::vector<std::string>{"kubepods", "pod1", "ctr"}));
  auto r = parse_cgroups_path("sub/ctr", "x");
  EXPECT_TRUE(r.relative);
  EXPECT_EQ(r.components, (std::vector<std::string>{"sub", "ctr"}));
}

// The cgroupfs driver's path parser: a systemd path is the other driver's.
TEST(CgroupPath, SystemdPathNeedsTheFlag) {
  try {
    parse_cgroups_path("system.slice:berth:abc", "abc");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("linux.cgroupsPath"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--systemd-cgroup"), std::string::npos) << e.what();
  }
}

TEST(CgroupPath, DotDotIsRejected) {
  try {
    parse_cgroups_path("/berth/../../etc", "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("linux.cgroupsPath"), std::string::npos);
  }
  EXPECT_THROW(parse_cgroups_path("/", "x"), Error);
}

TEST(CgroupLayout, PublicMountListMatchesLayout) {
  const auto& mounts = cgroup_mounts();
  bool v2 = false, v1_controllers = false;
  for (const auto& m : mounts) {
    EXPECT_FALSE(m.mountpoint.empty());
    v2 |= m.v2;
    v1_controllers |= !m.v2 && !m.controllers.empty();
  }
  CgroupLayout l = detect_cgroup_layout();
  if (mounts.empty()) return;  // a build sandbox without cgroups
  EXPECT_EQ(l == CgroupLayout::V2, v2 && !v1_controllers);
  EXPECT_EQ(l == CgroupLayout::Hybrid, v2 && v1_controllers);
}
