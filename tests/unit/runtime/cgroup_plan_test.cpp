// OCI resources -> control-file writes, per controller and version, on
// synthetic hosts of each layout (no root, no kernel needed).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::cgroups;

namespace {

HostCgroups v1_host() {
  return parse_mountinfo(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n"
      "37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
      "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
      "40 31 0:37 / /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb\n");
}

HostCgroups v2_host() {
  HostCgroups h = parse_mountinfo("26 24 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
  h.v2_controllers = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"};
  return h;
}

// This CI machine's shape: v1 for everything but hugetlb, which is v2-only.
HostCgroups hybrid_host() {
  HostCgroups h = parse_mountinfo(
      "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n"
      "37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
      "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
  h.v2_controllers = {"hugetlb"};
  return h;
}

std::vector<std::string> files(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& w : p) out.push_back(w.file + "=" + w.value);
  return out;
}

template <class F>
Error expect_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error";
  return Error("none");
}

oci::LinuxResources memory(int64_t limit, std::optional<int64_t> swap = std::nullopt) {
  oci::LinuxResources r;
  r.memory.emplace();
  r.memory->limit = limit;
  r.memory->swap = swap;
  return r;
}

}  // namespace

TEST(CgroupPlanV1, MemoryLimitThenMemswAtCreate) {
  Plan p;
  oci::MemoryResources m;
  m.limit = 64 << 20;
  m.swap = 128 << 20;
  m.reservation = 32 << 20;
  plan_v1_memory(m, UINT64_MAX, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"memory.limit_in_bytes=67108864",
                                                 "memory.memsw.limit_in_bytes=134217728",
                                                 "memory.soft_limit_in_bytes=33554432"}));
  EXPECT_EQ(p[0].field, "linux.resources.memory.limit");
  EXPECT_EQ(p[1].field, "linux.resources.memory.swap");
}

TEST(CgroupPlanV1, RaisingMemoryWritesMemswFirst) {
  Plan p;
  oci::MemoryResources m;
  m.limit = 256 << 20;
  m.swap = 512 << 20;
  plan_v1_memory(m, 64 << 20, p);  // current limit below the new memsw
  EXPECT_EQ(files(p), (std::vector<std::string>{"memory.memsw.limit_in_bytes=536870912",
                                                 "memory.limit_in_bytes=268435456"}));
}

TEST(CgroupPlanV1, SwapMinusOneIsUnlimitedAndWrittenFirst) {
  Plan p;
  oci::MemoryResources m;
  m.limit = 64 << 20;
  m.swap = -1;
  plan_v1_memory(m, UINT64_MAX, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=67108864"}));
}

TEST(CgroupPlanV1, UnlimitedMemoryAlsoUnlimitsSwap) {
  Plan p;
  oci::MemoryResources m;
  m.limit = -1;
  plan_v1_memory(m, UINT64_MAX, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"}));
}

// Deprecated: never written, on any layout (ignored_fields.hpp warns), and
// they alone make no memory dir.
TEST(CgroupPlan, DeprecatedKernelLimitsAreNotWritten) {
  oci::MemoryResources m;
  m.kernel = 1 << 20;
  m.kernel_tcp = 1 << 20;
  Plan p1, p2;
  plan_v1_memory(m, UINT64_MAX, p1);
  plan_v2_memory(m, p2);
  EXPECT_TRUE(p1.empty());
  EXPECT_TRUE(p2.empty());
  oci::LinuxResources r;
  r.memory = m;
  for (const HostCgroups& h : {v1_host(), v2_host(), hybrid_host()})
    EXPECT_TRUE(plan_resources(h, r, UINT64_MAX).writes.empty());
  r.memory->limit = 64 << 20;
  EXPECT_EQ(files(plan_resources(v1_host(), r, UINT64_MAX).writes),
            (std::vector<std::string>{"memory.limit_in_bytes=67108864"}));
}

TEST(CgroupPlanV1, SwapBelowLimitIsInvalid) {
  Plan p;
  oci::MemoryResources m;
  m.limit = 64 << 20;
  m.swap = 32 << 20;
  Error e = expect_error([&] { plan_v1_memory(m, UINT64_MAX, p); });
  EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  EXPECT_NE(std::string(e.what()).find("linux.resources.memory.swap"), std::string::npos);
}

TEST(CgroupPlanV1, CpuPeriodBeforeQuota) {
  Plan p;
  oci::CpuResources c;
  c.shares = 512;
  c.quota = 50000;
  c.period = 100000;
  c.cpus = "0";
  c.mems = "0";
  plan_v1_cpu(c, p);
  plan_v1_cpuset(c, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"cpu.shares=512", "cpu.cfs_period_us=100000",
                                                 "cpu.cfs_quota_us=50000", "cpuset.cpus=0", "cpuset.mems=0"}));
  EXPECT_EQ(p[3].controller, "cpuset");
}

