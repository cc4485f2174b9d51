// The pure parts of the systemd cgroup driver: slice paths and the cpu
// masks its properties take. (The driver itself runs against a real
// systemd in tests/e2e/runtime_cri_systemd.sh.)
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"
#include "runtime/cgroup/systemd_bus.hpp"

using namespace berth;
using namespace berth::runtime;

TEST(SystemdSlice, ExpandsEachDashIntoAParent) {
  EXPECT_EQ(systemd::expand_slice("system.slice", "f"), "/system.slice");
  EXPECT_EQ(systemd::expand_slice("kubepods-besteffort-pod12ab.slice", "f"),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12ab.slice");
  EXPECT_EQ(systemd::expand_slice("-.slice", "f"), "");
}

TEST(SystemdSlice, RefusesWhatIsNotASliceName) {
  for (const char* bad : {"system", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", ".slice", "a b.slice"}) {
    try {
      systemd::expand_slice(bad, "linux.cgroupsPath");
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("linux.cgroupsPath"), std::string::npos) << e.what();
    }
  }
}

TEST(SystemdCpuMask, BitsOfAList) {
  EXPECT_EQ(systemd::cpuset_mask("0", "f"), (std::vector<uint8_t>{0x01}));
  EXPECT_EQ(systemd::cpuset_mask("0-2,5", "f"), (std::vector<uint8_t>{0x27}));
  EXPECT_EQ(systemd::cpuset_mask("9", "f"), (std::vector<uint8_t>{0x00, 0x02}));
  for (const char* bad : {"x", "3-1", "1-", "-1", "1,,a"})
    EXPECT_THROW(systemd::cpuset_mask(bad, "f"), Error) << bad;
}

TEST(SystemdPath, Recognised) {
  EXPECT_TRUE(Cgroup::is_systemd_path("system.slice:berth:x"));
  EXPECT_TRUE(Cgroup::is_systemd_path(":cri-containerd:x"));
  EXPECT_FALSE(Cgroup::is_systemd_path("/berth/x"));
  EXPECT_FALSE(Cgroup::is_systemd_path("a:b"));
}

// ---- limits as unit properties -------------------------------------------------

namespace {

cgroups::HostCgroups hybrid_host() {
  cgroups::HostCgroups h;
  for (const char* c : {"memory", "cpu", "pids", "blkio", "cpuset"}) {
    cgroups::Hierarchy x;
    x.mountpoint = std::string("/sys/fs/cgroup/") + c;
    x.controllers = {c};
    h.v1.push_back(x);
  }
  h.v2.emplace();
  h.v2->v2 = true;
  h.v2_controllers = {"hugetlb"};
  h.layout = CgroupLayout::Hybrid;
  return h;
}

cgroups::HostCgroups v2_host() {
  cgroups::HostCgroups h;
  h.v2.emplace();
  h.v2->v2 = true;
  h.v2_controllers = {"memory", "cpu", "pids", "io", "cpuset"};
  h.layout = CgroupLayout::V2;
  return h;
}

std::map<std::string, systemd::Property::Value> by_name(const std::vector<systemd::Property>& props) {
  std::map<std::string, systemd::Property::Value> out;
  for (const auto& p : props) out[p.name] = p.value;
  return out;
}

oci::LinuxResources limits() {
  oci::LinuxResources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->swap = 96 << 20;
  r.memory->reservation = 32 << 20;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 33333;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1";
  r.pids.emplace();
  r.pids->limit = 50;
  r.block_io.emplace();
  r.block_io->weight = 500;
  return r;
}

}  // namespace

TEST(SystemdProperties, CgroupV2Names) {
  auto p = by_name(cgroups::systemd_resource_properties(v2_host(), limits()));
  EXPECT_EQ(std::get<uint64_t>(p.at("MemoryMax")), 64u << 20);
  EXPECT_EQ(std::get<uint64_t>(p.at("MemoryLow")), 32u << 20);
  // OCI swap is memory+swap; systemd's MemorySwapMax the swap alone.
  EXPECT_EQ(std::get<uint64_t>(p.at("MemorySwapMax")), 32u << 20);
  EXPECT_EQ(std::get<uint64_t>(p.at("CPUWeight")), cgroups::cpu_shares_to_weight(1024));
  // 33.333% rounds up to systemd's 10 ms step: never tighter than asked.
  EXPECT_EQ(std::get<uint64_t>(p.at("CPUQuotaPerSecUSec")), 340000u);
  EXPECT_EQ(std::get<uint64_t>(p.at("CPUQuotaPeriodUSec")), 100000u);
  EXPECT_EQ(std::get<std::vector<uint8_t>>(p.at("AllowedCPUs")), (std::vector<uint8_t>{0x03}));
  EXPECT_EQ(std::get<uint64_t>(p.at("TasksMax")), 50u);
  EXPECT_EQ(std::get<uint64_t>(p.at("IOWeight")), cgroups::blkio_weight_to_io_weight(500));
  EXPECT_FALSE(p.count("MemoryLimit"));
}

TEST(SystemdProperties, CgroupV1NamesOnAHybridHost) {
  auto p = by_name(cgroups::systemd_resource_properties(hybrid_host(), limits()));
  EXPECT_EQ(std::get<uint64_t>(p.at("MemoryLimit")), 64u << 20);
  EXPECT_EQ(std::get<uint64_t>(p.at("CPUShares")), 1024u);
  EXPECT_EQ(std::get<uint64_t>(p.at("BlockIOWeight")), 500u);
  EXPECT_EQ(std::get<uint64_t>(p.at("TasksMax")), 50u);
  // No v1 property for these: the files carry them.
  for (const char* v2_only : {"MemoryMax", "MemoryLow", "MemorySwapMax", "CPUWeight", "AllowedCPUs", "IOWeight"})
    EXPECT_FALSE(p.count(v2_only)) << v2_only;
}

TEST(SystemdProperties, UnlimitedIsInfinity) {
  oci::LinuxResources r;
  r.memory.emplace();
  r.memory->limit = -1;
  r.cpu.emplace();
  r.cpu->quota = -1;
  r.pids.emplace();
  r.pids->limit = -1;
  auto p = by_name(cgroups::systemd_resource_properties(v2_host(), r));
  EXPECT_EQ(std::get<uint64_t>(p.at("MemoryMax")), UINT64_MAX);
  EXPECT_EQ(std::get<uint64_t>(p.at("CPUQuotaPerSecUSec")), UINT64_MAX);
  EXPECT_EQ(std::get<uint64_t>(p.at("TasksMax")), UINT64_MAX);
  EXPECT_TRUE(cgroups::systemd_resource_properties(v2_host(), oci::LinuxResources{}).empty());
}
