#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "runtime/mounts/mounts.hpp"
#include "test_support.hpp"

using berth::runtime::secure_join;

TEST(SecureJoin, PlainAndMissingPaths) {
  berth::testing::TempDir d;
  ASSERT_EQ(mkdir((d / "a").c_str(), 0755), 0);
  EXPECT_EQ(secure_join(d.path(), "/a"), d.path() + "/a");
  EXPECT_EQ(secure_join(d.path(), "a/b/c"), d.path() + "/a/b/c");
  EXPECT_EQ(secure_join(d.path(), "/"), d.path());
  EXPECT_EQ(secure_join(d.path(), "//a//./b/"), d.path() + "/a/b");
}

TEST(SecureJoin, DotDotStaysInside) {
  berth::testing::TempDir d;
  EXPECT_EQ(secure_join(d.path(), "/../../etc/passwd"), d.path() + "/etc/passwd");
  EXPECT_EQ(secure_join(d.path(), "a/../../b"), d.path() + "/b");
}

TEST(SecureJoin, AbsoluteSymlinksResolveInsideRoot) {
  berth::testing::TempDir d;
  ASSERT_EQ(mkdir((d / "real").c_str(), 0755), 0);
  ASSERT_EQ(symlink("/real", (d / "link").c_str()), 0);
  ASSERT_EQ(symlink("/etc", (d / "escape").c_str()), 0);
  ASSERT_EQ(symlink("../../../../etc", (d / "real/up").c_str()), 0);
  EXPECT_EQ(secure_join(d.path(), "/link/x"), d.path() + "/real/x");
  EXPECT_EQ(secure_join(d.path(), "/escape/shadow"), d.path() + "/etc/shadow");
  EXPECT_EQ(secure_join(d.path(), "/real/up/shadow"), d.path() + "/etc/shadow");
}

TEST(SecureJoin, SymlinkLoopIsAnError) {
  berth::testing::TempDir d;
  ASSERT_EQ(symlink("/b", (d / "a").c_str()), 0);
  ASSERT_EQ(symlink("/a", (d / "b").c_str()), 0);
  EXPECT_THROW(secure_join(d.path(), "/a/x"), berth::Error);
}
