#include <sys/mount.h>

#include "common/error.hpp"
#include "runtime/mounts/mount_options.hpp"
#include "test_support.hpp"

using berth::runtime::parse_mount_options;
using berth::runtime::parse_propagation;

TEST(MountOptions, FlagsAndClears) {
  auto o = parse_mount_options({"nosuid", "noexec", "nodev", "ro", "strictatime"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY | MS_STRICTATIME));
  EXPECT_TRUE(o.data.empty());
  auto r = parse_mount_options({"ro", "rw", "suid"});
  EXPECT_EQ(r.flags, 0UL);
  EXPECT_EQ(r.clear, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
}

TEST(MountOptions, LastAtimeModeWins) {
  auto o = parse_mount_options({"noatime", "relatime"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RELATIME));
  auto s = parse_mount_options({"relatime", "strictatime"});
  EXPECT_EQ(s.flags, static_cast<unsigned long>(MS_STRICTATIME));
}

TEST(MountOptions, BindAndRbind) {
  auto b = parse_mount_options({"bind", "ro"});
  EXPECT_TRUE(b.is_bind());
  EXPECT_EQ(b.flags & MS_REC, 0UL);
  EXPECT_EQ(b.bind_remount_flags(), static_cast<unsigned long>(MS_RDONLY));
  auto rb = parse_mount_options({"rbind"});
  EXPECT_EQ(rb.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(rb.bind_remount_flags(), 0UL);
}

TEST(MountOptions, PropagationInOrder) {
  auto o = parse_mount_options({"rbind", "rprivate", "shared", "slave", "runbindable"});
  ASSERT_EQ(o.propagation.size(), 4u);
  EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o.propagation[1], static_cast<unsigned long>(MS_SHARED));
  EXPECT_EQ(o.propagation[2], static_cast<unsigned long>(MS_SLAVE));
  EXPECT_EQ(o.propagation[3], static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC));
}

TEST(MountOptions, DataKeepsOrder) {
  auto o = parse_mount_options({"nosuid", "mode=755", "size=65536k", "newinstance", "gid=5"});
  EXPECT_EQ(o.data, "mode=755,size=65536k,newinstance,gid=5");
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID));
}

TEST(MountOptions, RecursiveAttributes) {
  auto o = parse_mount_options({"rbind", "rro", "rnosuid", "rnoatime"});
  EXPECT_TRUE(o.recursive_attrs);
  EXPECT_EQ(o.attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
  EXPECT_EQ(o.attr_clr & MOUNT_ATTR__ATIME, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
  auto c = parse_mount_options({"rro", "rrw"});
  EXPECT_EQ(c.attr_set, 0u);
  EXPECT_EQ(c.attr_clr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
}

TEST(MountOptions, Extensions) {
  auto o = parse_mount_options({"tmpcopyup", "idmap"});
  EXPECT_TRUE(o.tmpcopyup);
  EXPECT_TRUE(o.idmap);
  EXPECT_TRUE(o.data.empty());
}

TEST(MountOptions, EmptyOptionIsAnError) {
  try {
    parse_mount_options({"ro", ""}, "mounts[2] (/data).options");
    FAIL() << "no error";
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("mounts[2] (/data)"), std::string::npos) << e.what();
  }
}

TEST(MountOptions, RootfsPropagation) {
  EXPECT_EQ(parse_propagation("rslave"), static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(parse_propagation("private"), static_cast<unsigned long>(MS_PRIVATE));
  try {
    parse_propagation("sharedd");
    FAIL() << "no error";
  } catch (const berth::Error& e) {
    EXPECT_NE(std::string(e.what()).find("linux.rootfsPropagation"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("sharedd"), std::string::npos);
  }
}

TEST(MountOptions, EveryAdvertisedOptionIsKnown) {
  // The names `berth-runtime features` lists must never end up as
  // filesystem data.
  for (const char* name :
       {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
        "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
        "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
        "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev",
        "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro",
        "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
        "rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
        "symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap"}) {
    EXPECT_TRUE(parse_mount_options({name}).data.empty()) << name;
  }
}
