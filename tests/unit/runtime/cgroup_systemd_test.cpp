// The pure parts of the systemd cgroup driver: slice paths and the cpu
// masks its properties take. (The driver itself runs against a real
// systemd in tests/e2e/runtime_cri_systemd.sh.)
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup.hpp"
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
