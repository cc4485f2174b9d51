// `berth vm disk create`: an ext4 image holding a rootfs, checked with
// e2fsprogs' own reader (debugfs) rather than by mounting.
#include <sys/stat.h>

#include "unit/image/image_fixtures.hpp"
#include "vm_support.hpp"

namespace berth::testing {
namespace {

bool has_e2fsprogs();

TEST(VmDisk, CreateHoldsTheRootfs) {
  BERTH_REQUIRE_ROOT();
  if (!has_e2fsprogs()) GTEST_SKIP() << "e2fsprogs not installed";
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

bool has_e2fsprogs() {
  return ::access("/sbin/mkfs.ext4", X_OK) == 0 || ::access("/usr/sbin/mkfs.ext4", X_OK) == 0;
}

// --from an image of Berth's store: the bundled busybox image (one layer),
// loaded into this test's root as a user would.
TEST(VmDisk, CreateFromAnImageInTheStore) {
  BERTH_REQUIRE_ROOT();
  if (!has_e2fsprogs()) GTEST_SKIP() << "e2fsprogs not installed";
  std::string archive = build_dir() + "/images/busybox-docker-archive.tar";
  if (::access(archive.c_str(), R_OK) != 0) GTEST_SKIP() << "run scripts/make-base-image " << build_dir() << "/images";
  VmEnv env;
  CmdResult load = run_cmd({berth_bin(), "--root", env.root(), "load", "-i", archive});
  ASSERT_EQ(load.status, 0) << load.err;
  std::string img = env.path("busybox.img");
  CmdResult r = env.vm({"disk", "create", "--from", "busybox", "--size", "64M", img});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, img + "\n");
  CmdResult fsck = run_cmd({"e2fsck", "-fn", img});
  EXPECT_EQ(fsck.status, 0) << fsck.out << fsck.err;
  CmdResult bb = run_cmd({"debugfs", "-R", "stat /bin/busybox", img});
  EXPECT_TRUE(has(bb.out, "Type: regular")) << bb.out << bb.err;
  // The file is the image's busybox, byte for byte.
  run_cmd({"debugfs", "-R", "dump /bin/busybox " + env.path("busybox.out"), img});
  EXPECT_EQ(read_all(env.path("busybox.out")), read_all(build_dir() + "/images/busybox-rootfs/bin/busybox"));
  CmdResult sh = run_cmd({"debugfs", "-R", "stat /bin/sh", img});
  EXPECT_TRUE(has(sh.out, "Type: symlink")) << sh.out;
  CmdResult passwd = run_cmd({"debugfs", "-R", "cat /etc/passwd", img});
  EXPECT_TRUE(has(passwd.out, "root:x:0:0:root:/root:/bin/sh")) << passwd.out;
  // The image's mount lived only in mkfs's mount namespace.
  EXPECT_FALSE(has(read_all("/proc/self/mountinfo"), env.root())) << "a mount was left behind";

  // By image ID too.
  CmdResult ids = run_cmd({berth_bin(), "--root", env.root(), "images", "-q"});
  ASSERT_EQ(ids.status, 0) << ids.err;
  std::string id = ids.out.substr(0, ids.out.find('\n'));
  CmdResult by_id = env.vm({"disk", "create", "--from", id, "--size", "64M", env.path("by-id.img")});
  EXPECT_EQ(by_id.status, 0) << by_id.err;
}

// Several layers, with a whiteout and an opaque directory: the disk holds
// what a container of the image would see.
TEST(VmDisk, CreateFromALayeredImageAppliesWhiteouts) {
  BERTH_REQUIRE_ROOT();
  if (!has_e2fsprogs()) GTEST_SKIP() << "e2fsprogs not installed";
  VmEnv env;
  std::string l1 = TarBuilder().dir("a").file("a/keep", "k").file("a/gone", "g").dir("d").file("d/old", "o").finish();
  std::string l2 = TarBuilder().file("a/.wh.gone", "").dir("d").file("d/.wh..wh..opq", "").file("d/new", "n").finish();
  write_oci_layout(env.path("layout"), "test/layers:1", {plain_layer(l1), plain_layer(l2)});
  ASSERT_EQ(run_cmd({berth_bin(), "--root", env.root(), "load", "-i", env.path("layout")}).status, 0);
  std::string img = env.path("layers.img");
  CmdResult r = env.vm({"disk", "create", "--from", "test/layers:1", "--size", "16M", img});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(run_cmd({"e2fsck", "-fn", img}).status, 0);
  EXPECT_EQ(run_cmd({"debugfs", "-R", "cat /a/keep", img}).out, "k");
  EXPECT_EQ(run_cmd({"debugfs", "-R", "cat /d/new", img}).out, "n");
  std::string a = run_cmd({"debugfs", "-R", "ls /a", img}).out;
  EXPECT_FALSE(has(a, "gone")) << a;
  std::string d = run_cmd({"debugfs", "-R", "ls /d", img}).out;
  EXPECT_FALSE(has(d, "old")) << d;
  EXPECT_FALSE(has(d, ".wh.")) << d;
}

TEST(VmDisk, BadImageReferenceLeavesNothing) {
  BERTH_REQUIRE_ROOT();
  VmEnv env;
  for (std::string from : {"nosuch:latest", "Not A Reference!", "sha256:0123"}) {
    std::string img = env.path("bad.img");
    CmdResult r = env.vm({"disk", "create", "--from", from, "--size", "16M", img});
    EXPECT_EQ(r.status, 3) << from << ": " << r.err;
    EXPECT_TRUE(has(r.err, "--from " + from + ": no such directory, nor an image")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(::access(img.c_str(), F_OK), 0);
    EXPECT_NE(::access((img + ".tmp").c_str(), F_OK), 0);
  }
}

}  // namespace
}  // namespace berth::testing
