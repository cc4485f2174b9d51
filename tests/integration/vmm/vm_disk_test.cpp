// `berth vm disk create`: an ext4 image holding a rootfs, checked with
// e2fsprogs' own reader (debugfs) rather than by mounting.
#include <sys/stat.h>

#include "vm_support.hpp"

namespace berth::testing {
namespace {

TEST(VmDisk, CreateHoldsTheRootfs) {
  BERTH_REQUIRE_ROOT();
  if (::access("/sbin/mkfs.ext4", X_OK) != 0 && ::access("/usr/sbin/mkfs.ext4", X_OK) != 0)
    GTEST_SKIP() << "e2fsprogs not installed";
  VmEnv env;
  std::string rootfs = env.path("rootfs");
  ::mkdir(rootfs.c_str(), 0755);
  ::mkdir((rootfs + "/etc").c_str(), 0755);
  { std::ofstream(rootfs + "/etc/hello") << "hello from the image\n"; }
  ::symlink("/etc/hello", (rootfs + "/link").c_str());
  std::string img = env.path("disk.img");
  CmdResult r = env.vm({"disk", "create", "--from", rootfs, "--size", "16M", img});
  ASSERT_EQ(r.status, 0) << r.err;
  struct stat st{};
  ASSERT_EQ(::stat(img.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 16 << 20);
  CmdResult cat = run_cmd({"debugfs", "-R", "cat /etc/hello", img});
  EXPECT_EQ(cat.out, "hello from the image\n") << cat.err;
  CmdResult ls = run_cmd({"debugfs", "-R", "stat /link", img});
  EXPECT_TRUE(has(ls.out, "Type: symlink")) << ls.out;

  CmdResult again = env.vm({"disk", "create", "--from", rootfs, "--size", "16M", img});
  EXPECT_EQ(again.status, 4);
  EXPECT_TRUE(has(again.err, "already exists")) << again.err;
  CmdResult tiny = env.vm({"disk", "create", "--from", rootfs, "--size", "1M", env.path("t.img")});
  EXPECT_EQ(tiny.status, 2);
  CmdResult missing = env.vm({"disk", "create", "--from", env.path("nope"), "--size", "16M", env.path("m.img")});
  EXPECT_EQ(missing.status, 3);
  EXPECT_NE(::access(env.path("m.img").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::testing
