#include <cerrno>

#include "common/error.hpp"
#include "test_support.hpp"

using berth::Error;
using berth::ErrorKind;

TEST(Error, CarriesErrnoAndContext) {
  try {
    berth::throw_errno("mount overlay on /x", EINVAL);
    FAIL() << "no throw";
  } catch (Error& e) {
    e.wrap("create container web");
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_STREQ(e.what(),
                 "create container web: mount overlay on /x: EINVAL (Invalid argument)");
  }
}

TEST(Error, KindFromErrno) {
  try {
    berth::throw_errno("open /nope", ENOENT);
  } catch (Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_EQ(berth::exit_code_for(e.kind()), 3);
  }
}

TEST(Error, CheckPassesThroughSuccess) {
  EXPECT_EQ(berth::check(5, "x"), 5);
  errno = EPERM;
  EXPECT_THROW(berth::check(-1, "x"), Error);
}
