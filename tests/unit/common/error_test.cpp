#include <cerrno>

#include "common/error.hpp"
#include "common/json_text.hpp"
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

TEST(JsonText, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // nlohmann's dump() throws type_error 316 on them; argv, a Dockerfile or a
  // file name in a container can hold any bytes.
  nlohmann::json j = {{"Args", {"caf\xe9", "ok \xc3\xa9"}}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  EXPECT_EQ(berth::json_text(j), "{\"Args\":[\"caf\xef\xbf\xbd\",\"ok \xc3\xa9\"]}");
  nlohmann::ordered_json o = {{"z", "\xff"}, {"a", 1}};  // order kept, as the runtime's state wants
  EXPECT_EQ(berth::json_text(o), "{\"z\":\"\xef\xbf\xbd\",\"a\":1}");
  EXPECT_EQ(berth::json_text(nlohmann::json::array({1}), 2), "[\n  1\n]");
}