TEST(CgroupPlanV1, BlkioWeightFallsBackToBfq) {
  Plan p;
  oci::BlockIoResources b;
  b.weight = 300;
  b.throttle_read_bps_device.push_back({8, 0, 1048576});
  b.throttle_write_iops_device.push_back({8, 16, 100});
  plan_v1_blkio(b, p);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].file, "blkio.weight");
  EXPECT_EQ(p[0].fallback_file, "blkio.bfq.weight");
  EXPECT_EQ(files(p)[1], "blkio.throttle.read_bps_device=8:0 1048576");
  EXPECT_EQ(files(p)[2], "blkio.throttle.write_iops_device=8:16 100");
  EXPECT_EQ(p[2].field, "linux.resources.blockIO.throttleWriteIOPSDevice[0]");
}

TEST(CgroupPlanV1, DevicesDenyAllThenAllowLines) {
  Plan p;
  oci::DeviceCgroupRule deny_all;
  deny_all.allow = false;
  deny_all.access = "rwm";
  oci::DeviceCgroupRule null_dev;
  null_dev.allow = true;
  null_dev.type = "c";
  null_dev.major = 1;
  null_dev.minor = 3;
  null_dev.access = "rw";
  oci::DeviceCgroupRule pts;
  pts.allow = true;
  pts.type = "c";
  pts.major = 136;
  pts.access = "rwm";
  plan_v1_devices({deny_all, null_dev, pts}, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"devices.deny=a", "devices.allow=c 1:3 rw",
                                                 "devices.allow=c 136:* rwm"}));
}

TEST(CgroupPlanV1, HugetlbFileNames) {
  Plan p;
  plan_v1_hugetlb({{"2MB", 4 << 20}}, p);
  EXPECT_EQ(files(p), std::vector<std::string>{"hugetlb.2MB.limit_in_bytes=4194304"});
  Plan q;
  Error e = expect_error([&] { plan_v1_hugetlb({{"2mb", 1}}, q); });
  EXPECT_NE(std::string(e.what()).find("hugepageLimits[0].pageSize"), std::string::npos);
}

TEST(CgroupPlanV2, SharesToWeightLikeRuncAndCrun) {
  EXPECT_EQ(cpu_shares_to_weight(0), 0u);  // unset
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
  EXPECT_EQ(cpu_shares_to_weight(512), 20u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(cpu_shares_to_weight(1), 1u);          // clamped
  EXPECT_EQ(cpu_shares_to_weight(1u << 30), 10000u);  // clamped
}

TEST(CgroupPlanV2, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupPlanV2, MemoryMaxLowAndSwapDifference) {
  Plan p;
  oci::MemoryResources m;
  m.limit = 64 << 20;
  m.swap = 96 << 20;
  m.reservation = 16 << 20;
  plan_v2_memory(m, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"memory.max=67108864", "memory.swap.max=33554432",
                                                 "memory.low=16777216"}));
  Plan q;
  oci::MemoryResources u;
  u.limit = -1;
  u.swap = -1;
  plan_v2_memory(u, q);
  EXPECT_EQ(files(q), (std::vector<std::string>{"memory.max=max", "memory.swap.max=max"}));
}

TEST(CgroupPlanV2, V1OnlyMemoryKnobsAreUnsupported) {
  for (auto set : std::vector<void (*)(oci::MemoryResources&)>{
           [](oci::MemoryResources& m) { m.disable_oom_killer = true; },
       }) {
    oci::MemoryResources m;
    set(m);
    Plan p;
    Error e = expect_error([&] { plan_v2_memory(m, p); });
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("linux.resources.memory."), std::string::npos) << e.what();
  }
  oci::MemoryResources off;
  off.disable_oom_killer = false;  // what Docker sends by default: a no-op
  off.swappiness = 10;             // no v2 file: ignored (ignored_fields.hpp warns)
  Plan p;
  plan_v2_memory(off, p);
  EXPECT_TRUE(p.empty());
}

TEST(CgroupPlanV2, CpuMaxAndWeight) {
  Plan p;
  oci::CpuResources c;
  c.shares = 1024;
  c.quota = 50000;
  c.period = 200000;
  plan_v2_cpu(c, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"cpu.weight=39", "cpu.max=50000 200000"}));
  Plan q;
  oci::CpuResources d;
  d.quota = -1;
  plan_v2_cpu(d, q);
  EXPECT_EQ(files(q), std::vector<std::string>{"cpu.max=max 100000"});
  Plan r;
  oci::CpuResources rt;
  rt.realtime_runtime = 1000;
  Error e = expect_error([&] { plan_v2_cpu(rt, r); });
  EXPECT_NE(std::string(e.what()).find("linux.resources.cpu.realtimeRuntime"), std::string::npos);
}

TEST(CgroupPlanV2, IoWeightAndMax) {
  Plan p;
  oci::BlockIoResources b;
  b.weight = 500;
  b.throttle_read_bps_device.push_back({8, 0, 1000});
  b.throttle_write_iops_device.push_back({8, 0, 10});
  plan_v2_io(b, p);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].file, "io.bfq.weight");
  EXPECT_EQ(p[0].value, "500");
  EXPECT_EQ(p[0].fallback_file, "io.weight");
  EXPECT_EQ(p[0].fallback_value, "default 4950");
  EXPECT_EQ(files(p)[1], "io.max=8:0 rbps=1000");
  EXPECT_EQ(files(p)[2], "io.max=8:0 wiops=10");
}

TEST(CgroupPlanV2, HugetlbAndPids) {
  Plan p;
  plan_v2_hugetlb({{"1GB", 1u << 30}}, p);
  plan_v2_pids({5}, p);
  plan_v2_pids({0}, p);
  EXPECT_EQ(files(p), (std::vector<std::string>{"hugetlb.1GB.max=1073741824", "pids.max=5", "pids.max=max"}));
}

TEST(CgroupPlanV2, UnifiedKeysNameTheirController) {
  Plan p;
  plan_v2_unified({{"memory.high", "100M"}, {"cgroup.max.depth", "3"}}, p);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].controller, "");  // map order: cgroup.* first, a core file
  EXPECT_EQ(p[1].controller, "memory");
  EXPECT_EQ(p[1].field, "linux.resources.unified[\"memory.high\"]");
  Plan q;
  EXPECT_THROW(plan_v2_unified({{"../../etc/passwd", "x"}}, q), Error);
  EXPECT_THROW(plan_v2_unified({{"cgroup.procs", "1"}}, q), Error);
}

TEST(CgroupPlanLayouts, SameResourcesOnEachLayout) {
  oci::LinuxResources r = memory(64 << 20);
  r.pids = oci::PidsResources{10};
  r.hugepage_limits.push_back({"2MB", 2 << 20});

  FullPlan v1 = plan_resources(v1_host(), r, UINT64_MAX);
  EXPECT_EQ(files(v1.writes), (std::vector<std::string>{"memory.limit_in_bytes=67108864", "pids.max=10",
                                                         "hugetlb.2MB.limit_in_bytes=2097152"}));
  for (const auto& w : v1.writes) EXPECT_FALSE(w.v2);

  FullPlan v2 = plan_resources(v2_host(), r, UINT64_MAX);
  EXPECT_EQ(files(v2.writes),
            (std::vector<std::string>{"memory.max=67108864", "pids.max=10", "hugetlb.2MB.max=2097152"}));
  for (const auto& w : v2.writes) EXPECT_TRUE(w.v2);

  // Hybrid: memory and pids from v1, hugetlb from the unified hierarchy.
  FullPlan hy = plan_resources(hybrid_host(), r, UINT64_MAX);
  EXPECT_EQ(files(hy.writes), (std::vector<std::string>{"memory.limit_in_bytes=67108864", "pids.max=10",
                                                         "hugetlb.2MB.max=2097152"}));
  EXPECT_FALSE(hy.writes[0].v2);
  EXPECT_FALSE(hy.writes[1].v2);
  EXPECT_TRUE(hy.writes[2].v2);
}

TEST(CgroupPlanLayouts, DevicesAreV1ListOrV2Filter) {
  oci::LinuxResources r;
  oci::DeviceCgroupRule deny_all;
  deny_all.access = "rwm";
  r.devices.push_back(deny_all);
  FullPlan v1 = plan_resources(v1_host(), r, UINT64_MAX);
  EXPECT_FALSE(v1.v2_devices);
  ASSERT_FALSE(v1.writes.empty());
  EXPECT_EQ(files(v1.writes)[0], "devices.deny=a");
  // The standard devices are allowed after the config's rules.
  bool null_allowed = false;
  for (const auto& w : v1.writes) null_allowed |= w.file == "devices.allow" && w.value == "c 1:3 rwm";
  EXPECT_TRUE(null_allowed);

  FullPlan v2 = plan_resources(v2_host(), r, UINT64_MAX);
  EXPECT_TRUE(v2.v2_devices);
  EXPECT_TRUE(v2.writes.empty());
  EXPECT_EQ(v2.device_rules.size(), 1 + default_allowed_devices().size());
}

TEST(CgroupPlanLayouts, MissingControllerIsUnsupportedNamingTheField) {
  oci::LinuxResources r;
  r.hugepage_limits.push_back({"2MB", 2 << 20});
  HostCgroups h = hybrid_host();
  h.v2_controllers.clear();  // hugetlb nowhere
  Error e = expect_error([&] { plan_resources(h, r, UINT64_MAX); });
  EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  EXPECT_NE(std::string(e.what()).find("linux.resources.hugepageLimits"), std::string::npos) << e.what();
}

TEST(CgroupPlanLayouts, UnifiedNeedsAV2HierarchyOwningTheController) {
  oci::LinuxResources r;
  r.unified["memory.high"] = "50M";
  Error on_v1 = expect_error([&] { plan_resources(v1_host(), r, UINT64_MAX); });
  EXPECT_EQ(on_v1.kind(), ErrorKind::Unsupported);
  EXPECT_NE(std::string(on_v1.what()).find("linux.resources.unified"), std::string::npos);
  // Hybrid: memory is bound to v1 here, so memory.high cannot be used.
  Error on_hybrid = expect_error([&] { plan_resources(hybrid_host(), r, UINT64_MAX); });
  EXPECT_EQ(on_hybrid.kind(), ErrorKind::Unsupported);
  EXPECT_NE(std::string(on_hybrid.what()).find("unified[\"memory.high\"]"), std::string::npos) << on_hybrid.what();
  EXPECT_NE(std::string(on_hybrid.what()).find("cgroup v1"), std::string::npos);
  FullPlan v2 = plan_resources(v2_host(), r, UINT64_MAX);
  EXPECT_EQ(files(v2.writes), std::vector<std::string>{"memory.high=50M"});
  // hybrid + a controller the unified hierarchy owns: fine.
  oci::LinuxResources h;
  h.unified["hugetlb.2MB.max"] = "0";
  EXPECT_EQ(plan_resources(hybrid_host(), h, UINT64_MAX).writes.size(), 1u);
}

TEST(CgroupPlanLayouts, EmptyResourcesPlanNothing) {
  oci::LinuxResources r;
  r.memory.emplace();
  r.cpu.emplace();
  FullPlan p = plan_resources(v1_host(), r, UINT64_MAX);
  EXPECT_TRUE(p.writes.empty());
}

TEST(CgroupPlanLayouts, ZeroBlkioWeightIsUnset) {
  // Docker sends blockIO.weight 0 when no weight was asked for.
  oci::LinuxResources r;
  r.block_io.emplace();
  r.block_io->weight = 0;
  HostCgroups h = v1_host();
  EXPECT_TRUE(plan_resources(h, r, UINT64_MAX).writes.empty());
  EXPECT_TRUE(plan_resources(v2_host(), r, UINT64_MAX).writes.empty());
}
